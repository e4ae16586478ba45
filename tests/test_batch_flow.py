"""The batch service and poller against the fake Claude's Batches API and a real Redis, with an
in-memory Slack side: end to end, restarts, two replicas, cancel, retry, bad input."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from anthropic import AsyncAnthropic
from redis.asyncio.cluster import RedisCluster

from bot.batch.api import BatchesApi
from bot.batch.jobs import CANCELED, DONE, FAILED, PROCESSING, SUBMITTING, Job
from bot.batch.poller import BatchPoller
from bot.batch.results import RowResult, Summary
from bot.batch.service import BatchService, BatchSettings, NotAllowed, OverBudget
from bot.batch.store import ACTIVE_KEY, JobStore, LeaderLock
from bot.batch.table import BatchInputError
from bot.conversation.messages import Usage
from bot.storage.connect import close_redis, connect_url
from bot.usage.batches import BatchSpend
from bot.usage.holds import SpendHolds
from bot.usage.ledger import RedisLedger
from bot.usage.records import CallRecord, to_nanos
from bot.usage.spend_limits import Budgets
from testing.fakes.claude_server import FakeClaude

MODEL = "claude-haiku-5-5"
ROWS = 50
ADMINS = frozenset({"UADMIN"})
CSV = ("id,title\n" + "".join(f"{i},ticket {i}\n" for i in range(1, ROWS + 1))).encode()


def _now() -> datetime:
    return datetime.now(UTC)


class Notes:
    """An in-memory JobNotifier and usage recorder."""

    def __init__(self) -> None:
        self.progress: list[str] = []
        self.finished: list[tuple[Job, bytes, Summary]] = []
        self.failed: list[Job] = []
        self.recorded: list[int] = []

    async def progress_(self, job: Job, text: str) -> None:
        self.progress.append(text)

    async def finished_(self, job: Job, data: bytes, summary: Summary, cost: float) -> None:
        self.finished.append((job, data, summary))

    async def failed_(self, job: Job) -> None:
        self.failed.append(job)

    async def record(self, job: Job, results: list[RowResult]) -> float:
        self.recorded.append(len(results))
        return 0.0


class Notifier:
    def __init__(self, notes: Notes) -> None:
        self.progress = notes.progress_
        self.finished = notes.finished_
        self.failed = notes.failed_


@pytest.fixture
async def world(redis_url: str) -> AsyncIterator[dict[str, Any]]:
    async with FakeClaude() as fake:
        client = connect_url(redis_url)
        await client.flushall()
        sdk = AsyncAnthropic(base_url=fake.url, api_key=fake.api_key, max_retries=0)
        settings = BatchSettings(MODEL, "haiku", 1000, 64, 20, 10**6, 0.01, 0.05)
        service = BatchService(BatchesApi(sdk), JobStore(client), settings, frozenset({"UADMIN"}))
        yield {"fake": fake, "redis": client, "service": service, "notes": Notes()}
        await sdk.close()
        await close_redis(client)


def poller(world: dict[str, Any]) -> BatchPoller:
    notes: Notes = world["notes"]
    return BatchPoller(
        world["service"],
        LeaderLock(world["redis"], ttl_seconds=5),
        Notifier(notes),
        notes.record,
        tick_seconds=0.01,
    )


async def prepared(world: dict[str, Any], text: str = "Classify {title}") -> Job:
    service: BatchService = world["service"]
    ready = await service.prepare(
        team="T", channel="C", owner="UANA", filename="t.csv", data=CSV, text=text
    )
    await service.attach_thread(ready.job.id, "1.0", "1.0")
    return ready.job


async def test_fifty_rows_end_to_end_matched_despite_shuffled_results(
    world: dict[str, Any],
) -> None:
    """Estimate first; 3 batches of ≤20; results land on their rows; finished exactly once."""
    service: BatchService = world["service"]
    ready = await service.prepare(
        team="T", channel="C", owner="UANA", filename="t.csv", data=CSV, text="Classify {title}"
    )
    assert ready.estimate.rows == ROWS
    assert ready.estimate.input_usd > 0
    assert world["fake"].batches.batches == {}  # nothing submitted before confirmation
    job = await service.submit(ready.job.id, "UANA")
    assert job is not None
    assert len(job.batch_ids) == 3
    assert await service.submit(ready.job.id, "UANA") is not None  # a double click
    assert len(world["fake"].batches.batches) == 3
    for _ in range(3):
        await poller(world).tick()
    notes: Notes = world["notes"]
    assert len(notes.finished) == 1
    finished, data, summary = notes.finished[0]
    assert finished.state == DONE
    assert summary.counts == {"succeeded": ROWS}
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["id", "title", "answer", "error"]
    for number, line in enumerate(rows[1:], start=1):
        assert line[2] == f"Answer {number}: Classify ticket {number}"
    assert sum(notes.recorded) == ROWS


async def test_progress_then_a_new_poller_resumes_and_finishes_once(world: dict[str, Any]) -> None:
    """While held, progress is shown; a fresh poller (a restart) finishes the job, once."""
    world["fake"].batches.hold()
    job = await prepared(world)
    await world["service"].submit(job.id, "UANA")
    first = poller(world)
    await first.tick()
    assert world["notes"].progress[-1].endswith("*0 / 50* done.")
    await first._leader.release()  # the process died; its lock is gone
    world["fake"].batches.release()
    second, third = poller(world), poller(world)
    for _ in range(3):
        await asyncio.sleep(0.06)  # past the backoff (0.01 s growing to 0.05 s)
        await second.tick()
        await third.tick()
    assert len(world["notes"].finished) == 1


async def test_two_replicas_only_the_leader_polls(world: dict[str, Any]) -> None:
    """Two pollers: only one holds the lock, so only one edits the status message."""
    world["fake"].batches.hold()
    job = await prepared(world)
    await world["service"].submit(job.id, "UANA")
    one, two = poller(world), poller(world)
    assert await one._leader.hold()
    assert not await two._leader.hold()
    await two.tick()
    assert world["notes"].progress == []
    await one.tick()
    assert len(world["notes"].progress) == 1


async def test_cancel_by_owner_or_admin_only_and_retry_failed_rows(world: dict[str, Any]) -> None:
    """Others may not cancel; the owner can; canceled rows can then be retried."""
    world["fake"].batches.hold()
    service: BatchService = world["service"]
    job = await prepared(world)
    await service.submit(job.id, "UANA")
    with pytest.raises(NotAllowed):
        await service.cancel(job.id, "UBOB")
    await service.cancel(job.id, "UADMIN")
    leader = poller(world)
    await leader.tick()
    finished, _, summary = world["notes"].finished[0]
    assert finished.state == CANCELED
    assert summary.counts == {"canceled": ROWS}
    world["fake"].batches.release()
    retried = await service.retry(job.id, "UANA")
    assert retried is not None
    assert retried.round == 1
    await leader.tick()
    assert world["notes"].finished[-1][2].counts == {"succeeded": ROWS}


@pytest.mark.parametrize(
    ("data", "text", "message"),
    [
        (CSV, "Summarise {body}", "does not have"),
        (b"", "Summarise {title}", "empty"),
        (b"title\n" + b"x\n" * 1001, "{title}", "more than 1,000 rows"),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_submitted(
    world: dict[str, Any], data: bytes, text: str, message: str
) -> None:
    """A bad template or file: a clear message, no batch created."""
    with pytest.raises(BatchInputError, match=message):
        await world["service"].prepare(
            team="T", channel="C", owner="U", filename="f.csv", data=data, text=text
        )
    assert world["fake"].batches.batches == {}


class Crash(BaseException):
    """The process dies here (not an Exception: nothing in the bot catches it)."""


class Api(BatchesApi):
    """The real adapter, with a hook run before each create (to crash, or to let time pass)."""

    def __init__(self, sdk: AsyncAnthropic, before_create: Any = None) -> None:
        super().__init__(sdk)
        self.creates = 0
        self.before_create = before_create

    async def create(self, requests: Any) -> str:
        self.creates += 1
        if self.before_create is not None:
            await self.before_create(self.creates)
        return await super().create(requests)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def replica(world: dict[str, Any], api: BatchesApi, clock: Clock) -> BatchService:
    """Another service over the same Redis and fake Claude, with its own API hook and clock."""
    service: BatchService = world["service"]
    return BatchService(api, service.store, service.settings, service.admins, clock=clock)


def poller_of(world: dict[str, Any], service: BatchService, clock: Clock) -> BatchPoller:
    notes: Notes = world["notes"]
    lock = LeaderLock(world["redis"], ttl_seconds=5)
    return BatchPoller(service, lock, Notifier(notes), notes.record, tick_seconds=0.01, clock=clock)


async def test_a_crash_midway_through_submitting_is_resumed_without_duplicates(
    world: dict[str, Any],
) -> None:
    """The submitter dies after the first of 3 batches: the job is SUBMITTING and followed;
    the poller leaves it alone while the lease runs, then creates only the 2 missing batches."""
    sdk = world["service"].api._client
    clock = Clock()

    async def crash_on_second(n: int) -> None:
        if n == 2:
            raise Crash

    job = await prepared(world)
    with pytest.raises(Crash):
        await replica(world, Api(sdk, crash_on_second), clock).submit(job.id, "UANA")
    stored = await world["service"].store.get(job.id)
    assert stored is not None
    assert (stored.state, len(stored.batch_ids)) == (SUBMITTING, 1)
    assert await world["service"].store.active() == [job.id]
    survivor = replica(world, Api(sdk), clock)
    leader = poller_of(world, survivor, clock)
    await leader.tick()
    assert len(world["fake"].batches.batches) == 1  # the lease still runs: not taken over
    clock.now += survivor.settings.submit_lease_seconds + 1
    for _ in range(3):
        await leader.tick()
        clock.now += 1
    assert len(world["fake"].batches.batches) == 3
    [(finished, _, summary)] = world["notes"].finished
    assert (finished.state, summary.counts) == (DONE, {"succeeded": ROWS})


async def test_a_submitter_that_lost_its_lease_cancels_its_duplicate(
    world: dict[str, Any],
) -> None:
    """A submitter stalls past its lease; another replica resumes and finishes the submission;
    the stalled one's late batch is canceled, not recorded: the job keeps exactly 3 batches."""
    sdk = world["service"].api._client
    clock = Clock()
    other = replica(world, Api(sdk), clock)
    job = await prepared(world)

    async def stall_then_be_overtaken(n: int) -> None:
        if n == 2:
            clock.now += other.settings.submit_lease_seconds + 1
            resumed = await other.resume(job.id)
            assert resumed is not None
            assert resumed.state == PROCESSING

    slow = replica(world, Api(sdk, stall_then_be_overtaken), clock)
    await slow.submit(job.id, "UANA")
    stored = await world["service"].store.get(job.id)
    assert stored is not None
    assert (stored.state, len(stored.batch_ids)) == (PROCESSING, 3)
    made = world["fake"].batches.batches
    assert len(made) == 4
    [late] = set(made) - set(stored.batch_ids)
    assert made[late].canceled_at is not None


