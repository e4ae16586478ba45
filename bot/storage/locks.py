"""One answer at a time per thread, in arrival order, across processes and replicas (Redis).

A thread has a lock (token + TTL, renewed while the answer streams) and a queue of waiting
questions ordered by their Slack ts. A waiter takes the lock only when it is free and the waiter
is first in the queue; a waiter that died (it stopped refreshing its expiry in the thread's
waiters hash) is pruned from the queue, and a holder that died releases the lock when its TTL
runs out. The lock, the queue and the waiters share the thread's hash tag, and the script names
all three in KEYS: it works on one Redis and on a Redis Cluster alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import structlog
from redis.exceptions import RedisError

from bot.conversation.messages import ThreadKey
from bot.storage.connect import RedisClient
from bot.storage.key_layout import thread_key

log = structlog.get_logger("bot.storage.locks")

# KEYS: lock, queue, waiters. ARGV: waiter id, its order (the question's ts), lock ttl ms.
# Enqueues the waiter (or keeps it queued) and refreshes its expiry (server time); drops dead
# waiters from the head of the queue; takes the lock if it is free and this waiter is first.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], string.format('%d', now + ttl))
redis.call('PEXPIRE', KEYS[2], ttl * 20)
redis.call('PEXPIRE', KEYS[3], ttl * 20)
while true do
  local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if not head then break end
  local expiry = tonumber(redis.call('HGET', KEYS[3], head))
  if expiry and expiry > now then break end
  redis.call('ZREM', KEYS[2], head)
  redis.call('HDEL', KEYS[3], head)
end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
if head and head ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
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
        self, client: RedisClient, *, ttl_seconds: float = 30.0, poll_seconds: float = 0.1
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
        keys = [thread_key(key, "lock"), thread_key(key, "queue"), thread_key(key, "waiters")]
        waited = False
        while not await self._acquire(keys=keys, args=[token, order, self._ttl_ms]):
            if not waited:
                waited = True
                await on_wait()
            await asyncio.sleep(self._poll)

    async def _renew(self, key: ThreadKey, token: str) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            with contextlib.suppress(RedisError):
                await self._renew_or_release(
                    keys=[thread_key(key, "lock")], args=[token, self._ttl_ms]
                )
