"""The ``interop-agency`` command line (``python -m agents``): the agency side of the hub.

The simulated agencies (``simulate banks|police|credit|joint``), the court's tools (``court ...``) and
a list consumer's copy (``credit replay|export|lookup|digest``).  Parsing, logging, masking and exit
codes are the hub CLI's (:func:`hub.cli.run`): 0 ok, 1 failure, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from hub.cli import commands_parser, run

#: modules that add a sub-command through ``register(subparsers)``
COMMAND_MODULES = (
    "agents.simulate_commands",
    "agents.court.commands",
    "agents.credit.commands",
)


def build_parser() -> argparse.ArgumentParser:
    return commands_parser(
        "interop-agency", "The agencies beside the interop hub: simulated banks, police, credit platform; "
        "the court's and the list consumers' tools.", COMMAND_MODULES,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
