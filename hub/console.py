"""Console output for the CLI (library code never prints), and argument types of the CLI."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def echo(text: str = "", *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def readable_file(value: str) -> Path:
    """argparse ``type=`` of an input file argument: a missing or unreadable file is a usage error (exit 2)."""
    path = Path(value)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {value}" if not path.exists() else f"not a file: {value}")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"cannot read {value}: permission denied")
    return path
