"""The bot's Redis coordination against the session's real Redis (one server, or with
CSB_TEST_REDIS=cluster a 3-primary Redis Cluster, or =sentinel a Sentinel group): thread locks
and their queue, the in-flight journal and its orphan sweep, the chat.update budget, dedupe
marks, surface state and feedback. On a cluster, a script or transaction whose keys span hash
slots fails here (CROSSSLOT, or "non local key")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.conversation.messages import ThreadKey
from bot.storage.connect import RedisClient, close_redis, connect_url
from bot.storage.edit_rate import SharedEditBudget
from bot.storage.inflight import InflightJournal
from bot.storage.locks import ThreadLocks
from bot.storage.redis_store import RedisMarks
from bot.storage.surface_state import RedisSurfaceState

KEY = ThreadKey("T1", "C1", "1700000000.000100")


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[RedisClient]:
    connection = connect_url(redis_url)
    await connection.flushall()
    yield connection
    await close_redis(connection)


async def _nothing() -> None:
    return None


async def test_thread_lock_serves_waiters_in_order_of_their_messages(client: RedisClient) -> None:
    """Three answers for one thread queue behind each other and run one at a time, in the order
    of their Slack ts, not in the order they asked for the lock."""
    locks = ThreadLocks(client, ttl_seconds=5, poll_seconds=0.01)
    ran: list[str] = []
    running = 0

    async def answer(order: str, delay: float) -> None:
        nonlocal running
        await asyncio.sleep(delay)
        async with locks.turn(KEY, order, _nothing):
            running += 1
            assert running == 1
            ran.append(order)
            await asyncio.sleep(0.05)
            running -= 1

    await asyncio.gather(answer("1.0", 0), answer("3.0", 0.01), answer("2.0", 0.02))
    assert ran == ["1.0", "2.0", "3.0"]


async def test_a_dead_waiter_at_the_head_of_the_queue_is_skipped(client: RedisClient) -> None:
    """A waiter whose process died (it stopped refreshing its place) no longer blocks the
    thread: once its expiry passes, the next waiter gets the lock."""
    dead = ThreadLocks(client, ttl_seconds=0.3, poll_seconds=0.01)
    waiting = asyncio.Event()

    async def dies_while_waiting() -> None:
        async with dead.turn(KEY, "1.0", _nothing):
            await asyncio.sleep(60)

    async def on_wait() -> None:
        waiting.set()

    holder = asyncio.create_task(dies_while_waiting())
    await asyncio.sleep(0.05)  # it holds the lock; a second waiter queues behind it
    ghost = asyncio.create_task(_queue(dead, "2.0", on_wait))
    await waiting.wait()
    holder.cancel()
    ghost.cancel()  # killed while queued: its lock is released, its queue entry stays
    await asyncio.gather(holder, ghost, return_exceptions=True)
    live = ThreadLocks(client, ttl_seconds=0.3, poll_seconds=0.01)
    async with asyncio.timeout(5):
        async with live.turn(KEY, "3.0", _nothing):
            pass


async def _queue(locks: ThreadLocks, order: str, on_wait: Callable[[], Awaitable[None]]) -> None:
    async with locks.turn(KEY, order, on_wait):
        await asyncio.sleep(60)


async def test_orphans_of_a_silent_replica_are_taken_once(client: RedisClient) -> None:
    """Replica A records an answer then goes silent; after its heartbeat expires, replica B's
    sweep takes the record exactly once, while B's own answer stays."""
    replica_a = InflightJournal(client, heartbeat_seconds=0.2)
    replica_b = InflightJournal(client, heartbeat_seconds=30)
    await replica_a.beat()
    await replica_b.beat()
    await replica_a.shown("answer-a", "C1", "1.0", "half an answer")
    await replica_b.shown("answer-b", "C1", "2.0", "B's answer")
    assert await replica_b.take_orphans() == []
    await asyncio.sleep(0.3)
    taken = await asyncio.gather(replica_b.take_orphans(), replica_b.take_orphans())
    orphans = [orphan for batch in taken for orphan in batch]
    assert [(o.instance, o.message_ts, o.text) for o in orphans] == [
        (replica_a.instance, "1.0", "half an answer")
    ]
    await replica_b.closed("answer-b")
    assert await replica_b.take_orphans() == []


async def test_a_forgotten_replica_is_swept_at_once(client: RedisClient) -> None:
    """A replica known to be dead (forget) has its answers taken at the next sweep, before its
    heartbeat would have expired; a restored orphan is taken again later."""
    dead = InflightJournal(client, heartbeat_seconds=30)
    sweeper = InflightJournal(client, heartbeat_seconds=30)
    await dead.beat()
    await dead.shown("answer", "C1", "1.0", "text")
    await sweeper.forget(dead.instance)
    [orphan] = await sweeper.take_orphans()
    await sweeper.restore(orphan)
    assert await sweeper.take_orphans() == [orphan]


async def test_the_edit_budget_is_shared_and_backs_off(client: RedisClient) -> None:
    """The chat.update bucket hands out its burst, then asks to wait; a 429 blocks everyone."""
    budget = SharedEditBudget(client, per_minute=60, burst=3, reserve=0)
    waits = [await budget.try_take("T1", young=True) for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] > 0
    await budget.back_off("T2", 5)
    assert await budget.try_take("T2") > 4


async def test_young_answers_edit_before_older_ones(client: RedisClient) -> None:
    """An older answer's interim edit leaves a token for answers whose first words are not
    shown yet: once older ones have drained the bucket to it, a young one still edits. The
    budget reads as low (a first message is worth holding for its first words) when it cannot
    give one more young answer an edit after those already waiting."""
    budget = SharedEditBudget(client, per_minute=6, burst=4, reserve=1)
    assert not await budget.low("T1", waiting=2)
    older = [await budget.try_take("T1") for _ in range(3)]
    assert older[:2] == [0.0, 0.0]
    assert older[2] > 0
    assert not await budget.low("T1")
    assert await budget.low("T1", waiting=1)
    assert await budget.try_take("T1", young=True) == 0.0
    assert await budget.try_take("T1", young=True) > 0
    assert await budget.low("T1")


async def test_marks_and_surface_state(client: RedisClient) -> None:
    """A dedupe mark is claimed once; a title is claimed once per thread; feedback returns what
    the person said before."""
    marks = RedisMarks(client)
    assert await marks.claim("msg:T1:C1:1.0")
    assert not await marks.claim("msg:T1:C1:1.0")
    state = RedisSurfaceState(client, 3600)
    assert await state.claim_title(KEY)
    assert not await state.claim_title(KEY)
    assert await state.record_feedback("T1", "C1", "1.0", "U1", "positive") is None
    assert await state.record_feedback("T1", "C1", "1.0", "U1", "negative") == "positive"
    assert await state.feedback("T1", "C1", "1.0") == {"U1": "negative"}
