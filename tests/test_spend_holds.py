"""Spend reservations against a real Redis (embedded Valkey): the Lua script that holds an
estimate atomically, the in-flight cap, expiry, release, and the guard around them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import redis.asyncio as redis

from bot.conversation.messages import Question, ThreadKey, Usage
from bot.conversation.usage import PlannedCall
from bot.metrics.registry import BotMetrics
from bot.storage.connect import RedisClient, close_redis, connect_url
from bot.usage.guard import InFlightLimits, LedgerGuard
from bot.usage.holds import BATCH, HoldRequest, SpendHolds
from bot.usage.ledger import RedisLedger
from bot.usage.records import CallRecord, to_nanos
from bot.usage.spend_limits import Budgets, call_estimate_usd

NOW = datetime.now(UTC)
CENT = to_nanos(0.01)


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[RedisClient]:
    connection = connect_url(redis_url)
    await connection.flushall()
    yield connection
    await close_redis(connection)


async def _spend(client: RedisClient, user: str, usd: float, channel: str = "C1") -> None:
    await RedisLedger(client).add(
        CallRecord(
            team="T",
            channel=channel,
            user=user,
            feature="mention",
            model="claude-sonnet-5-5",
            usage=Usage(10, 10),
            cost_nanos=to_nanos(usd),
            uncached_nanos=to_nanos(usd),
            priced=True,
            at=NOW,
        )
    )


def _request(hold_id: str, nanos: int, **changes: object) -> HoldRequest:
    values: dict[str, object] = {
        "team": "T",
        "user": "U1",
        "channel": None,
        "hold_id": hold_id,
        "nanos": nanos,
        "ttl_seconds": 60.0,
        "user_limit": to_nanos(1.00),
    }
    values.update(changes)
    return HoldRequest(**values)  # type: ignore[arg-type]


async def test_concurrent_holds_pass_only_while_the_estimates_fit(client: RedisClient) -> None:
    """$0.65 spent of $1.00: of 20 concurrent $0.10 holds exactly 3 pass; the refused ones
    saw the others' holds."""
    await _spend(client, "U1", 0.65)
    holds = SpendHolds(client)
    results = await asyncio.gather(
        *(holds.hold(_request(f"a{i}", 10 * CENT), NOW) for i in range(20))
    )
    assert sum(r.ok for r in results) == 3
    refused = [r for r in results if not r.ok]
    assert {r.outcome for r in refused} == {"user"}
    assert all(r.user_held == 30 * CENT for r in refused)


async def test_release_and_expiry_free_a_hold(client: RedisClient) -> None:
    """A released hold frees its amount at once; one whose process died expires on its own."""
    holds = SpendHolds(client)
    assert (await holds.hold(_request("a", 60 * CENT), NOW)).ok
    assert not (await holds.hold(_request("b", 60 * CENT), NOW)).ok
    await holds.release("T", "U1", None, "a")
    assert (await holds.hold(_request("b", 60 * CENT, ttl_seconds=0.2), NOW)).ok
    await asyncio.sleep(0.3)
    assert (await holds.hold(_request("c", 60 * CENT), NOW)).ok


async def test_the_cap_counts_answers_in_flight_but_not_batches(client: RedisClient) -> None:
    """With a cap of 2, a third answer is refused (outcome "cap") while a batch hold is not
    an answer in flight; holding the same id again replaces it (a double click)."""
    holds = SpendHolds(client)
    unlimited = {"user_limit": None, "cap": 2}
    assert (await holds.hold(_request("batch", 0, kind=BATCH, **unlimited), NOW)).ok
    assert (await holds.hold(_request("a1", 0, **unlimited), NOW)).ok
    assert (await holds.hold(_request("a2", 0, **unlimited), NOW)).ok
    third = await holds.hold(_request("a3", 0, **unlimited), NOW)
    assert (third.outcome, third.answers) == ("cap", 2)
    assert (await holds.hold(_request("a2", 0, **unlimited), NOW)).ok, "same id: replaced"
    again = await holds.hold(_request("x", 90 * CENT, kind=BATCH), NOW)
    assert again.ok
    assert (await holds.hold(_request("x", 95 * CENT, kind=BATCH), NOW)).ok, "not counted twice"


async def test_the_channel_budget_counts_everyones_holds(client: RedisClient) -> None:
    """A channel's monthly budget sees the holds of every person asking there."""
    holds = SpendHolds(client)
    channel = {"channel": "C1", "channel_limit": to_nanos(0.25), "user_limit": None}
    assert (await holds.hold(_request("a", 20 * CENT, **channel), NOW)).ok
    other = await holds.hold(_request("b", 20 * CENT, user="U2", **channel), NOW)
    assert (other.outcome, other.channel_held) == ("channel", 20 * CENT)


def _question(user: str = "U1") -> Question:
    return Question(ThreadKey("T", "C1", "1.0"), user, "hi", "1.0", False, "1.0")


async def test_the_guard_holds_refuses_and_releases(client: RedisClient) -> None:
    """The guard reserves a Sonnet call's estimate, refuses the next one that does not fit
    with a message, exempts admins from budgets but not from the cap, and releases."""
    await _spend(client, "U1", 0.80)
    guard = LedgerGuard(
        RedisLedger(client),
        Budgets(user_daily_usd=1.0, admins=frozenset({"UADMIN"})),
        BotMetrics(),
        holds=SpendHolds(client),
        in_flight=InFlightLimits(per_user=1),
    )
    planned = PlannedCall("claude-sonnet-5-5", 1000, 8192)
    assert call_estimate_usd(planned) == pytest.approx(0.08392)
    first = await guard.reserve(_question(), planned)
    assert first.allowed
    assert first.hold
    assert "80 % used" in first.warning
    second = await guard.reserve(_question(), planned)
    assert not second.allowed
    assert "answer on the way" in second.message
    await guard.release(_question(), first)
    third = await guard.reserve(_question(), PlannedCall("claude-sonnet-5-5", 1000, 30_000))
    assert "could cost up to $0.30, and only $0.20 of your daily" in third.message
    admin = await guard.reserve(_question("UADMIN"), PlannedCall("claude-opus-5-5", 10**5, 10**5))
    assert admin.allowed
    assert not admin.warning
    assert not (await guard.reserve(_question("UADMIN"), planned)).allowed, "admins: capped"


async def test_the_guard_lets_questions_through_when_redis_is_down() -> None:
    """Redis unreachable: the reservation fails open (as the budget check always did)."""
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    guard = LedgerGuard(
        RedisLedger(dead),
        Budgets(user_daily_usd=1.0),
        BotMetrics(),
        holds=SpendHolds(dead),
        in_flight=InFlightLimits(per_user=1),
    )
    verdict = await guard.reserve(_question(), PlannedCall("claude-sonnet-5-5", 10, 10))
    assert verdict.allowed
    assert not verdict.hold
    await guard.release(_question(), verdict)
    await dead.aclose()
