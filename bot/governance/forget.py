""" "@Claude forget this thread": the bot deletes what it keeps of the thread and says so.

What goes: the thread's stored history and meta (and the surfaces' per-thread marks), the
in-progress records of its answers, the dedupe marks and feedback of its messages, and the files
the bot uploaded to Claude's Files API for it (their ids are in the history). What stays: the
Slack messages themselves (Slack's to delete) and the usage ledger (costs, no text). Afterwards
the thread starts fresh: the meta keeps only where the forget happened, so the messages before
it are not read back in as context. Every forget goes to the audit log.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any, Protocol

import structlog
from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError

from bot.conversation.errors import StorageUnavailable
from bot.conversation.messages import ChatMessage, Question, ThreadKey
from bot.governance.audit import Auditor
from bot.slack.api.workspaces import NotInstalled, SlackWorkspaces
from bot.slack.handlers.inbound import DM_TOP_LEVEL, message_mark
from bot.storage.connect import RedisClient
from bot.storage.inflight import RECORDS
from bot.storage.key_layout import event_key, thread_key
from bot.storage.surface_state import feedback_key, viewing_key

log = structlog.get_logger("bot.governance")

THREAD_PARTS = ("history", "meta", "titled", "viewing_passed")
PAGE_SIZE = 200
MAX_PAGES = 10  # 2,000 messages of the thread are looked up for their marks
FILE_DELETES_AT_ONCE = 4


class FileDeleter(Protocol):
    """Deletes files the bot uploaded to Claude's Files API."""

    async def delete(self, file_id: str) -> bool:
        """True when the file is gone (also when it was already)."""
        ...


def uploaded_files(messages: list[ChatMessage]) -> list[str]:
    """The Files API ids the history refers to (image and document sources), in order, once."""
    return list(dict.fromkeys(_file_ids(messages)))


