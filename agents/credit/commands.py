"""``interop-agency credit ...``: replay or bootstrap, export, look up and digest a consumer's copy of the list."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.console import echo
from hub.errors import ConfigError, ListDigestMismatch
from hub.settings import HubSettings

if TYPE_CHECKING:
    from agents.credit.store import ListStore


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


def _bootstrap(args: argparse.Namespace, settings: HubSettings) -> int:
    from agents.credit.bootstrap import bootstrap, follow
    from agents.credit.joint import JointUnit
    from agents.credit.snapshot import SnapshotUnverified
    from agents.credit.store import ListStore
    from topics.agencies import AgencyKind
    from topics.catalog import DEFAULT_CATALOG

    path = _store_path(args, settings)
    if args.wipe:
        ListStore.wipe(path)
    joint = any(a.code == args.consumer and a.kind is AgencyKind.JOINT_UNIT for a in DEFAULT_CATALOG.agencies)
    store = ListStore(path)
    try:
        unit = JointUnit(args.consumer, store) if joint else None
        apply = unit.apply if unit is not None else store.apply_batch
        try:
            result = asyncio.run(bootstrap(settings, store, progress=not args.quiet, settle_s=args.settle_seconds))
        except SnapshotUnverified as exc:
            if not args.fallback_replay:
                raise
            echo(f"snapshot not verified ({exc}); replaying the whole history instead")
            replayed = asyncio.run(follow(settings, 0, apply))
            echo(f"replayed {replayed:,} publications")
        else:
            base = result.base
            echo(f"snapshot: {result.records:,} records of the current list in {result.snapshot_seconds:.2f}s, "
                 f"newest value publication {result.newest}")
            echo(f"cut at publication {base.publication_id} ({result.window} publications of the history applied "
                 f"on the snapshot): {base.size:,} listings, digest {base.digest} = the hub's")
            echo(f"verified copy in {result.seconds:.2f}s ({result.rate:,.0f} listings/s) into {path}")
            if unit is not None:
                echo(f"{unit.seed(store.state.entries):,} restrictions of {args.consumer} from the snapshot")
            caught = asyncio.run(follow(settings, store.next_offset, apply))
            echo(f"caught up {caught:,} publications after the cut")
        if args.follow:
            echo("following the history (Ctrl-C stops)")
            asyncio.run(_follow_until_signalled(settings, store, apply))
        echo(f"last publication {store.last_publication_id}, {store.state.size:,} listings in force, "
             f"digest {store.digest()}")
    finally:
        store.close()
    return 0


async def _follow_until_signalled(settings: HubSettings, store: ListStore,
                                  apply: Callable[[list[tuple[int, bytes, dict[str, Any]]]], int]) -> None:
    from agents.credit.bootstrap import follow

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await follow(settings, store.next_offset, apply, stop=stop)


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
    credit = subparsers.add_parser("credit", help="the dishonest-debtor list: replay, bootstrap, export, look up")
    sub = credit.add_subparsers(dest="credit_cmd", required=True)
    rp = sub.add_parser("replay", help="rebuild a consumer's copy from credit.list.history")
    _common(rp)
    rp.add_argument("--wipe", action="store_true", help="delete the copy first and replay from the beginning")
    rp.add_argument("--from-publication", type=int, help="resume a copy from this publication id")
    rp.add_argument("--as-of", help="ISO-8601 instant: the list as it stood then (into a fresh copy)")
    rp.add_argument("--quiet", action="store_true", help="no progress bar")
    rp.set_defaults(func=_replay)
    bs = sub.add_parser("bootstrap", help="a new copy from credit.list.current, verified against the history's "
                        "digest, then the history after it")
    _common(bs)
    bs.add_argument("--wipe", action="store_true", help="delete the copy first")
    bs.add_argument("--follow", action="store_true", help="keep following the history until interrupted")
    bs.add_argument("--settle-seconds", type=float, default=10.0,
                    help="how long to wait for history records still on their way before giving up (10)")
    bs.add_argument("--fallback-replay", action="store_true",
                    help="if the snapshot cannot be verified, replay the whole history instead of failing")
    bs.add_argument("--quiet", action="store_true", help="no progress bar")
    bs.set_defaults(func=_bootstrap)
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
