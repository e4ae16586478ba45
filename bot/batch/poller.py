"""The poller: one leader across replicas (a Redis lock) follows every running job, edits its
status message, and when its batches end, stores the results, records the cost in the ledger
and hands the finished CSV to Slack, once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog
from redis.exceptions import RedisError

from bot.batch.api import BatchStatus
from bot.batch.jobs import CANCELED, CANCELING, DONE, Job, next_interval, progress_text
from bot.batch.results import RowResult, Summary, batch_cost_usd, output_csv, summarise
from bot.batch.service import BatchService
from bot.batch.store import LeaderLock
from bot.claude.catalog import CATALOG

log = structlog.get_logger("bot.batch.poller")


class JobNotifier(Protocol):
    """What the poller shows in Slack."""

    async def progress(self, job: Job, text: str) -> None:
        """Edit the job's status message."""

    async def finished(self, job: Job, data: bytes, summary: Summary, cost_usd: float) -> None:
        """Upload the results file into the thread and post the summary."""


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

    async def run(self) -> None:
        """Poll forever (cancel the task to stop); steps down on the way out."""
        try:
            while True:
                await self.tick()
                await asyncio.sleep(self._tick)
        finally:
            await asyncio.shield(self._step_down())

    async def _step_down(self) -> None:
        with contextlib.suppress(RedisError):
            await self._leader.release()

    async def tick(self) -> None:
        """One round: lead or not, and if leading, check every job that is due."""
        try:
            if not await self._leader.hold():
                return
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
        """Check one job if it is due: progress, or finish it."""
        job = await self._store.get(job_id)
        if job is None:
            await self._store.deactivate(job_id)
            return
        if job.next_check_at > self._clock():
            return
        statuses = [await self._api.status(b) for b in job.batch_ids]
        done = sum(s.finished for s in statuses)
        if not all(s.ended for s in statuses):
            await self._progress(job, done)
            return
        await self._finish(job, statuses)

    async def _progress(self, job: Job, done: int) -> None:
        total = int(job.extra.get("round_rows", job.rows))
        if done != job.done_count or job.check_interval == 0:
            await self._notifier.progress(job, progress_text(job, done, total))
        await self._store.update(job.id, lambda j: self._later(j, done))

    async def _finish(self, job: Job, statuses: list[BatchStatus]) -> None:
        for batch_id in job.batch_ids:
            if await self._store.claim(job.id, f"ingest:{batch_id}"):
                try:
                    came = await self._api.results(batch_id)
                except Exception:
                    await self._store.unclaim(job.id, f"ingest:{batch_id}")
                    raise
                await self._store.save_results(job.id, came)
                await self._record_usage(job, came)
        if not await self._store.claim(job.id, f"finish:{job.round}"):
            return
        table = await self._store.table(job.id)
        if table is None:
            await self._store.deactivate(job.id)
            return
        results = await self._store.results(job.id)
        summary = summarise(table, results)
        cost = await self._job_cost(job, list(results.values()))
        state = CANCELED if job.state == CANCELING else DONE
        finished = await self._store.update(job.id, lambda j: j.moved(state=state))
        await self._store.deactivate(job.id)
        log.info("batch.finished", job=job.id, counts=summary.counts, state=state)
        await self._notifier.finished(finished or job, output_csv(table, results), summary, cost)

    async def _job_cost(self, job: Job, results: list[RowResult]) -> float:
        return batch_cost_usd(CATALOG.get(job.model), results)
