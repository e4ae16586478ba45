"""Batch job operations: prepare (check + estimate), submit, cancel, retry. Shared by the Slack
buttons and the poller; every step that must happen once is claimed in Redis first."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import structlog

from bot.batch.api import BatchesApi
from bot.batch.jobs import ACTIVE, CANCELING, FAILED, PENDING, PROCESSING, SUBMITTING, Job
from bot.batch.plan import Estimate, build_plan, estimate, sample_indices, split
from bot.batch.results import RowResult, failed_rows
from bot.batch.store import JobStore
from bot.batch.table import BatchInputError, Table, parse_csv
from bot.batch.template import Template, parse_template
from bot.claude.catalog import lookup

log = structlog.get_logger("bot.batch")


@dataclass(frozen=True)
class BatchSettings:
    """The batch knobs from the settings."""

    model: str
    tier: str
    max_rows: int
    max_tokens: int
    requests_per_batch: int
    bytes_per_batch: int
    poll_seconds: float
    poll_max_seconds: float
    samples: int = 5
    system: str | None = None


class NotAllowed(Exception):
    """The user may not act on this job (only its owner and admins may)."""


@dataclass(frozen=True)
class Prepared:
    """A job waiting for confirmation, with its estimate."""

    job: Job
    estimate: Estimate


class BatchService:
    """The use cases behind /claude-batch and its buttons."""

    def __init__(
        self, api: BatchesApi, store: JobStore, settings: BatchSettings, admins: frozenset[str]
    ) -> None:
        self.api = api
        self.store = store
        self.settings = settings
        self.admins = admins

    def _template(self, data: bytes, text: str) -> tuple[Table, Template]:
        table = parse_csv(data, max_rows=self.settings.max_rows)
        return table, parse_template(text, table)

    async def prepare(
        self, *, team: str, channel: str, owner: str, filename: str, data: bytes, text: str
    ) -> Prepared:
        """Check the file and the template, estimate the cost, store a pending job.
        BatchInputError says what is wrong; nothing is submitted."""
        table, template = self._template(data, text)
        plan = build_plan(
            table,
            template,
            model=self.settings.model,
            max_tokens=self.settings.max_tokens,
            system=self.settings.system,
        )
        if not plan.requests:
            raise BatchInputError("The template gives an empty prompt for every row.")
        split(plan.requests, max_requests=self.settings.requests_per_batch)  # raises if too big
        picked = sample_indices(len(plan.requests), self.settings.samples)
        counts = await asyncio.gather(
            *(self.api.count_tokens(plan.requests[i].params) for i in picked)
        )
        model, _ = lookup(self.settings.model, self.settings.tier)  # type: ignore[arg-type]
        guess = estimate(model, len(plan.requests), list(counts), self.settings.max_tokens)
        job = Job(
            id=uuid.uuid4().hex[:16],
            team=team,
            channel=channel,
            thread_ts="",
            owner=owner,
            model=self.settings.model,
            template=template.text,
            filename=filename,
            rows=len(table.rows),
            created_at=time.time(),
        )
        await self.store.create(job, table)
        return Prepared(job, guess)

    async def attach_thread(self, job_id: str, thread_ts: str, status_ts: str) -> None:
        """Note where the job talks: the thread, and the message that shows its status."""
        await self.store.update(job_id, lambda j: j.moved(thread_ts=thread_ts, status_ts=status_ts))

    async def _allowed(self, job_id: str, user: str) -> Job | None:
        job = await self.store.get(job_id)
        if job is not None and not job.may_control(user, self.admins):
            raise NotAllowed
        return job

    async def discard(self, job_id: str, user: str) -> Job | None:
        """The pending job is not wanted (its Cancel button before confirming)."""
        if await self._allowed(job_id, user) is None:
            return None
        return await self.store.update(
            job_id, lambda j: j.moved(state="discarded") if j.state == PENDING else None
        )

    async def submit(self, job_id: str, user: str) -> Job | None:
        """Confirm: submit every row (once, whoever clicks how often). None: unknown job."""
        job = await self._allowed(job_id, user)
        if job is None or job.state != PENDING or not await self.store.claim(job_id, "submit:0"):
            return job
        return await self._submit_round(job, only=None)

    async def retry(self, job_id: str, user: str) -> Job | None:
        """Submit the rows that did not succeed again, as a new round."""
        job = await self._allowed(job_id, user)
        if job is None or job.state in ACTIVE or job.state in (PENDING, SUBMITTING):
            return job
        table = await self.store.table(job_id)
        if table is None or not await self.store.claim(job_id, f"submit:{job.round + 1}"):
            return job
        failed = failed_rows(table, await self.store.results(job_id))
        if not failed:
            return job
        job = await self.store.update(job_id, lambda j: j.moved(round=j.round + 1)) or job
        return await self._submit_round(job, only=failed)

    async def _submit_round(self, job: Job, *, only: frozenset[str] | None) -> Job | None:
        table = await self.store.table(job.id)
        if table is None:
            return None
        template = parse_template(job.template, table)
        plan = build_plan(
            table,
            template,
            model=job.model,
            max_tokens=self.settings.max_tokens,
            system=self.settings.system,
            only=only,
        )
        await self.store.update(job.id, lambda j: j.moved(state=SUBMITTING))
        skipped = [RowResult(i, "errored", error=why) for i, why in plan.skipped.items()]
        await self.store.save_results(job.id, skipped)
        chunks = split(
            plan.requests,
            max_requests=self.settings.requests_per_batch,
            max_bytes=self.settings.bytes_per_batch,
        )
        ids: list[str] = []
        try:
            for chunk in chunks:
                ids.append(await self.api.create(chunk))
        except Exception as exc:  # any API failure: cancel what was made, tell the user
            log.warning("batch.submit_failed", job=job.id, error=type(exc).__name__)
            for made in ids:
                await self.api.cancel(made)
            note = f"Claude did not accept the batch ({type(exc).__name__})."
            return await self.store.update(job.id, lambda j: j.moved(state=FAILED, note=note))
        log.info("batch.submitted", job=job.id, batches=len(ids), requests=len(plan.requests))
        queued = len(plan.requests)
        updated = await self.store.update(
            job.id,
            lambda j: j.moved(
                state=PROCESSING,
                batch_ids=tuple(ids),
                next_check_at=0.0,
                check_interval=0.0,
                done_count=0,
                extra={**j.extra, "round_rows": str(queued)},
            ),
        )
        await self.store.activate(job.id)
        return updated

    async def cancel(self, job_id: str, user: str) -> Job | None:
        """Cancel a running job's batches; what finished before stays in the results."""
        job = await self._allowed(job_id, user)
        if job is None or job.state != PROCESSING:
            return job
        for batch_id in job.batch_ids:
            await self.api.cancel(batch_id)
        log.info("batch.cancel_requested", job=job_id, by=user)
        return await self.store.update(
            job_id, lambda j: j.moved(state=CANCELING, next_check_at=0.0)
        )
