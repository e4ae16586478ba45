"""The benchmark's pure helpers: percentiles, ratios, and when streamed text became visible."""

from __future__ import annotations

import pytest

from bench.bot_lag import added, summarize_lag
from bench.metrics import (
    first_words,
    percentile,
    ratio,
    squeeze,
    staleness,
    staleness_curve,
    staleness_floor,
    summarize,
    visibility_timeline,
)


def test_percentile_interpolates_between_ranks() -> None:
    """p50 of an even sample is the midpoint; p0/p100 are the extremes; empty gives None."""
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 50) == pytest.approx(2.5)
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 99) == pytest.approx(3.97)
    assert percentile([], 50) is None


def test_summary_and_ratio() -> None:
    """summarize gives n, percentiles and max; scaled changes the unit; ratio avoids zero."""
    summary = summarize([0.01, 0.02, 0.03]).scaled(1000)
    assert summary.n == 3
    assert summary.p50 == pytest.approx(20.0)
    assert summary.max == pytest.approx(30.0)
    assert summarize([]).p99 is None
    assert ratio(1.0, 4.0) == 0.25
    assert ratio(1.0, 0.0) is None
    assert ratio(None, 2.0) is None


def test_visibility_ignores_the_placeholder_and_whitespace_lost_at_a_split() -> None:
    """Coverage counts answer characters only, across messages, never going back."""
    answer = "Hello there world. Next part"
    first = [(1.0, "_Thinking…_"), (2.0, "Hello there"), (4.0, "Hello there world.")]
    second = [(4.5, "Next"), (5.0, "Next part")]
    timeline = visibility_timeline([first, second], answer)
    assert timeline == [(1.0, 0), (2.0, 10), (4.0, 16), (4.5, 20), (5.0, 24)]


def test_staleness_of_each_delta() -> None:
    """Each delta waits for the first write that shows it; text never shown is counted."""
    deltas = [(1.0, "Hello"), (1.2, " there"), (1.4, " world"), (1.6, " !!")]
    timeline = [(1.1, 5), (2.0, 15)]
    delays, unseen = staleness(deltas, timeline)
    assert delays == pytest.approx([0.1, 0.8, 0.6])
    assert unseen == 1


def test_staleness_curve_is_the_age_of_the_oldest_hidden_text() -> None:
    """Zero when everything sent is visible; otherwise now minus the oldest hidden delta."""
    deltas = [(1.0, "ab"), (1.5, "cd")]
    timeline = [(2.0, 2), (3.0, 4)]
    curve = staleness_curve(deltas, timeline, start=0.0, stop=3.0, step=1.0)
    assert curve == [(0.0, 0.0), (1.0, 0.0), (2.0, 0.5), (3.0, 0.0)]


def test_bot_lag_from_histogram_deltas_and_logged_stalls() -> None:
    """The bot's loop lag over a window: p99 and worst as bucket bounds of the histogram's
    growth (replicas added up), the worst replaced by the longest stall logged when there is one."""
    inf = float("inf")
    before = {0.005: 10.0, 0.01: 10.0, 0.1: 10.0, 0.25: 10.0, inf: 10.0}
    after = {0.005: 100.0, 0.01: 108.0, 0.1: 110.0, 0.25: 110.0, inf: 110.0}
    other = {0.005: 99.0, 0.01: 100.0, 0.1: 100.0, 0.25: 100.0, inf: 100.0}
    windows = [added(before, after), other]
    quiet = summarize_lag(windows, [])
    assert (quiet.samples, quiet.p99_le_ms, quiet.worst_ms, quiet.stalls) == (200, 10.0, 100.0, 0)
    assert not quiet.worst_exact
    stalled = summarize_lag(windows, [412.0, 380.0])
    assert (stalled.worst_ms, stalled.worst_exact, stalled.stalls) == (412.0, True, 2)
    assert summarize_lag([{}], []).samples == 0


def test_first_words_counts_from_the_delta_completing_them_to_the_write_showing_them() -> None:
    """The first-10-words time runs from the delta that completes the tenth word to the first
    Slack write showing that much; None when they never showed."""
    answer = " ".join(f"w{i}" for i in range(12))
    deltas = [(float(i), f"w{i} ") for i in range(12)]  # w9 (the tenth word) leaves at 9.0
    squeezed = [len(squeeze(" ".join(answer.split()[: n + 1]))) for n in range(12)]
    timeline = [(0.5, squeezed[0]), (9.2, squeezed[8]), (10.25, squeezed[10])]
    assert first_words(deltas, timeline, answer) == 1.25
    assert first_words(deltas, timeline[:2], answer) is None


def test_the_staleness_floor_spreads_the_edit_budget_evenly() -> None:
    """20 answers sharing 50 edits a minute: each edited every 24 s at best, so a delta waits
    12 s at the median and 22.8 s at p95."""
    p50, p95 = staleness_floor(20, 50.0)
    assert p50 == pytest.approx(12.0)
    assert p95 == pytest.approx(22.8)
