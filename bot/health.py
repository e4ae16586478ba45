"""A heartbeat file, fresh while Slack is connected and every background loop runs; `python -m
bot healthcheck` reads it.

No port needs to be opened for a container health check: the bot is healthy when the file is fresh.
When the metrics server is on (BOT_METRICS_PORT), the health check asks its /healthz instead,
which also checks that Redis is reachable and that no background loop has died.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from pathlib import Path

HEARTBEAT_FILE = "heartbeat"
BEAT_SECONDS = 10.0
STALE_AFTER_SECONDS = 60.0


async def write_heartbeat(path: Path) -> None:
    """Write the current time to the heartbeat file (the wiring calls it every BEAT_SECONDS
    while Slack is connected and every background loop is alive)."""

    def write() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{time.time():.0f}\n")

    await asyncio.to_thread(write)


def is_healthy(
    path: Path, now: float | None = None, stale_after: float = STALE_AFTER_SECONDS
) -> bool:
    """True when the heartbeat file was written recently."""
    try:
        written = float(path.read_text().strip())
    except (OSError, ValueError):
        return False
    return (time.time() if now is None else now) - written < stale_after


def healthz_url(host: str, port: int) -> str:
    """The metrics server's /healthz, reached locally when it listens on every interface."""
    local = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104  # compared, not bound
    return f"http://[{local}]:{port}/healthz" if ":" in local else f"http://{local}:{port}/healthz"


def endpoint_healthy(url: str, timeout: float = 5.0) -> bool:
    """True when GET url answers 200 (a 503 or no answer is unhealthy)."""
    if not url.startswith("http://"):
        return False
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310  # http only
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False
