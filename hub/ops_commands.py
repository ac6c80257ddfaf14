"""``interop-hub requests show|list`` (over the worker's HTTP) and ``interop-hub audit verify|search``."""

from __future__ import annotations

import argparse
import asyncio
import json
import urllib.parse
from datetime import datetime

from hub.audit import verify
from hub.audit_io import read_topic
from hub.codec import default_codec
from hub.console import echo
from hub.lifecycle import State
from hub.process import http_json
from hub.settings import HubSettings
from hub.web_token import web_token
from topics.catalog import DEFAULT_CATALOG, Role


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


def _audit_topic(args: argparse.Namespace, settings: HubSettings) -> str:
    return str(args.topic or settings.topic(DEFAULT_CATALOG.one(Role.AUDIT).name))


def _verify(args: argparse.Namespace, settings: HubSettings) -> int:
    report = asyncio.run(verify(default_codec(), read_topic(settings, _audit_topic(args, settings))))
    b = report.broken
    if b is None:
        echo(f"audit chain intact: {report.records} records, head {report.last_hash}")
        return 0
    echo(f"audit chain BROKEN at offset {b.offset} (seq {b.seq}): {b.reason}", err=True)
    return 1


def _search(args: argparse.Namespace, settings: HubSettings) -> int:
    codec = default_codec()
    since = datetime.fromisoformat(args.since) if args.since else None
    until = datetime.fromisoformat(args.until) if args.until else None

    async def run() -> int:
        found = 0
        async for offset, raw in read_topic(settings, _audit_topic(args, settings)):
            b = codec.decode(raw).body
            if ((args.request_id and b["request_id"] != args.request_id)
                    or (args.case and b["case_number"] != args.case)
                    or (args.agency and b["agency"] != args.agency)
                    or (since and b["at"] < since) or (until and b["at"] > until)):
                continue
            found += 1
            echo(f"{offset:>8} seq={b['seq']} {b['at'].isoformat()} {b['action']:<11} {b['principal']:<14} "
                 f"{b['message_type'] or '-':<24} req={b['request_id'] or '-'} case={b['case_number'] or '-'} "
                 f"agency={b['agency'] or '-'} {b['decision'] or ''}")
        echo(f"{found} audit records match")
        return 0

    return asyncio.run(run())


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

    aud = subparsers.add_parser("audit", help="the hash-chained audit trail")
    aud_sub = aud.add_subparsers(dest="audit_cmd", required=True)
    ver = aud_sub.add_parser("verify", help="check the chain; names the first broken record")
    ver.add_argument("--topic", help="physical topic to verify (default: the catalog's audit topic)")
    ver.set_defaults(func=_verify)
    sea = aud_sub.add_parser("search", help="records by request id, case, agency and time")
    sea.add_argument("--request-id")
    sea.add_argument("--case")
    sea.add_argument("--agency")
    sea.add_argument("--since", help="ISO-8601 instant")
    sea.add_argument("--until", help="ISO-8601 instant")
    sea.add_argument("--topic")
    sea.set_defaults(func=_search)
