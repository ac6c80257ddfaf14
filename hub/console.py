"""Console output for the CLI (library code never prints)."""

from __future__ import annotations

import sys


def echo(text: str = "", *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()
