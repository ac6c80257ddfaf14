"""The hub side of each flow (``bank``, ``police``, ``credit``, ``sweeps``), plus what every flow shares.

Each flow package has the same files: ``messages.py`` (message types and their validation, pure),
``rows.py`` (the flow's own table rows, pure), ``handlers.py`` (what the hub does with each message) and
``__init__.py`` whose ``register(context)`` puts the handlers on the hooks.  Shared by all:
:mod:`hub.flows.checks` (case, court, subject, officer, document), :mod:`hub.flows.delivery` (court
request to an agency) and :mod:`hub.flows.correlation` (agency answer to the court).
"""

from __future__ import annotations

from hub.context import HubContext


def register_all(ctx: HubContext) -> None:
    """Every part of the hub that handles messages or time, registered on ``ctx.hooks``."""
    from hub import deadline_tracker, hub_watches
    from hub.flows import bank, credit, police, sweeps

    deadline_tracker.register(ctx)
    hub_watches.register(ctx, ctx.tables_recovered)  # the request gauges, anomaly notices, self-checks
    bank_flow = bank.register(ctx)
    police.register(ctx)
    credit.register(ctx)
    sweeps.register(ctx, bank_flow)  # sweeps are intensive queries run by the hub
