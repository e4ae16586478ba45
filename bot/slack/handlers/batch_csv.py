"""Which CSV a batch job runs on, and in which thread it talks.

Slack does not tell a slash command which thread it was typed in, so `/claude-batch` takes the
most recent CSV the person running it shared in the channel, top level or in a recently active
thread, and the job talks in that file's thread. A mention ("@Claude batch: …") knows its
thread: a CSV attached to it, else the most recent one its author shared in the thread. Someone
else's file is never picked: a job runs only on data its owner shared."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

HISTORY_LIMIT = 100  # top-level messages looked at
THREADS_SCANNED = 5  # most recently active threads looked into
REPLIES_LIMIT = 200
REPLY_PAGES = 5


def is_csv(file: dict[str, Any]) -> bool:
    """A Slack file object that is a CSV."""
    name = str(file.get("name") or "").lower()
    return (
        file.get("filetype") == "csv"
        or name.endswith(".csv")
        or file.get("mimetype") in ("text/csv", "application/csv")
    )


@dataclass(frozen=True)
class FoundCsv:
    """A CSV file object, the message that shared it and the thread the job will talk in."""

    file: dict[str, Any]
    ts: str
    thread_ts: str


def _ts(value: object) -> float:
    try:
        return float(str(value))
    except ValueError:
        return 0.0


def newest_csv(messages: list[dict[str, Any]], *, owner: str) -> FoundCsv | None:
    """The most recent CSV `owner` shared among the messages (in any order); anyone else's
    files (another person's, the bot's own results) do not count."""
    best: FoundCsv | None = None
    for message in messages:
        ts = str(message.get("ts") or "")
        if not ts or message.get("user") != owner:
            continue
        files = [f for f in message.get("files") or [] if isinstance(f, dict) and is_csv(f)]
        if files and (best is None or _ts(ts) > _ts(best.ts)):
            best = FoundCsv(files[0], ts, str(message.get("thread_ts") or ts))
    return best


def active_threads(messages: list[dict[str, Any]], *, newer_than: str) -> list[str]:
    """Roots of the threads with a reply newer than `newer_than`, most recently active first."""
    roots = [
        m for m in messages if m.get("reply_count") and _ts(m.get("latest_reply")) > _ts(newer_than)
    ]
    roots.sort(key=lambda m: _ts(m.get("latest_reply")), reverse=True)
    return [str(m["ts"]) for m in roots if m.get("ts")]


class CsvFinder:
    """Looks for CSVs with conversations.history and conversations.replies, through the
    client of the workspace asked about."""

    async def in_channel(
        self, client: AsyncWebClient, channel: str, *, owner: str
    ) -> FoundCsv | None:
        """The most recent CSV `owner` shared in the channel, top level or in an active thread."""
        history = await client.conversations_history(channel=channel, limit=HISTORY_LIMIT)
        messages: list[dict[str, Any]] = list(history.get("messages") or [])
        best = newest_csv(messages, owner=owner)
        threads = active_threads(messages, newer_than=best.ts if best else "0")
        for root in threads[:THREADS_SCANNED]:
            found = await self.in_thread(client, channel, root, owner=owner)
            if found is not None and (best is None or _ts(found.ts) > _ts(best.ts)):
                best = found
        return best

    async def in_thread(
        self, client: AsyncWebClient, channel: str, thread_ts: str, *, owner: str
    ) -> FoundCsv | None:
        """The most recent CSV `owner` shared in the thread (its root included)."""
        messages: list[dict[str, Any]] = []
        cursor = ""
        for _ in range(REPLY_PAGES):
            page = await client.conversations_replies(
                channel=channel, ts=thread_ts, limit=REPLIES_LIMIT, cursor=cursor or None
            )
            messages.extend(page.get("messages") or [])
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        return newest_csv(messages, owner=owner)
