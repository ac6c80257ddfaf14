"""What the police observe while a measure stands: a deterministic event schedule.

For each measure the schedule is a pure function of the world seed, the measure id, its kind and
the moment it was placed: it is the same after a restart, so the simulator emits each planned
sighting once (it records what it emitted, :mod:`agents.police.store`).

* Cycle 0 (the first day after placing, hours 1-20): every kind of observation the measure can
  produce once: a border exit attempt (exit restriction); a transfer attempt, a new-mortgage
  attempt, a road check and an annual inspection (vehicle seizure); a hotel check-in, a road check
  and an exit attempt (locating a person under detention).
* Cycle n >= 1 (every :data:`CYCLE` after placing, hours 1-20 of that day): one more observation
  of a kind drawn from the same set — sightings keep coming long after the request.

Planned events end at the measure's end (its lapse instant) or :data:`HORIZON` after placing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from hub.flows.police.messages import SIGHTING_KINDS

HOUR_MS = 3600 * 1000
CYCLE = timedelta(days=2)
HORIZON = timedelta(days=60)
BORDER_POSTS = (("北京首都国际机场边防检查站", "110105"), ("上海浦东国际机场边防检查站", "310115"),
                ("深圳罗湖口岸边防检查站", "440303"), ("珠海拱北口岸边防检查站", "440402"))
ROADS = (("G4京港澳高速杜家坎公安检查站", "110106"), ("G60沪昆高速枫泾检查站", "310117"),
         ("G15沈海高速广州北检查站", "440111"), ("G85渝昆高速重庆收费站", "500103"))
VEHICLE_OFFICES = (("北京市公安局公安交通管理局车辆管理所", "110105"), ("上海市公安局交警总队车辆管理所", "310115"))
HOTEL_PLACES = (("如家酒店(北京朝阳门店)", "110105"), ("汉庭酒店(上海陆家嘴店)", "310115"),
                ("锦江之星(重庆解放碑店)", "500103"))


@dataclass(frozen=True, slots=True)
class Planned:
    seq: int
    at_ms: int
    kind: str  # SightingKind symbol
    place: str
    place_code: str


def _place(rng: random.Random, kind: str) -> tuple[str, str]:
    if kind == "BORDER_EXIT_ATTEMPT":
        return rng.choice(BORDER_POSTS)
    if kind == "ROAD_CHECK":
        return rng.choice(ROADS)
    if kind == "HOTEL_CHECK_IN":
        return rng.choice(HOTEL_PLACES)
    return rng.choice(VEHICLE_OFFICES)


def schedule(seed: int, measure_id: str, measure_kind: str, placed_at_ms: int,
             end_ms: int | None) -> list[Planned]:
    """Every sighting planned for a measure, in time order (see the module doc)."""
    kinds = SIGHTING_KINDS.get(measure_kind, ())
    if not kinds:
        return []
    rng = random.Random(f"{seed}/{measure_id}")  # noqa: S311 - a deterministic simulation
    horizon = placed_at_ms + int(HORIZON.total_seconds() * 1000)
    stop = min(horizon, end_ms) if end_ms is not None else horizon
    cycle_ms = int(CYCLE.total_seconds() * 1000)
    planned: list[tuple[int, str]] = []
    hours = rng.sample(range(1, 21), len(kinds))
    planned += [(placed_at_ms + h * HOUR_MS, k) for h, k in zip(hours, kinds, strict=True)]
    start = placed_at_ms + cycle_ms
    while start < stop:
        planned.append((start + rng.randint(1, 20) * HOUR_MS, rng.choice(kinds)))
        start += cycle_ms
    out = []
    for seq, (at, kind) in enumerate(sorted(planned)):
        if at < stop:
            place, code = _place(rng, kind)
            out.append(Planned(seq, at, kind, place, code))
    return out


def due(plan: list[Planned], now_ms: int, emitted: set[int]) -> list[Planned]:
    """Planned sightings whose time has come and that were not emitted yet."""
    return [p for p in plan if p.at_ms <= now_ms and p.seq not in emitted]
