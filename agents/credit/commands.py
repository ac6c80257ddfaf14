"""``interop-agency credit ...``: replay, export, look up and digest a consumer's copy of the list."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path

from hub.console import echo
from hub.errors import ConfigError, ListDigestMismatch
from hub.settings import HubSettings


def _store_path(args: argparse.Namespace, settings: HubSettings) -> Path:
    from agents.credit.simulator import store_path

    return Path(args.store) if args.store else store_path(settings, args.consumer)


def _replay(args: argparse.Namespace, settings: HubSettings) -> int:
    from agents.credit.replay import digest_comparison, replay
    from agents.credit.store import ListStore

    path = _store_path(args, settings)
    if args.wipe or args.as_of:
        ListStore.wipe(path)
    as_of = datetime.fromisoformat(args.as_of) if args.as_of else None
    if as_of is not None and as_of.tzinfo is None:
        raise ConfigError("--as-of needs a timezone, e.g. 2025-01-02T09:00:00+08:00", field="as_of")
    store = ListStore(path)
    try:
        result = asyncio.run(replay(settings, store, from_publication=args.from_publication, as_of=as_of,
                                    progress=not args.quiet))
    finally:
        store.close()
    echo(f"replayed {result.applied:,} publications in {result.seconds:.2f}s ({result.rate:,.0f} events/s) "
         f"into {path}")
    echo(f"last publication {result.last_publication_id}, {result.size:,} listings in force")
    echo(f"digest {result.digest}")
    if as_of is None:
        echo(digest_comparison(result))
        if not result.identical:
            raise ListDigestMismatch("the rebuilt copy differs from the hub's list", field="digest")
    return 0


def _export(args: argparse.Namespace, settings: HubSettings) -> int:
    from agents.credit.store import ListStore

    store = ListStore(_store_path(args, settings))
    try:
        out = open(args.out, "wb") if args.out else sys.stdout.buffer  # noqa: SIM115
        try:
            for line in store.export_lines():
                out.write(line + b"\n")
        finally:
            if args.out:
                out.close()
        echo(f"{store.state.size:,} listings, publication {store.last_publication_id}, digest {store.digest()}",
             err=True)
    finally:
        store.close()
    return 0


def _lookup(args: argparse.Namespace, settings: HubSettings) -> int:
    from agents.credit.store import ListStore
    from hub.flows.credit.list_state import canonical

    store = ListStore(_store_path(args, settings))
    try:
        as_of = int(datetime.fromisoformat(args.as_of).timestamp() * 1000) if args.as_of else None
        found = store.lookup(args.id_number, as_of_ms=as_of, include_removed=args.include_removed)
    finally:
        store.close()
    sys.stdout.write(json.dumps({"listed": found.listed, "last_publication_id": found.last_publication_id,
                                 "removed_listing_ids": found.removed_listing_ids,
                                 "entries": [json.loads(canonical(e)) for e in found.entries]},
                                ensure_ascii=False, indent=2) + "\n")
    return 0 if found.listed else 1


def _digest(args: argparse.Namespace, settings: HubSettings) -> int:
    from agents.credit.store import ListStore

    store = ListStore(_store_path(args, settings))
    try:
        echo(f"{store.digest()} publication {store.last_publication_id} listings {store.state.size}")
    finally:
        store.close()
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--consumer", default="platform", help="whose copy: platform, caac, bankcredit, ...")
    p.add_argument("--store", help="path of the copy (default <data_dir>/credit/<consumer>.sqlite)")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    credit = subparsers.add_parser("credit", help="the dishonest-debtor list: replay, export, look up")
    sub = credit.add_subparsers(dest="credit_cmd", required=True)
    rp = sub.add_parser("replay", help="rebuild a consumer's copy from credit.list.history")
    _common(rp)
    rp.add_argument("--wipe", action="store_true", help="delete the copy first and replay from the beginning")
    rp.add_argument("--from-publication", type=int, help="resume a copy from this publication id")
    rp.add_argument("--as-of", help="ISO-8601 instant: the list as it stood then (into a fresh copy)")
    rp.add_argument("--quiet", action="store_true", help="no progress bar")
    rp.set_defaults(func=_replay)
    ex = sub.add_parser("export", help="the current list as canonical JSON lines")
    _common(ex)
    ex.add_argument("--out", help="file to write (default stdout)")
    ex.set_defaults(func=_export)
    lk = sub.add_parser("lookup", help="is this subject listed, and why?")
    _common(lk)
    lk.add_argument("id_number")
    lk.add_argument("--as-of", help="ISO-8601 instant")
    lk.add_argument("--include-removed", action="store_true")
    lk.set_defaults(func=_lookup)
    dg = sub.add_parser("digest", help="digest of a consumer's copy")
    _common(dg)
    dg.set_defaults(func=_digest)
