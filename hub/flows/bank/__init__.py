"""The bank flows (SPEC §3, seed 000, seed 001): single requests to one bank, the intensive query to many
units, and the banks' sealed replies back to the court (:mod:`hub.flows.bank.handlers`)."""

from __future__ import annotations

from hub.context import HubContext
from hub.flows.bank.handlers import BankFlow
from hub.flows.bank.messages import INTENSIVE, REPLIES, SINGLE_REQUESTS, VIEWED


def register(ctx: HubContext) -> BankFlow:
    """The bank flow's handlers on ``ctx.hooks``: court requests, bank replies, unit deadlines, the viewing rule."""
    flow = BankFlow(ctx)
    hooks = ctx.hooks
    hooks.court_route(*SINGLE_REQUESTS)(flow.single_request)
    hooks.court_route(INTENSIVE)(flow.intensive_query)
    hooks.court_route(VIEWED)(flow.property_viewed)
    hooks.agency_route(*REPLIES)(flow.reply)
    hooks.on_expired(flow.unit_without_response)
    hooks.on_tick(flow.escalate_unviewed_property)
    return flow
