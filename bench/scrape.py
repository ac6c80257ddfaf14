"""The hub worker's own figures, read from its ``/metrics`` page (with the worker's web token).

:class:`InputWait` is the histogram ``interop_hub_input_wait_seconds`` (from the broker's append of an input
record to the worker starting to handle it), of live records only (a sweep's replies are ``traffic="paced"``): two
scrapes give the waits of the live records read between them, so a window's quantile is the hub's share of the
latency measured from outside.
"""

from __future__ import annotations

import asyncio
import math
import urllib.request
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from hub.settings import HubSettings
from hub.web_token import authorization_header, web_token

WAIT = "interop_hub_input_wait_seconds"
PACE = "interop_hub_sweep_pace_ratio"


def _page(settings: HubSettings) -> str:
    request = urllib.request.Request(f"http://{settings.web_host}:{settings.web_port}/metrics",
                                     headers={"Authorization": authorization_header(web_token(settings))})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (a local worker's page)
        return str(response.read().decode("utf-8"))


@dataclass(frozen=True)
class Scrape:
    """Cumulative input-wait bucket counts of live records (upper bound in s -> records, all roles) and the sweep
    pace."""

    buckets: dict[float, float]
    pace: float

    def since(self, earlier: Scrape) -> dict[float, float]:
        return {le: n - earlier.buckets.get(le, 0.0) for le, n in self.buckets.items()}


async def scrape(settings: HubSettings) -> Scrape:
    text = await asyncio.to_thread(_page, settings)
    buckets: dict[float, float] = {}
    pace = math.nan
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{WAIT}_bucket" and sample.labels.get("traffic", "live") == "live":
                le = float(sample.labels["le"])
                buckets[le] = buckets.get(le, 0.0) + sample.value
            elif sample.name == PACE:
                pace = sample.value
    return Scrape(buckets, pace)


def quantile_ms(buckets: dict[float, float], q: float) -> float:
    """The upper bound (ms) of the bucket holding the ``q`` quantile of a window's waits (nan: none read)."""
    ordered = sorted(buckets.items())
    total = ordered[-1][1] if ordered else 0.0
    if total <= 0:
        return math.nan
    for le, count in ordered:
        if count >= q * total:
            return le * 1000
    return math.inf
