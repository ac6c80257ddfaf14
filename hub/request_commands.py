"""``interop-hub requests show|list``: the outstanding-request table over the worker's HTTP."""

from __future__ import annotations

import argparse
import json
import urllib.parse

from hub.console import echo
from hub.lifecycle import State
from hub.process import http_json
from hub.settings import HubSettings
from hub.web_token import web_token


def _base(settings: HubSettings) -> str:
    return f"http://{settings.web_host}:{settings.web_port}"


def _show(args: argparse.Namespace, settings: HubSettings) -> int:
    status, row = http_json(f"{_base(settings)}/requests/{urllib.parse.quote(args.request_id)}",
                            token=web_token(settings))
    echo(json.dumps(row, ensure_ascii=False, indent=2))
    return 0 if status == 200 else 1


def _list(args: argparse.Namespace, settings: HubSettings) -> int:
    query = {k: v for k, v in (("court", args.court), ("agency", args.agency), ("state", args.state),
                               ("limit", str(args.limit))) if v}
    status, data = http_json(f"{_base(settings)}/requests?{urllib.parse.urlencode(query)}", token=web_token(settings))
    if status != 200:
        echo(json.dumps(data), err=True)
        return 1
    for r in data["requests"]:
        echo(f"{r['id']}  {r['state']:<18} {r['type']:<24} {r['agency']:<10} {r['court']}  {r['case']}")
    echo(f"{data['count']} requests match")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    req = subparsers.add_parser("requests", help="the outstanding-request table (via the worker's HTTP)")
    req_sub = req.add_subparsers(dest="requests_cmd", required=True)
    show = req_sub.add_parser("show", help="one request with its state history")
    show.add_argument("request_id")
    show.set_defaults(func=_show)
    lst = req_sub.add_parser("list", help="requests by court, agency and state")
    lst.add_argument("--court")
    lst.add_argument("--agency")
    lst.add_argument("--state", choices=[state.value for state in State])
    lst.add_argument("--limit", type=int, default=100)
    lst.set_defaults(func=_list)
