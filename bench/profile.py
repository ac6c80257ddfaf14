"""Optional sampling profile of a running process with py-spy (not a dependency of the hub).

``py-spy record --format raw`` writes collapsed stacks; :func:`summarise` turns them into the
functions with the most samples on top of the stack (self) and the hub's own functions with the
most samples anywhere in the stack (inclusive).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = "py-spy is not installed: `pip install py-spy` (into the same environment) to use --profile"
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
OWN_CODE = ("hub/", "agents/", "topics/")  # py-spy shows paths relative to sys.path entries
#: the process entry points (always on the stack) and the harness itself
NOT_HOT = ("hub/__main__.py", "hub/cli.py", "hub/worker_commands.py", "agents/__main__.py", "agents/cli.py",
           "agents/simulate_commands.py")


def py_spy() -> str | None:
    """The py-spy executable next to this interpreter, or on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.is_file() else shutil.which("py-spy")


#: the checkout's root: frames of our own code are shown relative to it
CHECKOUT = str(Path(__file__).resolve().parents[1])


def _short(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", f"{CHECKOUT}/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['func']} ({path})"


@dataclass
class ProfileSummary:
    process: str
    samples: int
    seconds: float
    self_top: list[tuple[str, float]] = field(default_factory=list)
    own_inclusive: list[tuple[str, float]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"{self.process}: {self.samples} samples in {self.seconds:.0f}s "
            f"(~{self.samples / max(self.seconds, 1e-9) / 100:.0%} of one core busy in Python)",
            "  self (top of stack):",
        ]
        out += [f"    {pct:5.1f}%  {name}" for name, pct in self.self_top]
        out.append("  inclusive, hub/agents code:")
        out += [f"    {pct:5.1f}%  {name}" for name, pct in self.own_inclusive]
        return out


def summarise(text: str, process: str, seconds: float, top: int = 12) -> ProfileSummary:
    """Top functions of a py-spy raw (collapsed) profile."""
    self_counts: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [f for f in stack.split(";") if f]
        if not frames:
            continue
        self_counts[_short(frames[-1])] += count
        seen: set[str] = set()
        for frame in frames:
            match = _FRAME.match(frame.strip())
            path = match["file"] if match else ""
            if path.startswith(OWN_CODE) and not path.startswith(NOT_HOT):
                name = _short(frame)
                if name not in seen:
                    seen.add(name)
                    inclusive[name] += count
    pct = 100.0 / total if total else 0.0
    return ProfileSummary(
        process,
        total,
        seconds,
        [(n, c * pct) for n, c in self_counts.most_common(top)],
        [(n, c * pct) for n, c in inclusive.most_common(top)],
    )


async def record(pid: int, seconds: float, out: Path) -> asyncio.subprocess.Process:
    """Start ``py-spy record`` on ``pid`` for ``seconds`` (non-blocking sampling, 100 Hz)."""
    exe = py_spy()
    if exe is None:
        raise FileNotFoundError(INSTALL_HINT)
    return await asyncio.create_subprocess_exec(
        exe,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(int(seconds)),
        "--rate",
        "100",
        "--nonblocking",
        "--format",
        "raw",
        "--output",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
