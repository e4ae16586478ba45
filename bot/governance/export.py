"""An admin's export of a thread's stored history as JSON (legal holds, debugging): exactly what
Redis holds for the thread — its messages in Claude's format as stored, its meta, its TTL.

The thread is named by a Slack message link ("Copy link" in a message's menu):
`https://<workspace>.slack.com/archives/<channel>/p<ts without the dot>[?thread_ts=<root>]`.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from bot.conversation.errors import StorageUnavailable
from bot.conversation.messages import ThreadKey
from bot.slack.handlers.inbound import DM_TOP_LEVEL
from bot.storage.connect import RedisClient
from bot.storage.key_layout import thread_key

FORMAT = "claude-slack-bot thread export v1"
_LINK = re.compile(
    r"https://[^/\s<>|]+/archives/(?P<channel>[CDG][A-Z0-9]{2,})/p(?P<secs>\d{10})(?P<micros>\d{6})"
    r"(?:\?(?P<query>[^\s<>|]*))?"
)
_THREAD_TS = re.compile(r"(?:^|&)thread_ts=(\d{10}\.\d{6})(?:&|$)")


@dataclass(frozen=True)
class ThreadLink:
    """The channel and message a link names, and the thread root when it is a reply."""

    channel: str
    ts: str
    thread_ts: str | None = None

    def keys(self, team: str) -> list[ThreadKey]:
        """The conversations it may name, most likely first (a DM message may be in the DM's
        top-level conversation)."""
        keys = [ThreadKey(team, self.channel, self.thread_ts or self.ts)]
        if self.channel.startswith("D") and self.thread_ts is None:
            keys.append(ThreadKey(team, self.channel, DM_TOP_LEVEL))
        return keys


def parse_thread_link(text: str) -> ThreadLink | None:
    """The first Slack message link in the text (as pasted, or in Slack's <…|…> form)."""
    match = _LINK.search(text)
    if match is None:
        return None
    ts = f"{match['secs']}.{match['micros']}"
    thread = _THREAD_TS.search(match["query"] or "")
    return ThreadLink(match["channel"], ts, thread.group(1) if thread else None)


async def stored_thread(client: RedisClient, key: ThreadKey) -> dict[str, Any] | None:
    """The thread as stored (messages, meta, seconds left to live), or None if nothing is."""
    try:
        async with client.pipeline(transaction=True) as pipe:
            pipe.lrange(thread_key(key, "history"), 0, -1)
            pipe.hgetall(thread_key(key, "meta"))
            pipe.ttl(thread_key(key, "history"))
            raw, meta, ttl = await pipe.execute()
    except RedisError as exc:
        raise StorageUnavailable(str(exc)) from exc
    if not raw:
        return None
    return {
        "history": [json.loads(item) for item in raw],
        "meta": {k.decode(): v.decode() for k, v in meta.items()},
        "ttl_seconds": int(ttl),
    }


def export_document(key: ThreadKey, stored: dict[str, Any], admin: str) -> dict[str, Any]:
    """The JSON document an admin gets."""
    return {
        "format": FORMAT,
        "team": key.team,
        "channel": key.channel,
        "thread_ts": key.thread_ts,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "exported_by": admin,
        **stored,
    }


async def find_export(
    client: RedisClient, team: str, link: ThreadLink
) -> tuple[ThreadKey, dict[str, Any]] | None:
    """The first of the link's conversations that has a stored history."""
    for key in link.keys(team):
        stored = await stored_thread(client, key)
        if stored is not None:
            return key, stored
    return None
