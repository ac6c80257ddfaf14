"""The credit flow: the dishonest-debtor list (失信规定 2017) and consumption restriction (004 §23).

``messages`` (message types, checks of a message on its own), ``list_rules`` (a decision against the
list, term ends, due times), ``list_state`` (the list and its digest, shared with every consumer),
``rows`` (what the flow keeps besides the request table), ``sequencer`` (the list at the hub),
``journal`` (its single-partition journal, consumer, list clock), ``publisher`` (publications,
outcomes, deadline events), ``list_log`` (reading a log of the list), ``handlers`` (each message).
"""

from __future__ import annotations

from hub.context import HubContext
from hub.flows.credit.handlers import CreditFlow
from hub.flows.credit.journal import LIST_CLOCK_INTERVAL_S, CreditJournal
from hub.flows.credit.messages import ACK, DECISION, LOOKUP, LOOKUP_REPLY, RESTRICTION, RESTRICTION_ACK, SEQUENCED


def register(ctx: HubContext) -> CreditFlow:
    """The credit flow's handlers on ``ctx.hooks``; its journal consumer and list clock as the worker's jobs."""
    journal = CreditJournal(ctx)
    flow = CreditFlow(ctx, journal)
    hooks = ctx.hooks
    hooks.court_route(DECISION)(flow.list_decision)
    hooks.court_route(LOOKUP)(flow.lookup)
    hooks.court_route(RESTRICTION)(flow.restriction)
    hooks.agency_route(ACK)(flow.list_ack)
    hooks.agency_route(LOOKUP_REPLY, RESTRICTION_ACK)(flow.platform_reply)
    hooks.internal_route(SEQUENCED)(flow.decision_sequenced)
    hooks.in_background(journal.run)
    hooks.every(LIST_CLOCK_INTERVAL_S)(journal.run_list_clock)
    return flow