async def test_a_resumed_submission_that_fails_tells_the_user_and_cancels(
    world: dict[str, Any],
) -> None:
    """If the API refuses the rest when the poller resumes, the job fails (the status says so),
    the batch made before the crash is canceled and the poller stops following the job."""
    sdk = world["service"].api._client
    clock = Clock()

    async def crash_on_second(n: int) -> None:
        if n == 2:
            raise Crash

    async def refuse(n: int) -> None:
        raise RuntimeError("refused")

    job = await prepared(world)
    with pytest.raises(Crash):
        await replica(world, Api(sdk, crash_on_second), clock).submit(job.id, "UANA")
    clock.now += 10_000
    await poller_of(world, replica(world, Api(sdk, refuse), clock), clock).tick()
    [failed] = world["notes"].failed
    assert failed.state == FAILED
    assert "did not accept" in failed.note
    assert [b.canceled_at is not None for b in world["fake"].batches.batches.values()] == [True]
    assert await world["service"].store.active() == []


async def test_two_pollers_finishing_at_once_upload_and_record_once(
    world: dict[str, Any],
) -> None:
    """Two checks of the same ended job racing (a lock handover, say): results are stored by
    both, but the ledger gets each batch once and the file is handed to Slack once."""
    job = await prepared(world)
    await world["service"].submit(job.id, "UANA")
    one, two = poller(world), poller(world)
    await asyncio.gather(one.check(job.id), two.check(job.id))
    notes: Notes = world["notes"]
    assert len(notes.finished) == 1
    assert sum(notes.recorded) == ROWS
    assert len(world["fake"].batches.results_served) == 6  # 3 batches, read by both


