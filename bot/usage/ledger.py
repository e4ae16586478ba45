"""The usage ledger in Redis: one stream entry per Claude call, and totals per day per user,
channel, model and feature (hashes), per month per user and channel, with sorted sets for top
lists. Everything in one pipeline per call; every key with a TTL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.storage.connect import RedisClient
from bot.usage.ledger_keys import (
    DAY_DIMENSIONS,
    DAY_TTL_SECONDS,
    MONTH_DIMENSIONS,
    MONTH_TTL_SECONDS,
    RANKED_DIMENSIONS,
    calls_key,
    day_of,
    day_rank_key,
    day_totals_key,
    last_days,
    month_of,
    month_totals_key,
)
from bot.usage.records import CallRecord, Totals, to_usd

STREAM_MAX_ENTRIES = 200_000  # per day, approximate: a safety net on top of the TTL
COST_FIELD = "cost_nanos"


def _idents(record: CallRecord) -> dict[str, str]:
    return {
        "user": record.user,
        "channel": record.channel,
        "model": record.model,
        "feature": record.feature,
    }


class RedisLedger:
    """Writes call records and reads totals back (redis.asyncio; raises RedisError)."""

    def __init__(self, client: RedisClient) -> None:
        self._redis = client

    async def add(self, record: CallRecord) -> None:
        """Append the record and add it to every total it counts in (one round trip)."""
        team, day, month = record.team, day_of(record.at), month_of(record.at)
        increments = nonzero(Totals.of(record).as_increments())
        idents = _idents(record)
        async with self._redis.pipeline(transaction=True) as pipe:
            stream = calls_key(team, day)
            entry: dict[Any, Any] = dict(record.stream_fields())
            pipe.xadd(stream, entry, maxlen=STREAM_MAX_ENTRIES, approximate=True)
            pipe.expire(stream, DAY_TTL_SECONDS)
            totals = [day_totals_key(team, day, dim, idents[dim]) for dim in DAY_DIMENSIONS]
            monthly = [month_totals_key(team, month, dim, idents[dim]) for dim in MONTH_DIMENSIONS]
            for key, ttl in [
                *((k, DAY_TTL_SECONDS) for k in totals),
                *((k, MONTH_TTL_SECONDS) for k in monthly),
            ]:
                for field, amount in increments.items():
                    pipe.hincrby(key, field, amount)
                pipe.expire(key, ttl)
            for dim in RANKED_DIMENSIONS:
                rank = day_rank_key(team, day, dim)
                pipe.zincrby(rank, record.cost_nanos, idents[dim])
                pipe.expire(rank, DAY_TTL_SECONDS)
            await pipe.execute()

    async def spend(
        self, team: str, user: str, channel: str | None, now: datetime
    ) -> tuple[float, float | None]:
        """USD the user spent today and the channel this month (None: not asked), in one read."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(day_totals_key(team, day_of(now), "user", user), COST_FIELD)
            if channel is not None:
                pipe.hget(month_totals_key(team, month_of(now), "channel", channel), COST_FIELD)
            values = await pipe.execute()
        user_usd = to_usd(int(values[0] or 0))
        return user_usd, (to_usd(int(values[1] or 0)) if channel is not None else None)

    async def day_totals(self, team: str, day: str, dimension: str, ident: str) -> Totals:
        """One day's totals of a user, channel, model or feature."""
        return Totals.from_hash(
            await self._redis.hgetall(day_totals_key(team, day, dimension, ident))
        )

    async def month_totals(self, team: str, month: str, dimension: str, ident: str) -> Totals:
        """One month's totals of a user or channel."""
        raw = await self._redis.hgetall(month_totals_key(team, month, dimension, ident))
        return Totals.from_hash(raw)

    async def top(
        self, team: str, dimension: str, now: datetime, days: int, limit: int = 5
    ) -> list[tuple[str, float]]:
        """The biggest spenders (users, channels or models) over the last `days` days, in USD."""
        keys = [day_rank_key(team, day, dimension) for day in last_days(now, days)]
        ranked: list[Any] = await self._redis.zunion(keys, withscores=True) or []
        pairs = [(_text(member), float(score)) for member, score in ranked]
        pairs.sort(key=lambda pair: (-pair[1], pair[0]))
        return [(member, to_usd(score)) for member, score in pairs[:limit]]

    async def records(self, team: str, day: str) -> list[dict[str, str]]:
        """One day's call records, oldest first (for tests and audits)."""
        entries: list[Any] = await self._redis.xrange(calls_key(team, day)) or []
        return [{_text(k): _text(v) for k, v in fields.items()} for _, fields in entries]


def nonzero(increments: dict[str, int]) -> dict[str, int]:
    """The increments that change a total (a missing field reads as 0); the call count always,
    so every total a call counts in exists."""
    return {field: n for field, n in increments.items() if n or field == "calls"}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
