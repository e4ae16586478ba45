"""The poller: one leader across replicas (a Redis lock) follows every running job, edits its
status message, and when its batches end, stores the results, records the cost in the ledger
and hands the finished CSV to Slack, once (Redis SET NX marks: `ledger:<batch>` before each
ledger entry, `finish:<round>` before the upload: at most once, even across a crash). It also
resumes a submission whose replica died midway (see service.py)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog
from redis.exceptions import RedisError

from bot.batch.jobs import (
    ACTIVE,
    CANCELED,
    CANCELING,
    DONE,
    FAILED,
    SUBMITTING,
    Job,
    next_interval,
    progress_text,
)
from bot.batch.results import RowResult, Summary, batch_cost_usd, output_csv, summarise
from bot.batch.service import BatchService
from bot.batch.store import LeaderLock
from bot.claude.catalog import CATALOG
from bot.runtime.loops import BackgroundLoops

log = structlog.get_logger("bot.batch.poller")

ROUND_STUCK_AFTER_SECONDS = 1800.0  # a round uploads results files: it may take a while


class JobNotifier(Protocol):
    """What the poller shows in Slack."""

    async def progress(self, job: Job, text: str) -> None:
        """Edit the job's status message."""

    async def finished(self, job: Job, data: bytes, summary: Summary, cost_usd: float) -> None:
        """Upload the results file into the thread and post the summary."""

    async def failed(self, job: Job) -> None:
        """Say that the job could not be submitted (job.note says why)."""


UsageRecorder = Callable[[Job, list[RowResult]], Awaitable[float]]  # returns the batch's USD


class BatchPoller:
    """Follows running jobs while this replica leads."""

    def __init__(
        self,
        service: BatchService,
        leader: LeaderLock,
        notifier: JobNotifier,
        record_usage: UsageRecorder,
        *,
        tick_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._service = service
        self._store = service.store
        self._api = service.api
        self._leader = leader
        self._notifier = notifier
        self._record_usage = record_usage
        self._tick = tick_seconds
        self._clock = clock
        self._stopping = asyncio.Event()
        self._adopted = False

    def start(self, loops: BackgroundLoops) -> asyncio.Task[None]:
        """Poll, as a supervised loop (a failed round is logged, the next one runs), until
        stop() or until the task is cancelled; steps down on the way out."""
        return loops.start(
            "batch_poller",
            self.tick,
            self._tick,
            stop=self._stopping,
            stuck_after=ROUND_STUCK_AFTER_SECONDS,
            on_end=self._step_down,
        )

    def stop(self) -> None:
        """Stop after the round in progress (a result being uploaded is finished first)."""
        self._stopping.set()

    async def _step_down(self) -> None:
        with contextlib.suppress(RedisError):
            await self._leader.release()

    async def tick(self) -> None:
        """One round: lead or not, and if leading, check every job that is due."""
        try:
            if not await self._leader.hold():
                return
            if not self._adopted:  # once, by the leader: jobs an older version stored
                if moved := await self._store.adopt_legacy_jobs():
                    log.info("batch.legacy_jobs_adopted", jobs=moved)
                self._adopted = True
            for job_id in await self._store.active():
                await self._check_guarded(job_id)
        except RedisError as exc:
            log.warning("batch.poll_redis_unavailable", error=type(exc).__name__)

    async def _check_guarded(self, job_id: str) -> None:
        try:
            await self.check(job_id)
        except RedisError:
            raise
        except Exception as exc:  # one broken job must not stop the others
            log.warning("batch.check_failed", job=job_id, error=type(exc).__name__)
            await self._store.update(job_id, lambda j: self._later(j, j.done_count))

    def _later(self, job: Job, done: int) -> Job:
        interval = next_interval(
            job.check_interval,
            first=self._service.settings.poll_seconds,
            most=self._service.settings.poll_max_seconds,
        )
        return job.moved(
            check_interval=interval, next_check_at=self._clock() + interval, done_count=done
        )

    async def check(self, job_id: str) -> None:
        """Check one job if it is due: progress, or finish it; resume a stalled submission."""
        job = await self._store.get(job_id)
        if job is None or job.state not in (*ACTIVE, SUBMITTING):
            await self._store.deactivate(job_id)
            return
        if job.state == SUBMITTING:
            await self._resume(job)
            return
        if job.next_check_at > self._clock():
            return
        statuses = [await self._api.status(b) for b in job.batch_ids]
        done = sum(s.finished for s in statuses)
        if not all(s.ended for s in statuses):
            await self._progress(job, done)
            return
        await self._finish(job)

    async def _resume(self, job: Job) -> None:
        if job.lease_until > self._clock():
            return  # its submitter may still be at it
        resumed = await self._service.resume(job.id)
        if resumed is not None and resumed.state == FAILED:
            await self._notifier.failed(resumed)

    async def _progress(self, job: Job, done: int) -> None:
        total = int(job.extra.get("round_rows", job.rows))
        if done != job.done_count or job.check_interval == 0:
            log.info("batch.progress", job=job.id, done=done, total=total)
            await self._notifier.progress(job, progress_text(job, done, total))
        await self._store.update(job.id, lambda j: self._later(j, done))

    async def _finish(self, job: Job) -> None:
        """Every batch ended: store the results (again, if a crash came before: idempotent),
        record each batch's cost once, end the job, and hand the file to Slack once."""
        for batch_id in job.batch_ids:
            came = await self._api.results(batch_id)
            await self._store.save_results(job.id, came)
            if await self._store.claim(job.id, f"ledger:{batch_id}"):
                await self._record_usage(job, came)
        await self._service.release_hold(job)  # the real cost is in the ledger now
        state = CANCELED if job.state == CANCELING else DONE
        await self._store.update(
            job.id,
            lambda j: j.moved(state=state) if j.state in ACTIVE and j.round == job.round else None,
        )
        await self._store.deactivate(job.id)
        table = await self._store.table(job.id)
        if table is None or not await self._store.claim(job.id, f"finish:{job.round}"):
            return
        results = await self._store.results(job.id)
        summary = summarise(table, results)
        cost = await self._job_cost(job, list(results.values()))
        log.info("batch.finished", job=job.id, counts=summary.counts, state=state)
        data = output_csv(table, results)
        await self._notifier.finished(job.moved(state=state), data, summary, cost)

    async def _job_cost(self, job: Job, results: list[RowResult]) -> float:
        return batch_cost_usd(CATALOG.get(job.model), results)
