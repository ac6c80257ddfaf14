"""``interop-agency credit replay``: the line comparing the rebuilt copy with the hub's published digest."""

from __future__ import annotations

from agents.credit.replay import ReplayResult, digest_comparison
from hub.flows.credit.list_state import EMPTY_DIGEST


def _result(digest: str, published: str | None) -> ReplayResult:
    return ReplayResult(applied=0, last_publication_id=0, size=0, digest=digest, published_digest=published,
                        seconds=0.1)


def test_nothing_published_yet_is_said_plainly() -> None:
    line = digest_comparison(_result(EMPTY_DIGEST, None))
    assert "has published no list yet" in line and "no digest to compare" in line
    assert "None" not in line and "identical" not in line and "DIFFERENT" not in line


def test_a_published_digest_is_compared() -> None:
    assert digest_comparison(_result("ab" * 32, "ab" * 32)) == f"hub's  {'ab' * 32} -> identical"
    assert digest_comparison(_result("ab" * 32, "cd" * 32)) == f"hub's  {'cd' * 32} -> DIFFERENT"
