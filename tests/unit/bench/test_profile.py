"""The optional py-spy profile (bench.profile): the hottest functions, and the project's own code inclusive."""

from __future__ import annotations

from bench.profile import summarise


def test_profile_summary_ranks_self_and_own_code() -> None:
    raw = (
        "<module> (hub/__main__.py:5);main (hub/routing.py:10);encode (hub/codec.py:5) 30\n"
        "<module> (hub/__main__.py:5);main (hub/routing.py:10);run (faust/agents/agent.py:3);"
        "select (selectors.py:1) 70\n"
    )
    s = summarise(raw, "hub worker", 1.0)
    assert s.samples == 100
    assert s.self_top[0] == ("select (selectors.py)", 70.0)
    # only the project's own code, entry points and the engine left out
    assert s.own_inclusive == [("main (hub/routing.py)", 100.0), ("encode (hub/codec.py)", 30.0)]


def test_profile_leaves_out_the_entry_points_of_both_programs() -> None:
    """The frames every process has below its work (``interop-hub``'s and ``interop-agency``'s own CLI) are
    not hot spots; the simulator's own code is."""
    raw = (
        "<module> (agents/__main__.py:5);main (agents/cli.py:30);_banks (agents/simulate_commands.py:26);"
        "answer (agents/bank/simulator.py:90) 40\n"
        "<module> (hub/__main__.py:5);main (hub/cli.py:70);run (hub/worker_commands.py:20) 60\n"
    )
    s = summarise(raw, "bank simulator", 1.0)
    assert s.own_inclusive == [("answer (agents/bank/simulator.py)", 40.0)]
