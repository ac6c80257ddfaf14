"""`credit replay` progress: a bar on a terminal, never carriage-return redraws in redirected output."""

from __future__ import annotations

import io

from agents.credit.replay import ReplayProgress


def test_redirected_output_gets_one_line_and_no_redraws() -> None:
    out = io.StringIO()
    progress = ReplayProgress(3_000, stream=out)
    for _ in range(3):
        progress.update(1_000)
    progress.close()
    text = out.getvalue()
    assert "\r" not in text and text.count("\n") == 1
    assert text.startswith("replay: 3,000/3,000 events in ")
