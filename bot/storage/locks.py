"""One answer at a time per thread, in arrival order, across processes and replicas (Redis).

A thread has a lock (token + TTL, renewed while the answer streams) and a queue of waiting
questions ordered by their Slack ts. A waiter takes the lock only when it is free and the waiter
is first in the queue; a waiter that died (its heartbeat key expired) is pruned from the queue,
and a holder that died releases the lock when its TTL runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import redis.asyncio as redis
import structlog
from redis.exceptions import RedisError

from bot.conversation.messages import ThreadKey
from bot.storage.key_layout import PREFIX, thread_key

log = structlog.get_logger("bot.storage.locks")

# KEYS: lock, queue. ARGV: waiter id, lock ttl ms, waiter key prefix.
_ACQUIRE = """
while true do
  local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if not head then break end
  if redis.call('EXISTS', ARGV[3] .. head) == 1 then break end
  redis.call('ZREM', KEYS[2], head)
end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
if head and head ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""
# KEYS: lock. ARGV: token, ttl ms (0 = release).
_RENEW_OR_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '0' then return redis.call('DEL', KEYS[1]) end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""


class ThreadLocks:
    """ThreadGate over Redis."""

    def __init__(
        self, client: redis.Redis, *, ttl_seconds: float = 30.0, poll_seconds: float = 0.1
    ) -> None:
        self._redis = client
        self._ttl_ms = int(ttl_seconds * 1000)
        self._poll = poll_seconds
        self._acquire = client.register_script(_ACQUIRE)
        self._renew_or_release = client.register_script(_RENEW_OR_RELEASE)

    @contextlib.asynccontextmanager
    async def turn(
        self, key: ThreadKey, order: str, on_wait: Callable[[], Awaitable[None]]
    ) -> AsyncIterator[None]:
        """Hold the thread for one answer; calls on_wait once if it has to queue first.

        When Redis is unreachable the answer goes ahead unlocked: the turn itself will tell
        the user that the conversation store is unavailable.
        """
        token = uuid.uuid4().hex
        try:
            await self._wait_for_turn(key, order, token, on_wait)
        except RedisError as exc:
            log.warning("lock.unavailable", error=type(exc).__name__)
            yield
            return
        renewer = asyncio.create_task(self._renew(key, token))
        try:
            yield
        finally:
            renewer.cancel()
            with contextlib.suppress(RedisError):
                await self._renew_or_release(keys=[thread_key(key, "lock")], args=[token, "0"])

    async def _wait_for_turn(
        self, key: ThreadKey, order: str, token: str, on_wait: Callable[[], Awaitable[None]]
    ) -> None:
        lock, queue = thread_key(key, "lock"), thread_key(key, "queue")
        waiter_prefix = f"{PREFIX}:waiter:"
        await self._redis.set(waiter_prefix + token, "1", px=self._ttl_ms)
        await self._redis.zadd(queue, {token: float(order)})
        await self._redis.pexpire(queue, self._ttl_ms * 20)
        waited = False
        while not await self._acquire(
            keys=[lock, queue], args=[token, self._ttl_ms, waiter_prefix]
        ):
            if not waited:
                waited = True
                await on_wait()
            await self._redis.set(waiter_prefix + token, "1", px=self._ttl_ms)
            await asyncio.sleep(self._poll)
        await self._redis.delete(waiter_prefix + token)

    async def _renew(self, key: ThreadKey, token: str) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            with contextlib.suppress(RedisError):
                await self._renew_or_release(
                    keys=[thread_key(key, "lock")], args=[token, self._ttl_ms]
                )
