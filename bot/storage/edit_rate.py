"""One chat.update budget per workspace, shared by every answer and every replica (Redis).

Slack's chat.update is Tier 3: about 50 calls a minute per workspace for the whole app. A token
bucket in Redis keeps all concurrent answers inside it: interim edits only spend tokens above a
reserve (they are skipped otherwise, and the next edit carries the newer text), final edits wait
for a token. Young answers (their first words not yet shown) come first: an older answer's
interim edit leaves one more token for them. After a 429 every replica backs off until Slack's
Retry-After has passed.
"""

from __future__ import annotations

import asyncio

import structlog
from redis.exceptions import RedisError

from bot.storage.connect import RedisClient
from bot.storage.key_layout import PREFIX

log = structlog.get_logger("bot.storage.edit_rate")

# KEYS: bucket. ARGV: rate per second, capacity, reserve (tokens kept for final edits).
# Returns the seconds to wait, "0" when a token was taken.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, capacity, reserve = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'blocked')
local tokens = tonumber(b[1]) or capacity
local ts = tonumber(b[2]) or now
local blocked = tonumber(b[3]) or 0
tokens = math.min(capacity, tokens + (now - ts) * rate)
local wait = 0
if now < blocked then
  wait = blocked - now
elseif tokens - 1 < reserve then
  wait = (1 + reserve - tokens) / rate
else
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], 3600)
return tostring(wait)
"""
# KEYS: bucket. ARGV: rate per second, capacity. Returns the tokens there are now (read only).
_LEVEL = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, capacity = tonumber(ARGV[1]), tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'blocked')
local tokens = tonumber(b[1]) or capacity
local ts = tonumber(b[2]) or now
if now < (tonumber(b[3]) or 0) then
  return '0'
end
return tostring(math.min(capacity, tokens + (now - ts) * rate))
"""
# KEYS: bucket. ARGV: seconds to block everyone.
_BLOCK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('HSET', KEYS[1], 'blocked', tostring(now + tonumber(ARGV[1])), 'tokens', '0')
redis.call('EXPIRE', KEYS[1], 3600)
return 1
"""

FINAL_WAIT_LIMIT_SECONDS = 120.0  # past this a final edit goes out anyway (and may meet a 429)
YOUNG_PRIORITY = 1  # tokens an older answer's interim edit leaves for young answers


class SharedEditBudget:
    """EditBudget over Redis, per workspace."""

    def __init__(
        self, client: RedisClient, *, per_minute: float, burst: int, reserve: int = 2
    ) -> None:
        self._rate = per_minute / 60.0
        self._burst = max(burst, reserve + YOUNG_PRIORITY + 1)
        self._reserve = reserve
        self._take_script = client.register_script(_TAKE)
        self._block_script = client.register_script(_BLOCK)
        self._level_script = client.register_script(_LEVEL)

    async def try_take(self, team: str, *, young: bool = False) -> float:
        """A token for an interim edit, only if one is free above the finals' reserve (and,
        unless the answer is young, above the young answers' priority): 0; else the seconds
        until one is due."""
        return await self._wait_for(team, self._reserve + (0 if young else YOUNG_PRIORITY))

    async def low(self, team: str, *, waiting: int = 0) -> bool:
        """Whether the tokens free above the finals' reserve cannot give one more young answer
        an edit now, after the `waiting` ones: then a first message is worth holding for its
        first words (the edit that would show them may be long in coming)."""
        try:
            raw = await self._level_script(keys=[_bucket(team)], args=[self._rate, self._burst])
        except RedisError:
            return False
        return float(raw) - self._reserve < waiting + 1

    async def take(self, team: str) -> None:
        """A token for a final edit, waiting for one (bounded: the edit goes out regardless)."""
        waited = 0.0
        while waited < FINAL_WAIT_LIMIT_SECONDS:
            wait = await self._wait_for(team, 0)
            if wait == 0:
                return
            step = min(wait, FINAL_WAIT_LIMIT_SECONDS - waited)
            await asyncio.sleep(step)
            waited += step
        log.warning("budget.final_edit_waited_out", seconds=waited)

    async def back_off(self, team: str, seconds: float) -> None:
        """Slack said 429: no replica edits in this workspace until Retry-After has passed."""
        try:
            await self._block_script(keys=[_bucket(team)], args=[seconds])
        except RedisError:
            log.warning("budget.unavailable")

    async def _wait_for(self, team: str, reserve: int) -> float:
        try:
            raw = await self._take_script(
                keys=[_bucket(team)], args=[self._rate, self._burst, reserve]
            )
        except RedisError:
            return 0.0  # without Redis, edits go out and Slack's 429s pace them
        return float(raw)


def _bucket(team: str) -> str:
    return f"{PREFIX}:budget:{team}:chat.update"