def _file_ids(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if value.get("type") == "file" and isinstance(value.get("file_id"), str):
            yield value["file_id"]
        for item in value.values():
            yield from _file_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from _file_ids(item)


class ThreadForgetter:
    """The core's ThreadEraser over Redis, Slack (which messages are in the thread, asked with
    the client of the thread's workspace) and the Files API."""

    def __init__(
        self,
        client: RedisClient,
        slack: SlackWorkspaces,
        files: FileDeleter | None,
        audit: Auditor,
        *,
        ttl_seconds: int,
    ) -> None:
        self._redis = client
        self._slack = slack
        self._files = files
        self._audit = audit
        self._ttl = ttl_seconds

    async def forget(self, question: Question) -> str:
        """Delete everything listed above; the reply saying what went."""
        key = question.key
        try:
            raw = await self._redis.lrange(thread_key(key, "history"), 0, -1)
        except RedisError as exc:
            raise StorageUnavailable(str(exc)) from exc
        history = [json.loads(item) for item in raw]
        stamps = [ts for ts in await self._thread_stamps(key) if ts != question.ts]
        try:
            await self._drop_thread(key, question.ts)
            marks = await self._drop_marks(question, stamps)
            records = await self._drop_records(key.channel, set(stamps))
        except RedisError as exc:
            raise StorageUnavailable(str(exc)) from exc
        file_ids = uploaded_files(history)
        failed = await self._delete_files(file_ids)
        deleted = len(file_ids) - len(failed)
        await self._audit.record(
            key.team,
            "thread.forget",
            question.user,
            channel=key.channel,
            thread=key.thread_ts,
            messages=len(history),
            files=deleted,
            files_failed=",".join(failed),
            marks=marks,
            records=records,
        )
        return forget_reply(len(history), deleted, len(failed))

    async def _thread_stamps(self, key: ThreadKey) -> list[str]:
        """The ts of every message in the thread (a DM's top level: its top-level messages);
        none when Slack can't say."""
        stamps: list[str] = []
        cursor = None
        try:
            client = (await self._slack.get(key.team)).client
            for _ in range(MAX_PAGES):
                if key.thread_ts == DM_TOP_LEVEL:
                    response = await client.conversations_history(
                        channel=key.channel, limit=PAGE_SIZE, cursor=cursor
                    )
                else:
                    response = await client.conversations_replies(
                        channel=key.channel, ts=key.thread_ts, limit=PAGE_SIZE, cursor=cursor
                    )
                stamps += [str(m["ts"]) for m in response.get("messages") or [] if m.get("ts")]
                cursor = (response.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except SlackApiError as exc:
            log.warning("forget.thread_unreadable", error=exc.response.get("error"))
        except NotInstalled:
            log.warning("forget.thread_unreadable", error="not_installed")
        return stamps

    async def _drop_thread(self, key: ThreadKey, forget_ts: str) -> None:
        """The thread's keys deleted; a fresh meta says only where the forget happened, so the
        messages before it are never read back as context."""
        meta = thread_key(key, "meta")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(*(thread_key(key, part) for part in THREAD_PARTS))
            pipe.hset(meta, mapping={"last_seen_ts": forget_ts})
            pipe.expire(meta, self._ttl)
            await pipe.execute()

    async def _drop_marks(self, question: Question, stamps: list[str]) -> int:
        """Dedupe marks and feedback of the thread's messages (not of the forget message itself,
        so a retry of it is still answered once); the surfaces' view of the thread."""
        key = question.key
        keys = [viewing_key(key.team, f"thread:{key.channel}:{key.thread_ts}")]
        for ts in stamps:
            mark = message_mark(Question(key, "", "", ts, False, None))
            keys += [event_key(mark), feedback_key(key.team, key.channel, ts)]
        removed = 0
        for start in range(0, len(keys), 500):
            async with self._redis.pipeline(transaction=False) as pipe:
                for name in keys[start : start + 500]:
                    pipe.delete(name)
                removed += sum(await pipe.execute())
        return removed

    async def _drop_records(self, channel: str, stamps: set[str]) -> int:
        """In-progress records of the thread's answers (what their messages showed)."""
        doomed = []
        for field, value in (await self._redis.hgetall(RECORDS)).items():
            record = json.loads(value)
            if record.get("channel") == channel and record.get("message_ts") in stamps:
                doomed.append(field)
        if doomed:
            await self._redis.hdel(RECORDS, *doomed)
        return len(doomed)

    async def _delete_files(self, file_ids: list[str]) -> list[str]:
        """Delete the uploads, a few at a time; the ids that could not be deleted."""
        if not file_ids:
            return []
        if self._files is None:
            return file_ids
        files = self._files
        limit = asyncio.Semaphore(FILE_DELETES_AT_ONCE)

        async def one(file_id: str) -> bool:
            async with limit:
                return await files.delete(file_id)

        gone = await asyncio.gather(*(one(file_id) for file_id in file_ids))
        return [file_id for file_id, ok in zip(file_ids, gone, strict=True) if not ok]


def forget_reply(messages: int, files: int, files_failed: int) -> str:
    """What the person who asked is told."""
    if not messages and not files_failed:
        gone = "I had nothing stored for this thread"
    else:
        parts = [f"{messages} stored message{'s' if messages != 1 else ''}"]
        if files:
            parts.append(f"{files} file{'s' if files != 1 else ''} I had uploaded to Claude")
        gone = "Done: I deleted " + " and ".join(parts) + " of this thread"
    lines = [
        f":wastebasket: {gone}. From here on I start fresh: earlier messages in this thread are "
        "not read again. (The Slack messages themselves stay; delete them in Slack if needed.)"
    ]
    if files_failed:
        lines.append(
            f":warning: {files_failed} uploaded file{'s' if files_failed != 1 else ''} could "
            "not be deleted from Claude's Files API just now; an admin can remove them (the "
            "audit log lists their ids)."
        )
    return "\n".join(lines)
