"""Spend reservations in Redis: a question's (or a batch's) estimated cost is held against the
budgets before Claude is called, in one Lua script, so concurrent questions cannot all pass a
nearly spent budget; the hold is released when the answer ends (its real cost is in the ledger by
then). The held amounts of one person (and one channel) live in a hash, one field per hold:
`<nano-USD> <expiry, ms> <kind>`. Expired fields are dropped whenever the hash is read, so the
hold of an answer whose process died frees itself. Holds of kind `a` (answers) also count the
person's answers in flight.

    csb:v1:usage:{team}:held:user:<user>         hash hold id -> "nanos expiry kind"
    csb:v1:usage:{team}:held:channel:<channel>   the same, for the channel's monthly budget

Same hash tag as the ledger's totals (the workspace), so the script's keys share a slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.connect import RedisClient
from bot.usage.ledger import COST_FIELD
from bot.usage.ledger_keys import USAGE, day_of, day_totals_key, month_of, month_totals_key
from bot.usage.spend_limits import HoldResult

ANSWER, BATCH = "a", "b"
NO_LIMIT = -1

# KEYS: user's day totals, user's holds, channel's month totals, channel's holds.
# ARGV: hold id, nanos, ttl ms, kind, user limit, channel limit (-1: none), cap (0: none),
#       channel applies (1/0), mode ("hold" or "peek": read only), the totals' cost field.
# Returns {outcome, user spent, user held, channel spent, channel held, answers in flight};
# outcome: "ok", "cap", "user" or "channel" (which limit the estimate does not fit).
_HOLD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id, amount, ttl, kind = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local user_limit, channel_limit = tonumber(ARGV[5]), tonumber(ARGV[6])
local cap, with_channel, peek = tonumber(ARGV[7]), ARGV[8] == '1', ARGV[9] == 'peek'
local function held(key)
  local total, answers = 0, 0
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local nanos, expiry, k = string.match(all[i + 1], '^(%d+) (%d+) (%a)$')
    if nanos == nil or tonumber(expiry) <= now then
      redis.call('HDEL', key, all[i])
    elseif all[i] ~= id then
      total = total + tonumber(nanos)
      if k == 'a' then answers = answers + 1 end
    end
  end
  return total, answers
end
local function spent(key)
  return tonumber(redis.call('HGET', key, ARGV[10]) or '0')
end
local user_spent = spent(KEYS[1])
local user_held, answers = held(KEYS[2])
local channel_spent, channel_held = 0, 0
if with_channel then
  channel_spent = spent(KEYS[3])
  channel_held = held(KEYS[4])
end
local outcome = 'ok'
if kind == 'a' and cap > 0 and answers >= cap then
  outcome = 'cap'
elseif with_channel and channel_limit >= 0
    and channel_spent + channel_held + amount > channel_limit then
  outcome = 'channel'
elseif user_limit >= 0 and user_spent + user_held + amount > user_limit then
  outcome = 'user'
end
if outcome == 'ok' and not peek then
  local value = string.format('%d %d %s', amount, now + ttl, kind)
  redis.call('HSET', KEYS[2], id, value)
  if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
  if with_channel then
    redis.call('HSET', KEYS[4], id, value)
    if redis.call('PTTL', KEYS[4]) < ttl then redis.call('PEXPIRE', KEYS[4], ttl) end
  end
end
return {outcome, user_spent, user_held, channel_spent, channel_held, answers}
"""


def held_key(team: str, dimension: str, ident: str) -> str:
    """The holds of one user or channel."""
    return f"{USAGE}:{{{team}}}:held:{dimension}:{ident}"


@dataclass(frozen=True)
class HoldRequest:
    """What to hold, for whom, against which limits (nano-USD; None: no such limit)."""

    team: str
    user: str
    channel: str | None  # None: no channel budget applies (a DM, or none set)
    hold_id: str
    nanos: int
    ttl_seconds: float
    kind: str = ANSWER
    user_limit: int | None = None
    channel_limit: int | None = None
    cap: int = 0  # answers in flight per person (0: no cap)


class SpendHolds:
    """Holds, peeks and releases (redis.asyncio; raises RedisError)."""

    def __init__(self, client: RedisClient) -> None:
        self._redis = client
        self._script = client.register_script(_HOLD)

    async def hold(self, request: HoldRequest, now: datetime, *, peek: bool = False) -> HoldResult:
        """Hold the estimate if it fits every limit (and the cap); peek: only look."""
        team, channel = request.team, request.channel
        keys = [
            day_totals_key(team, day_of(now), "user", request.user),
            held_key(team, "user", request.user),
            month_totals_key(team, month_of(now), "channel", channel or "-"),
            held_key(team, "channel", channel or "-"),
        ]
        args: list[str | int] = [
            request.hold_id,
            request.nanos,
            max(1, int(request.ttl_seconds * 1000)),
            request.kind,
            NO_LIMIT if request.user_limit is None else request.user_limit,
            NO_LIMIT if request.channel_limit is None else request.channel_limit,
            request.cap,
            "1" if channel is not None else "0",
            "peek" if peek else "hold",
            COST_FIELD,
        ]
        raw = await self._script(keys=keys, args=args)
        outcome = raw[0].decode() if isinstance(raw[0], bytes) else str(raw[0])
        return HoldResult(outcome, *(int(value) for value in raw[1:]))

    async def release(self, team: str, user: str, channel: str | None, hold_id: str) -> None:
        """Drop a hold (a no-op when it is gone already)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(held_key(team, "user", user), hold_id)
            if channel is not None:
                pipe.hdel(held_key(team, "channel", channel), hold_id)
            await pipe.execute()
