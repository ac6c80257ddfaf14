"""Terminated-case sweeps (终本统查), creditor clue checks and standing watches (seed 001 §(二); 失信规定 art. 10(四)).

``messages`` (message types, checks), ``rows`` (the case row, the due schedule, pure functions), ``lane`` (each
agency's sweep ceiling and window), ``handlers`` (each message and the tick).
"""

from __future__ import annotations

from hub.context import HubContext
from hub.flows.bank.handlers import BankFlow
from hub.flows.sweeps.handlers import SweepFlow
from hub.flows.sweeps.messages import CLOSED, CLUE, REGISTERED, WATCH, WATCH_ENDED, WATCH_HIT


def register(ctx: HubContext, bank: BankFlow) -> SweepFlow:
    """The sweep flow's handlers on ``ctx.hooks``; sweeps are intensive queries of ``bank``."""
    flow = SweepFlow(ctx, bank)
    hooks = ctx.hooks
    hooks.court_route(REGISTERED)(flow.registered)
    hooks.court_route(CLOSED)(flow.closed)
    hooks.court_route(CLUE)(flow.clue)
    hooks.court_route(WATCH)(flow.watch)
    hooks.court_route(WATCH_ENDED)(flow.watch_ended)
    hooks.agency_route(WATCH_HIT)(flow.watch_hit)
    hooks.on_accept(flow.accepted)
    hooks.on_tick(flow.tick)
    hooks.paced_traffic(flow.is_sweep_traffic)
    hooks.on_revoked(flow.lane.forget)
    return flow
