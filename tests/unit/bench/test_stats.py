"""The benchmarks' figures (bench.stats): percentiles, medians of repeats, ratios to a baseline, rendering."""

from __future__ import annotations

import json
import math

import pytest

from bench.stats import Figure, median, percentile, render_table, to_json


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 0) == 1.0 and percentile(values, 100) == 100.0
    assert percentile([7.0], 95) == 7.0
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_median_of_repeats_ignores_failed_runs() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([1.0, math.nan, 3.0]) == 2.0
    assert math.isnan(median([]))


def test_ratio_is_against_the_baseline_and_inverted_for_times() -> None:
    rate = Figure("hub", "events/s", runs=[700.0, 800.0, 900.0], baseline="faust", baseline_value=1000.0)
    assert rate.value == 800.0 and rate.ratio == pytest.approx(0.8)
    time_ = Figure("codec", "µs", runs=[10.0], baseline="avro", baseline_value=120.0, ratio_up=False)
    assert time_.ratio == pytest.approx(12.0)  # avro takes 12x as long as ours
    assert Figure("x", "s", runs=[1.0]).ratio is None


def test_table_and_json_show_medians_ratios_and_targets() -> None:
    figs = [
        Figure("round_trips_per_s", "rt/s", runs=[1500.0, 2500.0, 2100.0], target=">= 2000", met=True),
        Figure(
            "hub_events_per_s",
            "events/s",
            runs=[9000.0],
            baseline="faust",
            baseline_value=10000.0,
            note="incl. audit",
        ),
    ]
    table = render_table(figs)
    header, rule, first, second = table.splitlines()[:4]
    assert header.split()[:2] == ["figure", "median"] and set(rule) <= {"-", " "}
    assert first.split()[:2] == ["round_trips_per_s", "2,100"] and "yes" in first
    assert "0.9x" in second and "faust (10,000)" in second
    assert "hub_events_per_s: incl. audit" in table
    data = json.loads(to_json(figs, {"notes": []}))
    assert data["figures"]["round_trips_per_s"]["value"] == 2100.0
    assert data["figures"]["hub_events_per_s"]["ratio"] == 0.9
