"""Threads, dedupe marks and small caches in Redis (redis.asyncio)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence

from redis.exceptions import RedisError

from bot.conversation.errors import StorageUnavailable
from bot.conversation.messages import ChatMessage, Container, ThreadKey, ThreadState
from bot.storage.connect import RedisClient
from bot.storage.key_layout import code_file_key, event_key, thread_key, user_name_key

EVENT_MARK_TTL_SECONDS = 24 * 3600
USER_NAME_TTL_SECONDS = 24 * 3600


class RedisThreadStore:
    """ThreadStore over Redis: a list of JSON messages and a meta hash per thread."""

    def __init__(self, client: RedisClient, ttl_seconds: int) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    async def load(self, key: ThreadKey) -> ThreadState:
        """The thread's history and meta; empty for a thread the bot has not answered in."""
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.lrange(thread_key(key, "history"), 0, -1)
                pipe.hgetall(thread_key(key, "meta"))
                raw_history, meta = await pipe.execute()
        except RedisError as exc:
            raise StorageUnavailable(str(exc)) from exc
        return ThreadState(
            history=[json.loads(item) for item in raw_history],
            last_seen_ts=_text(meta.get(b"last_seen_ts")),
            tier=_text(meta.get(b"tier")),
            mode=_text(meta.get(b"mode")),
            repo=_text(meta.get(b"repo")),
            commit=_text(meta.get(b"commit")),
            trimmed=int(meta.get(b"trimmed") or 0),
            container=_container(meta),
        )

    async def append_turn(
        self,
        key: ThreadKey,
        user: ChatMessage,
        assistant: ChatMessage,
        *,
        last_seen_ts: str,
        between: Sequence[ChatMessage] = (),
        drop_oldest: int = 0,
        container: Container | None = None,
    ) -> None:
        """The messages (tool rounds between the two) appended and the meta set in one
        transaction (with code execution's container, when the answer used one), the
        `drop_oldest` oldest messages trimmed away (LTRIM, counted in the meta); the TTL
        refreshed. Only the new messages travel: the list is never rewritten."""
        history, meta = thread_key(key, "history"), thread_key(key, "meta")
        messages = [user, *between, assistant]
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.rpush(history, *(_dump(message) for message in messages))
                if drop_oldest > 0:
                    pipe.ltrim(history, drop_oldest, -1)
                    pipe.hincrby(meta, "trimmed", drop_oldest)
                pipe.hset(meta, mapping={"last_seen_ts": last_seen_ts})
                if container is not None:
                    expires = repr(container.expires_at)
                    pipe.hset(
                        meta,
                        mapping={"container_id": container.id, "container_expires_at": expires},
                    )
                pipe.expire(history, self._ttl)
                pipe.expire(meta, self._ttl)
                await pipe.execute()
        except RedisError as exc:
            raise StorageUnavailable(str(exc)) from exc

    async def set_tier(self, key: ThreadKey, tier: str) -> None:
        """Remember the thread's tier (with the thread's TTL)."""
        meta = thread_key(key, "meta")
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(meta, mapping={"tier": tier})
                pipe.expire(meta, self._ttl)
                await pipe.execute()
        except RedisError as exc:
            raise StorageUnavailable(str(exc)) from exc

    async def set_code(self, key: ThreadKey, repo: str, commit: str) -> None:
        """Mark the thread as a code thread about this repository at this commit."""
        meta = thread_key(key, "meta")
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(meta, mapping={"mode": "code", "repo": repo, "commit": commit})
                pipe.expire(meta, self._ttl)
                await pipe.execute()
        except RedisError as exc:
            raise StorageUnavailable(str(exc)) from exc


class RedisMarks:
    """Dedupe marks and the display-name cache."""

    def __init__(self, client: RedisClient) -> None:
        self._redis = client

    async def claim(self, mark: str) -> bool:
        """True for the first caller with this mark (SET NX EX), across processes and replicas."""
        return bool(await self._redis.set(event_key(mark), "1", nx=True, ex=EVENT_MARK_TTL_SECONDS))

    async def claim_code_file(self, file_id: str) -> bool:
        """True for the first caller posting this code execution file (SET NX EX)."""
        mark = code_file_key(file_id)
        return bool(await self._redis.set(mark, "1", nx=True, ex=EVENT_MARK_TTL_SECONDS))

    async def cached_name(self, team: str, user: str) -> str | None:
        """A display name cached earlier, if any (None too when Redis is unreachable)."""
        try:
            return _text(await self._redis.get(user_name_key(team, user)))
        except RedisError:
            return None

    async def cache_name(self, team: str, user: str, name: str) -> None:
        """Remember a display name for a day (best effort)."""
        with contextlib.suppress(RedisError):
            await self._redis.set(user_name_key(team, user), name, ex=USER_NAME_TTL_SECONDS)


def _container(meta: dict[bytes, bytes]) -> Container | None:
    """The thread's code execution container, from its meta (None: none, or unreadable)."""
    container_id = _text(meta.get(b"container_id"))
    try:
        expires_at = float(meta.get(b"container_expires_at") or 0)
    except ValueError:
        expires_at = 0.0
    return Container(container_id, expires_at) if container_id else None


def _dump(message: ChatMessage) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
