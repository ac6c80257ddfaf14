"""The police flows (SPEC §4, seed 002): look-ups, the three control measures, releases, sightings, lapses.

:mod:`~hub.flows.police.messages` (message types, validation), :mod:`~hub.flows.police.rows` (the
``measures`` and ``measure_requests`` rows), :mod:`~hub.flows.police.handlers` (:class:`PoliceFlow`).
"""

from __future__ import annotations

from hub.context import HubContext
from hub.flows.police.handlers import PoliceFlow
from hub.flows.police.messages import (
    LAPSED,
    LOOKUP_REPLIES,
    LOOKUPS,
    MEASURE_REPLY,
    MEASURES,
    RELEASE,
    RELEASE_ACK,
    SIGHTING,
)


def register(ctx: HubContext) -> PoliceFlow:
    """The police flow with its tables, its handlers on ``ctx.hooks``."""
    flow = PoliceFlow(ctx)
    hooks = ctx.hooks
    hooks.court_route(*LOOKUPS, *MEASURES)(flow.handle_request)
    hooks.court_route(RELEASE)(flow.handle_release)
    hooks.agency_route(*LOOKUP_REPLIES)(flow.handle_lookup_reply)
    hooks.agency_route(MEASURE_REPLY)(flow.handle_measure_reply)
    hooks.agency_route(RELEASE_ACK)(flow.handle_release_ack)
    hooks.agency_route(SIGHTING)(flow.handle_sighting)
    hooks.agency_route(LAPSED)(flow.handle_police_lapse)
    hooks.on_tick(flow.lapse_measures)
    return flow
