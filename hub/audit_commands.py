"""``interop-hub audit verify|search|heads|prove|consistency``: the audit log read back, checked and proven.

``verify`` checks every chain batch by batch and every signed tree head against the hub's public key;
``prove --request-id`` writes inclusion proofs of that request's entries against the newest tree
head, ``consistency OLD NEW`` a proof that the newer head extends the older one.  Both proofs are
checked offline with ``python -m hub.audit_proofs check`` (no broker needed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from hub.audit_io import LogReport, verify_deployment_log
from hub.audit_proofs import prove_consistency, prove_inclusion
from hub.codec import default_codec
from hub.console import echo
from hub.errors import ConfigError
from hub.settings import HubSettings
from hub.tree_heads import TreeHead

CODEC = default_codec()


def _read(args: argparse.Namespace, settings: HubSettings) -> LogReport:
    return asyncio.run(verify_deployment_log(settings, CODEC, args.topic))


def _verify(args: argparse.Namespace, settings: HubSettings) -> int:
    report = _read(args, settings)
    if report.ok:
        echo(f"audit log intact: {len(report.chains)} chains, {report.entries} entries, "
             f"{len(report.heads)} signed tree heads verified")
        return 0
    for finding in report.broken:
        echo(f"audit log BROKEN at {finding}", err=True)
    return 1


def _entries(report: LogReport) -> list[tuple[int, int, dict[str, Any], bytes]]:
    """(chain, index, body, bytes) of every entry read, chain by chain."""
    out = []
    for chain, check in sorted(report.chains.items()):
        for index, raw in enumerate(check.entries):
            out.append((chain, index, CODEC.decode(raw).body, raw))
    return out


def _search(args: argparse.Namespace, settings: HubSettings) -> int:
    since = datetime.fromisoformat(args.since) if args.since else None
    until = datetime.fromisoformat(args.until) if args.until else None
    found = 0
    for chain, index, b, _raw in _entries(_read(args, settings)):
        if ((args.request_id and b["request_id"] != args.request_id)
                or (args.case and b["case_number"] != args.case)
                or (args.agency and b["agency"] != args.agency)
                or (since and b["at"] < since) or (until and b["at"] > until)):
            continue
        found += 1
        echo(f"{chain:>3}/{index:<7} seq={b['seq']} {b['at'].isoformat()} {b['action']:<11} {b['principal']:<14} "
             f"{b['message_type'] or '-':<24} req={b['request_id'] or '-'} case={b['case_number'] or '-'} "
             f"agency={b['agency'] or '-'} {b['decision'] or ''}")
    echo(f"{found} audit records match")
    return 0


def _heads(args: argparse.Namespace, settings: HubSettings) -> int:
    report = _read(args, settings)
    latest = [h for h in (report.latest_head(c) for c in sorted(report.chains)) if h is not None]
    echo(json.dumps([h.to_json() for h in latest], indent=2))
    return 0 if report.ok else 1


def _write(document: Any, output: Path | None) -> None:
    text = json.dumps(document, ensure_ascii=False, indent=2)
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        output.write_text(text + "\n", encoding="utf-8")


def _prove(args: argparse.Namespace, settings: HubSettings) -> int:
    report = _read(args, settings)
    bundles = []
    for chain, index, body, raw in _entries(report):
        if body["request_id"] != args.request_id:
            continue
        head = report.latest_head(chain, covering=index)
        if head is None:
            raise ConfigError(f"entry {index} of chain {chain} has no signed tree head yet; try again in a moment",
                              field="tree_head")
        summary = {k: body[k] for k in ("seq", "action", "message_type", "request_id", "case_number", "agency")}
        bundles.append(prove_inclusion(head, report.chains[chain].leaves, index, raw, summary).to_json())
    if not bundles:
        raise ConfigError(f"no audit entry names request {args.request_id}", field="request_id")
    _write(bundles, args.output)
    return 0


def _consistency(args: argparse.Namespace, settings: HubSettings) -> int:
    old = TreeHead.from_json(json.loads(args.old.read_text(encoding="utf-8")))
    new = TreeHead.from_json(json.loads(args.new.read_text(encoding="utf-8")))
    report = _read(args, settings)
    chain = report.chains.get(new.chain)
    if chain is None or chain.tree.size < new.size:
        raise ConfigError(f"chain {new.chain} does not reach {new.size} entries", field="new")
    _write(prove_consistency(old, new, chain.leaves).to_json(), args.output)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    aud = subparsers.add_parser("audit", help="the audit log: one signed Merkle tree per hub partition")
    aud_sub = aud.add_subparsers(dest="audit_cmd", required=True)
    topic_help = "physical audit topic to read (default: the catalog's)"
    ver = aud_sub.add_parser("verify", help="check every chain and every signed tree head; names what is broken")
    ver.add_argument("--topic", help=topic_help)
    ver.set_defaults(func=_verify)
    sea = aud_sub.add_parser("search", help="entries by request id, case, agency and time")
    for name in ("--request-id", "--case", "--agency", "--topic"):
        sea.add_argument(name)
    sea.add_argument("--since", help="ISO-8601 instant")
    sea.add_argument("--until", help="ISO-8601 instant")
    sea.set_defaults(func=_search)
    hds = aud_sub.add_parser("heads", help="the newest signed tree head of each chain (JSON)")
    hds.add_argument("--topic", help=topic_help)
    hds.set_defaults(func=_heads)
    prv = aud_sub.add_parser("prove", help="inclusion proofs of a request's entries (JSON, checked offline)")
    prv.add_argument("--request-id", required=True)
    prv.add_argument("--output", type=Path)
    prv.add_argument("--topic", help=topic_help)
    prv.set_defaults(func=_prove)
    con = aud_sub.add_parser("consistency", help="prove a newer tree head extends an older one (JSON)")
    con.add_argument("old", type=Path, help="a tree head (JSON, as `audit heads` prints one)")
    con.add_argument("new", type=Path)
    con.add_argument("--output", type=Path)
    con.add_argument("--topic", help=topic_help)
    con.set_defaults(func=_consistency)
