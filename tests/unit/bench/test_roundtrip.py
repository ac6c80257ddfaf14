"""The round-trip benchmark's rate (bench.roundtrip): taken over the middle of the replies."""

from __future__ import annotations

import pytest

from bench.roundtrip import middle_rate


def test_middle_rate_leaves_out_warm_up_and_drain() -> None:
    arrivals = [0.0] * 5 + [10.0 + i / 100 for i in range(90)] + [60.0] * 5  # 100 replies/s in the middle
    assert middle_rate(arrivals) == pytest.approx(100.0, rel=0.05)
    assert middle_rate([1.0, 1.0]) == 0.0
