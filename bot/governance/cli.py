"""`python -m bot audit --since 7d [--team T…] [--action thread.forget]`: the audit log as JSON
lines, oldest first, on stdout.

It reads the bot's Redis: REDIS_URL when set; otherwise the embedded server under BOT_DATA_DIR —
the running bot's (its port from the server's config file, its password from the data dir), or,
when no bot is running, the embedded server started just for this read and stopped after.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import redis.asyncio as redis

from bot.config import StoreSettings
from bot.governance.audit import AuditEvent, AuditLog
from bot.storage.embedded import PASSWORD_FILE, PIDFILE, EmbeddedRedis

_SPAN = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


def parse_since(text: str) -> float:
    """Seconds in `90s`, `30m`, `12h`, `7d`, `2w`; ValueError otherwise."""
    match = _SPAN.match(text.strip())
    if match is None:
        raise ValueError(f"--since takes a number and a unit (s, m, h, d, w), e.g. 7d: {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def running_embedded_url(data_dir: Path) -> str | None:
    """The URL of the embedded server a running bot started under data_dir, if one runs."""
    folder = data_dir / "valkey"
    try:
        pid = int((folder / PIDFILE).read_text().strip())
        os.kill(pid, 0)
        config = (folder / "valkey.conf").read_text()
        password = (folder / PASSWORD_FILE).read_text().strip()
    except (OSError, ValueError):
        return None
    port = re.search(r"^port\s+(\d+)\s*$", config, re.MULTILINE)
    if port is None:
        return None
    return f"redis://:{quote(password, safe='')}@127.0.0.1:{port.group(1)}/0"


@asynccontextmanager
async def open_store(settings: StoreSettings) -> AsyncIterator[redis.Redis]:
    """A client on the bot's Redis (see the module's docstring)."""
    embedded = None
    url = settings.redis_url or running_embedded_url(settings.data_dir)
    if url is None:
        embedded = EmbeddedRedis(settings.data_dir)
        url = embedded.start()
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        yield client
    finally:
        await client.aclose()
        if embedded is not None:
            embedded.stop()


async def audit_lines(
    settings: StoreSettings, since_seconds: float, teams: list[str], actions: list[str]
) -> list[str]:
    """The matching events as JSON lines."""
    async with open_store(settings) as client:
        log = AuditLog(client, retention_seconds=since_seconds)
        events: list[AuditEvent] = []
        for team in teams or [""]:  # "": every workspace
            events += await log.read(since_seconds, team or None)
    events.sort(key=lambda event: event.at_ms)
    return [
        json.dumps(event.as_json(), ensure_ascii=False)
        for event in events
        if not actions or event.action in actions
    ]
