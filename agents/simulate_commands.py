"""``interop-agency simulate banks|police|credit|joint``: the simulated agencies, each its own process."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Awaitable, Callable

from hub.console import echo
from hub.settings import HubSettings


async def _until_signalled(run: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run(stop)


def _banks(args: argparse.Namespace, settings: HubSettings) -> int:
    from agents.bank.simulator import bank_codes, run_banks

    codes = bank_codes(args.agency)
    echo(f"simulating {len(codes)} banks: {', '.join(codes)}")
    asyncio.run(_until_signalled(lambda stop: run_banks(settings, codes, stop, seed=args.seed,
                                                        heartbeat_s=args.heartbeat_interval)))
    return 0


def _police(args: argparse.Namespace, settings: HubSettings) -> int:
    from agents.police.simulator import run_police

    echo("simulating the police (mps): look-ups, exit restriction, vehicle seizure, locating persons")
    asyncio.run(_until_signalled(lambda stop: run_police(settings, stop, seed=args.seed)))
    return 0


def _credit(args: argparse.Namespace, settings: HubSettings) -> int:
    from agents.credit.simulator import run_platform

    echo("simulating the credit platform")
    asyncio.run(_until_signalled(lambda stop: run_platform(settings, stop)))
    return 0


def _joint(args: argparse.Namespace, settings: HubSettings) -> int:
    from agents.credit.simulator import run_joint

    units = args.unit or ["caac", "bankcredit"]
    echo(f"simulating joint-punishment units: {', '.join(units)}")
    asyncio.run(_until_signalled(lambda stop: run_joint(settings, units, stop)))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sim = subparsers.add_parser("simulate", help="run simulated agencies")
    sim_sub = sim.add_subparsers(dest="simulate_cmd", required=True)
    banks = sim_sub.add_parser("banks", help="simulated banks, payment firms and securities units")
    banks.add_argument("--agency", action="append", help="only these agency codes (repeatable)")
    banks.add_argument("--seed", type=int, default=2024, help="population and ledger seed")
    banks.add_argument("--heartbeat-interval", type=float, default=5.0, help="seconds between heartbeats")
    banks.set_defaults(func=_banks)
    police = sim_sub.add_parser("police", help="simulated Ministry of Public Security (look-ups, measures, sightings)")
    police.add_argument("--seed", type=int, default=2024, help="population and police-world seed")
    police.set_defaults(func=_police)
    credit = sim_sub.add_parser("credit", help="simulated national credit platform (list copy, acks, look-ups)")
    credit.set_defaults(func=_credit)
    joint = sim_sub.add_parser("joint", help="simulated joint-punishment units following the list")
    joint.add_argument("--unit", action="append", help="unit codes (repeatable; default caac and bankcredit)")
    joint.set_defaults(func=_joint)
