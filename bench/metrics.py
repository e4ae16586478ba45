"""Pure helpers: percentiles, ratios, and when streamed text became visible in Slack."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

Edit = tuple[float, str]  # (monotonic time, visible text of one message after the write)
Delta = tuple[float, str]  # (monotonic time the fake Claude sent it, its text)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100), linear between closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * min(max(q, 0.0), 100.0) / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    """Count and the usual percentiles of a sample (None when empty)."""

    n: int
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None

    def scaled(self, factor: float) -> Summary:
        """The same summary in another unit (e.g. seconds to milliseconds)."""

        def scale(value: float | None) -> float | None:
            return None if value is None else value * factor

        return Summary(self.n, scale(self.p50), scale(self.p95), scale(self.p99), scale(self.max))


def summarize(values: Sequence[float]) -> Summary:
    """Summary of a sample."""
    return Summary(
        n=len(values),
        p50=percentile(values, 50),
        p95=percentile(values, 95),
        p99=percentile(values, 99),
        max=max(values) if values else None,
    )


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value / baseline, or None when either is missing or the baseline is zero."""
    if value is None or baseline is None or baseline == 0:
        return None
    return value / baseline


def squeeze(text: str) -> str:
    """The text without whitespace (message splits may drop whitespace at the cut)."""
    return "".join(text.split())


def coverage(visible_parts: Sequence[str], answer_squeezed: str) -> int:
    """How many non-whitespace characters of the answer the joined message texts show."""
    shown = squeeze("".join(visible_parts))
    if answer_squeezed.startswith(shown):
        return len(shown)
    limit = min(len(shown), len(answer_squeezed))
    count = 0
    while count < limit and shown[count] == answer_squeezed[count]:
        count += 1
    return count


def visibility_timeline(messages: Sequence[Sequence[Edit]], answer: str) -> list[tuple[float, int]]:
    """(time, non-whitespace answer characters visible) after each write, never decreasing.

    `messages` holds each message's edits, in the order the messages appear in the thread."""
    target = squeeze(answer)
    writes = sorted((at, index, text) for index, edits in enumerate(messages) for at, text in edits)
    current = [""] * len(messages)
    timeline: list[tuple[float, int]] = []
    best = 0
    for at, index, text in writes:
        current[index] = text
        best = max(best, coverage(current, target))
        timeline.append((at, best))
    return timeline


def first_visible(timeline: Sequence[tuple[float, int]]) -> float | None:
    """When the first answer character became visible, or None if it never did."""
    return next((at for at, shown in timeline if shown > 0), None)


def first_words(
    deltas: Sequence[Delta],
    timeline: Sequence[tuple[float, int]],
    answer: str,
    words: int = 10,
) -> float | None:
    """Seconds from the fake Claude writing the answer's first `words` words (the delta that
    completes them) to Slack first showing them; None when either never happened."""
    needed = len(squeeze(" ".join(answer.split()[:words])))
    if needed == 0:
        return None
    written = next(
        (
            at
            for (at, _), at_chars in zip(deltas, delta_positions(deltas), strict=True)
            if at_chars >= needed
        ),
        None,
    )
    shown = next((at for at, chars in timeline if chars >= needed), None)
    if written is None or shown is None:
        return None
    return max(0.0, shown - written)


def staleness_floor(answers: int, edits_per_minute: float) -> tuple[float, float]:
    """The staleness p50 and p95 no edit policy can beat (seconds) when `answers` messages
    stream at once and share one edit budget: at best each is edited every answers/rate
    seconds, evenly, so a delta waits uniformly between 0 and that (bursts ignored)."""
    period = answers / (edits_per_minute / 60.0)
    return period / 2, period * 0.95


def delta_positions(deltas: Sequence[Delta]) -> list[int]:
    """For each delta, the non-whitespace answer characters up to and including it."""
    positions: list[int] = []
    total = 0
    for _, text in deltas:
        total += len(squeeze(text))
        positions.append(total)
    return positions


def staleness(
    deltas: Sequence[Delta], timeline: Sequence[tuple[float, int]]
) -> tuple[list[float], int]:
    """Seconds from each delta leaving Claude to its text being visible, and how many never were.

    Whitespace-only deltas count as visible with the text before them."""
    delays: list[float] = []
    unseen = 0
    cursor = 0
    for (sent_at, _), position in zip(deltas, delta_positions(deltas), strict=True):
        while cursor < len(timeline) and timeline[cursor][1] < position:
            cursor += 1
        if cursor == len(timeline):
            unseen += 1
            continue
        delays.append(max(0.0, timeline[cursor][0] - sent_at))
    return delays, unseen


def staleness_curve(
    deltas: Sequence[Delta],
    timeline: Sequence[tuple[float, int]],
    start: float,
    stop: float,
    step: float,
) -> list[tuple[float, float]]:
    """(t - start, age of the oldest sent but not yet visible text at t), sampled every step."""
    positions = delta_positions(deltas)
    points: list[tuple[float, float]] = []
    sent = shown_index = 0
    shown = 0
    samples = min(int((stop - start) / step) + 1, 100_000)
    for k in range(max(samples, 0)):
        now = start + k * step
        while sent < len(deltas) and deltas[sent][0] <= now:
            sent += 1
        while shown_index < len(timeline) and timeline[shown_index][0] <= now:
            shown = timeline[shown_index][1]
            shown_index += 1
        oldest = bisect.bisect_right(positions, shown, 0, sent)
        age = now - deltas[oldest][0] if oldest < sent else 0.0
        points.append((now - start, age))
    return points
