"""The bot's own event-loop lag over a run: its /metrics histogram `csb_event_loop_lag_seconds`
(scraped before and after the measured window) and its `loop.stalled` log lines (every stall over
250 ms, with the exact lag)."""

from __future__ import annotations

import math
import socket
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

LAG_METRIC = "csb_event_loop_lag_seconds"
Buckets = dict[float, float]  # upper bound (s) -> cumulative count


def free_port() -> int:
    """A TCP port nobody listens on now, for a bot's BOT_METRICS_PORT."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def scrape_lag(port: int) -> Buckets:
    """The lag histogram's cumulative buckets from a bot's /metrics ({} when it has none)."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
            http.get(f"http://127.0.0.1:{port}/metrics") as response,
        ):
            text = await response.text()
    except (aiohttp.ClientError, TimeoutError):
        return {}
    return {
        float(sample.labels["le"]): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == LAG_METRIC
        for sample in family.samples
        if sample.name == f"{LAG_METRIC}_bucket"
    }


def added(before: Buckets, after: Buckets) -> Buckets:
    """The buckets of what was observed between two scrapes."""
    return {le: count - before.get(le, 0.0) for le, count in after.items()}


@dataclass(frozen=True)
class BotLag:
    """The bot's event-loop lag in the measured window (all replicas together)."""

    samples: int  # timer wake-ups measured (about 10 a second per replica)
    p99_le_ms: float | None  # the 99th percentile is at most this (a histogram bucket bound)
    worst_ms: float | None  # the longest stall logged, else the highest bucket bound reached
    worst_exact: bool  # worst_ms is a logged stall, not a bucket bound
    stalls: int  # lags over 250 ms (each logged as loop.stalled)


def summarize_lag(windows: Sequence[Buckets], stalls_ms: Sequence[float]) -> BotLag:
    """Lag figures from each replica's histogram delta and the stalls it logged meanwhile."""
    total: Buckets = {}
    for window in windows:
        for le, count in window.items():
            total[le] = total.get(le, 0.0) + count
    samples = int(total.get(math.inf, 0.0))
    if samples == 0:
        return BotLag(0, None, max(stalls_ms, default=None), bool(stalls_ms), len(stalls_ms))
    bounds = sorted(total)

    def bound_ms(share: float) -> float | None:
        le = next(b for b in bounds if total[b] >= share * samples)
        return None if math.isinf(le) else le * 1000

    if stalls_ms:
        return BotLag(samples, bound_ms(0.99), max(stalls_ms), True, len(stalls_ms))
    return BotLag(samples, bound_ms(0.99), bound_ms(1.0), False, 0)