def _budgeted(world: dict[str, Any]) -> BatchService:
    """The world's service with 10,000 output tokens a row (50 rows: at most $0.125 on Haiku
    5.5 with the discount) and a $1.00 daily budget per person."""
    base: BatchService = world["service"]
    settings = dataclasses.replace(base.settings, max_tokens=10_000)
    budget = BatchSpend(SpendHolds(world["redis"]), Budgets(user_daily_usd=1.0, admins=ADMINS))
    return BatchService(base.api, base.store, settings, ADMINS, budget=budget)


async def _spent(world: dict[str, Any], usd: float) -> None:
    await RedisLedger(world["redis"]).add(
        CallRecord("T", "C", "UANA", "mention", MODEL, Usage(1, 1), to_nanos(usd), 0, True, _now())
    )


async def test_a_batch_over_the_budget_is_refused_at_estimate_and_at_submit(
    world: dict[str, Any],
) -> None:
    """$0.90 of $1.00 spent: the estimate says the batch does not fit; Run is refused with the
    same words and nothing is submitted; an admin's Run goes through."""
    service = _budgeted(world)
    await _spent(world, 0.90)
    ready = await service.prepare(
        team="T", channel="C", owner="UANA", filename="t.csv", data=CSV, text="Classify {title}"
    )
    assert ready.estimate.max_total_usd == pytest.approx(0.125, rel=0.01)
    assert "this batch could cost up to $0.13, and only $0.10 of your daily" in ready.over_budget
    with pytest.raises(OverBudget, match="this batch could cost up to"):
        await service.submit(ready.job.id, "UANA")
    assert world["fake"].batches.batches == {}
    job = await service.store.get(ready.job.id)
    assert job is not None
    assert job.state == "pending"
    started = await service.submit(ready.job.id, "UADMIN")
    assert started is not None
    assert started.state == PROCESSING


