"""Pure parts of the benchmark: percentiles, medians of repeats, figures and their rendering."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile {q} outside 0..100")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def median(values: Sequence[float]) -> float:
    """The median of the finite values (NaN when there are none)."""
    finite = [v for v in values if not math.isnan(v)]
    return statistics.median(finite) if finite else math.nan


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline and not math.isnan(baseline) and not math.isnan(value) else math.nan


@dataclass
class Figure:
    """One reported number: the median of its repeats, its baseline and target."""

    name: str
    unit: str
    runs: list[float] = field(default_factory=list)
    baseline: str | None = None
    baseline_value: float | None = None
    #: ``value / baseline`` (True) or ``baseline / value`` (False: for times, where smaller is better)
    ratio_up: bool = True
    target: str | None = None
    met: bool | None = None
    note: str | None = None

    @property
    def value(self) -> float:
        return median(self.runs)

    @property
    def ratio(self) -> float | None:
        if self.baseline_value is None:
            return None
        if self.ratio_up:
            return ratio(self.value, self.baseline_value)
        return ratio(self.baseline_value, self.value)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["value"] = _clean(self.value)
        data["ratio"] = _clean(self.ratio) if self.ratio is not None else None
        data["runs"] = [_clean(v) for v in self.runs]
        return data


def _clean(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 4)


def fmt(value: float | None) -> str:
    """A number for the table: thousands separators, 3 significant digits for small values."""
    if value is None or math.isnan(value):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def render_table(figures: Sequence[Figure]) -> str:
    """A fixed-width text table: figure, median, unit, baseline, ratio, target, met, runs."""
    header = ("figure", "median", "unit", "ratio", "vs baseline", "target", "ok", "runs")
    rows = [header]
    for f in figures:
        ok = "-" if f.met is None else ("yes" if f.met else "NO")
        ratio_text = "-" if f.ratio is None else f"{fmt(f.ratio)}x"
        base = "-" if f.baseline is None else f"{f.baseline} ({fmt(f.baseline_value)})"
        rows.append(
            (
                f.name,
                fmt(f.value),
                f.unit,
                ratio_text,
                base,
                f.target or "-",
                ok,
                " ".join(fmt(v) for v in f.runs),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  {f.name}: {f.note}" for f in figures if f.note]
    return "\n".join(lines + (["", "notes:", *notes] if notes else []))


def to_json(figures: Sequence[Figure], extra: dict[str, Any] | None = None) -> str:
    payload: dict[str, Any] = {"figures": {f.name: f.to_dict() for f in figures}}
    payload.update(extra or {})
    return json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=False)
