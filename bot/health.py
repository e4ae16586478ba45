"""A heartbeat file, fresh while Slack is connected; `python -m bot healthcheck` reads it.

No port needs to be opened for a container health check: the bot is healthy when the file is fresh.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

HEARTBEAT_FILE = "heartbeat"
BEAT_SECONDS = 10.0
STALE_AFTER_SECONDS = 60.0


async def beat_while_connected(
    path: Path, is_connected: Callable[[], Awaitable[bool]], every: float = BEAT_SECONDS
) -> None:
    """Touch the file every few seconds while the Socket Mode connection is up (runs forever)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        if await is_connected():
            await asyncio.to_thread(path.write_text, f"{time.time():.0f}\n")
        await asyncio.sleep(every)


def is_healthy(
    path: Path, now: float | None = None, stale_after: float = STALE_AFTER_SECONDS
) -> bool:
    """True when the heartbeat file was written recently."""
    try:
        written = float(path.read_text().strip())
    except (OSError, ValueError):
        return False
    return (time.time() if now is None else now) - written < stale_after