async def test_a_submitted_batch_holds_its_estimate_until_its_cost_is_recorded(
    world: dict[str, Any],
) -> None:
    """$0.80 spent: a first $0.125 batch fits and is held, so a second one is refused at
    submit (estimates alone both fitted); once the first ended, the second runs."""
    service = _budgeted(world)
    await _spent(world, 0.80)
    one, two = [
        await service.prepare(
            team="T", channel="C", owner="UANA", filename="t.csv", data=CSV, text="Do {title}"
        )
        for _ in range(2)
    ]
    assert one.over_budget == two.over_budget == ""
    await service.submit(one.job.id, "UANA")
    with pytest.raises(OverBudget, match="once the answers in progress are paid for"):
        await service.submit(two.job.id, "UANA")
    world["service"] = service
    await poller(world).tick()
    assert len(world["notes"].finished) == 1
    second = await service.submit(two.job.id, "UANA")
    assert second is not None
    assert second.state == PROCESSING


async def test_jobs_stored_under_the_old_key_names_are_adopted_by_the_leader(
    world: dict[str, Any],
) -> None:
    """A running job an older version stored (`csb:v1:batch:job:<id>`, listed in
    `csb:v1:batch:active`) is moved to the `{batch}` keys by the leader's first round, once,
    and then followed to its end as usual."""
    client = world["redis"]
    if isinstance(client, RedisCluster):
        pytest.skip("a cluster never held the old layout: its transactions could not run there")
    world["fake"].batches.hold()
    job = await prepared(world)
    await world["service"].submit(job.id, "UANA")
    await client.rename(f"csb:v1:{{batch}}:job:{job.id}", f"csb:v1:batch:job:{job.id}")
    await client.delete(ACTIVE_KEY)
    await client.sadd("csb:v1:batch:active", job.id)
    assert await world["service"].store.get(job.id) is None  # invisible under the new layout
    world["fake"].batches.release()
    leader = poller(world)
    for _ in range(3):
        await leader.tick()
    [(finished, _, summary)] = world["notes"].finished
    assert (finished.id, finished.state, summary.counts) == (job.id, DONE, {"succeeded": ROWS})
    assert not await client.exists(f"csb:v1:batch:job:{job.id}", "csb:v1:batch:active")
    assert await JobStore(client).adopt_legacy_jobs() == 0  # once per Redis
