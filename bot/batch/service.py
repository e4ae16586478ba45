"""Batch job operations: prepare (check + estimate), submit, cancel, retry. Shared by the Slack
buttons and the poller; every step that must happen once is claimed in Redis first.

Submitting survives a crash: the job moves to SUBMITTING (and into the poller's set) before the
first batches.create, under the submitting replica's lease, and each batch id is recorded as soon
as the API returns it; when the lease runs out the poller resumes the submission, creating only
the batches not recorded. One narrow window remains: a crash after the API accepted a batch and
before its id was stored makes that batch again (the API cannot list a job's batches by tag)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import structlog

from bot.batch.api import BatchesApi
from bot.batch.jobs import (
    CANCELING,
    DISCARDED,
    FAILED,
    LEASE_UNTIL,
    PENDING,
    PROCESSING,
    RETRYABLE,
    SUBMITTER,
    SUBMITTING,
    Job,
)
from bot.batch.plan import Estimate, Plan, build_plan, estimate, sample_indices, split
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
    submit_lease_seconds: float = 600.0  # a submission silent this long is taken over


class NotAllowed(Exception):
    """The user may not act on this job (only its owner and admins may)."""


class OverBudget(Exception):
    """The batch's estimate does not fit what is left of a budget; the message says so."""


class BatchBudget(Protocol):
    """The budgets a batch answers to (bot.usage.batches.BatchSpend)."""

    async def over(self, *, team: str, owner: str, channel: str, usd: float) -> str:
        """Why a batch estimated at `usd` cannot run now ("" when it fits)."""
        ...

    async def hold(
        self, *, team: str, owner: str, channel: str, hold_id: str, usd: float, by: str
    ) -> str:
        """Hold the estimate until release(); the refusal when it does not fit ("" when held)."""
        ...

    async def release(self, *, team: str, owner: str, channel: str, hold_id: str) -> None:
        """Drop the hold (its cost is in the ledger, or it never ran)."""
        ...


@dataclass(frozen=True)
class Prepared:
    """A job waiting for confirmation, with its estimate (and why it cannot run, if so)."""

    job: Job
    estimate: Estimate
    over_budget: str = ""


MAX_USD, REQUESTS = "max_usd", "requests"  # the estimate, kept in Job.extra for submit and retry


def hold_id(job: Job, round_: int) -> str:
    """The budget hold of one round of a job."""
    return f"batch:{job.id}:{round_}"


def estimate_usd(job: Job, rows: int | None = None) -> float:
    """The most the job's rows (or `rows` of them) can cost, from the estimate shown."""
    total = float(job.extra.get(MAX_USD) or 0.0)
    if rows is None:
        return total
    return total * rows / max(1, int(job.extra.get(REQUESTS) or 1))


class BatchService:
    """The use cases behind /claude-batch and its buttons."""

    def __init__(
        self,
        api: BatchesApi,
        store: JobStore,
        settings: BatchSettings,
        admins: frozenset[str],
        *,
        clock: Callable[[], float] = time.time,
        budget: BatchBudget | None = None,
    ) -> None:
        self.api = api
        self.store = store
        self.settings = settings
        self.admins = admins
        self._clock = clock
        self._budget = budget

    def _checked(self, data: bytes, text: str) -> tuple[Table, Template, Plan]:
        """The file's table and the plan of its requests; BatchInputError when either is bad.
        CPU-bound on a big file: run in a worker thread, off the event loop."""
        table = parse_csv(data, max_rows=self.settings.max_rows)
        template = parse_template(text, table)
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
        return table, template, plan

    async def prepare(
        self, *, team: str, channel: str, owner: str, filename: str, data: bytes, text: str
    ) -> Prepared:
        """Check the file and the template, estimate the cost, store a pending job.
        BatchInputError says what is wrong; nothing is submitted."""
        table, template, plan = await asyncio.to_thread(self._checked, data, text)
        picked = sample_indices(len(plan.requests), self.settings.samples)
        counts = await asyncio.gather(
            *(self.api.count_tokens(plan.requests[i].params) for i in picked)
        )
        model, _ = lookup(self.settings.model, self.settings.tier)
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
            extra={MAX_USD: f"{guess.max_total_usd:.9f}", REQUESTS: str(len(plan.requests))},
        )
        await self.store.create(job, table)
        over = ""
        if self._budget is not None:
            over = await self._budget.over(
                team=team, owner=owner, channel=channel, usd=guess.max_total_usd
            )
        return Prepared(job, guess, over)

    async def _hold(self, job: Job, round_: int, usd: float, by: str) -> None:
        """Hold the round's estimate against the budgets; OverBudget when it does not fit."""
        if self._budget is None:
            return
        refused = await self._budget.hold(
            team=job.team,
            owner=job.owner,
            channel=job.channel,
            hold_id=hold_id(job, round_),
            usd=usd,
            by=by,
        )
        if refused:
            log.info("batch.over_budget", job=job.id, round=round_, usd=round(usd, 6))
            raise OverBudget(refused)

    async def release_hold(self, job: Job) -> None:
        """The round's cost is in the ledger (or the round never ran): drop its hold."""
        if self._budget is not None:
            await self._budget.release(
                team=job.team, owner=job.owner, channel=job.channel, hold_id=hold_id(job, job.round)
            )

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
        if job is None or job.state != PENDING:
            return job
        await self._hold(job, job.round, estimate_usd(job), user)  # raises OverBudget
        return await self._started(job, None)

    async def retry(self, job_id: str, user: str) -> Job | None:
        """Submit the rows that did not succeed again, as a new round."""
        job = await self._allowed(job_id, user)
        if job is None or job.state not in RETRYABLE:
            return job
        table = await self.store.table(job_id)
        if table is None:
            return job
        failed = failed_rows(table, await self.store.results(job_id))
        if not failed:
            return job
        await self._hold(job, job.round + 1, estimate_usd(job, len(failed)), user)
        return await self._started(job, failed)

    async def _started(self, job: Job, only: frozenset[str] | None) -> Job | None:
        """Start the round; its hold goes if the job did not start after all (a discard won)."""
        started = await self._start(job, only=only)
        if started is None or started.state in (DISCARDED, FAILED):
            attempted = job.moved(round=job.round + (0 if only is None else 1))
            await self.release_hold(attempted)
        return started

    def _leased(self, job: Job, token: str) -> Job:
        until = self._clock() + self.settings.submit_lease_seconds
        return job.moved(extra={**job.extra, SUBMITTER: token, LEASE_UNTIL: str(until)})

    async def _start(self, job: Job, *, only: frozenset[str] | None) -> Job | None:
        """Move the job from where it rests to SUBMITTING, under this replica's lease, and have
        the poller follow it from then on (one compare-and-set: one replica wins); then submit."""
        token = uuid.uuid4().hex
        next_round = job.round + (0 if only is None else 1)

        def take(current: Job) -> Job | None:
            if current.state != job.state or current.round != job.round:
                return None
            moved = current.moved(state=SUBMITTING, round=next_round, batch_ids=(), note="")
            return self._leased(moved, token)

        started = await self.store.update(job.id, take, activate=True)
        if started is None or started.extra.get(SUBMITTER) != token:
            return started
        return await self._submit_chunks(started, token, only)

    async def resume(self, job_id: str) -> Job | None:
        """Finish the submission of a job whose submitter died (its lease ran out): the batches it
        recorded stay, the others are created now. Returns the job as stored."""
        token, now = uuid.uuid4().hex, self._clock()

        def take(current: Job) -> Job | None:
            if current.state != SUBMITTING or current.lease_until > now:
                return None
            return self._leased(current, token)

        job = await self.store.update(job_id, take)
        if job is None or job.extra.get(SUBMITTER) != token:
            return job
        log.warning("batch.submit_resumed", job=job_id, recorded=len(job.batch_ids))
        only: frozenset[str] | None = None
        if job.round > 0:  # a retry round: its rows are the ones that still have not succeeded
            table = await self.store.table(job_id)
            results = await self.store.results(job_id)
            only = failed_rows(table, results) if table is not None else frozenset()
        return await self._submit_chunks(job, token, only)

    async def _submit_chunks(self, job: Job, token: str, only: frozenset[str] | None) -> Job | None:
        """Create the round's batches not created yet, recording each id as soon as the API
        gives it (so a restart creates only the rest), then mark the job PROCESSING."""
        table = await self.store.table(job.id)
        if table is None:
            return await self._fail(job.id, token, "The job's file is no longer stored.")
        plan = build_plan(
            table,
            parse_template(job.template, table),
            model=job.model,
            max_tokens=self.settings.max_tokens,
            system=self.settings.system,
            only=only,
        )
        skipped = [RowResult(i, "errored", error=why) for i, why in plan.skipped.items()]
        await self.store.save_results(job.id, skipped)
        chunks = split(
            plan.requests,
            max_requests=self.settings.requests_per_batch,
            max_bytes=self.settings.bytes_per_batch,
        )
        for chunk in chunks[len(job.batch_ids) :]:
            try:
                batch_id = await self.api.create(chunk)
            except Exception as exc:  # any API failure: cancel what was made, tell the user
                log.warning("batch.submit_failed", job=job.id, error=type(exc).__name__)
                return await self._fail(
                    job.id, token, f"Claude did not accept the batch ({type(exc).__name__})."
                )
            if not await self._record(job.id, token, batch_id):
                log.warning("batch.submit_superseded", job=job.id, batch=batch_id)
                await self._cancel_quietly(batch_id)  # another replica took over: a duplicate
                return await self.store.get(job.id)
        log.info("batch.submitted", job=job.id, batches=len(chunks), requests=len(plan.requests))
        return await self.store.update(job.id, _processing(token, len(plan.requests)))

    async def _record(self, job_id: str, token: str, batch_id: str) -> bool:
        """Add a created batch to the job (renewing the lease); False if the lease was lost."""

        def add(current: Job) -> Job | None:
            if current.state != SUBMITTING or current.extra.get(SUBMITTER) != token:
                return None
            return self._leased(current.moved(batch_ids=(*current.batch_ids, batch_id)), token)

        stored = await self.store.update(job_id, add)
        return stored is not None and batch_id in stored.batch_ids

    async def _fail(self, job_id: str, token: str, note: str) -> Job | None:
        """The round cannot be submitted: cancel the batches it made, stop following the job."""

        def fail(current: Job) -> Job | None:
            if current.state != SUBMITTING or current.extra.get(SUBMITTER) != token:
                return None
            return current.moved(state=FAILED, note=note, extra=_without_lease(current.extra))

        failed = await self.store.update(job_id, fail)
        if failed is None or failed.state != FAILED:
            return failed
        await self.release_hold(failed)
        for made in failed.batch_ids:
            await self._cancel_quietly(made)
        await self.store.deactivate(job_id)
        return failed

    async def _cancel_quietly(self, batch_id: str) -> None:
        try:
            await self.api.cancel(batch_id)
        except Exception as exc:  # best effort: the batch then runs, unread, to its end
            log.warning("batch.cancel_failed", batch=batch_id, error=type(exc).__name__)

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


def _without_lease(extra: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in extra.items() if k not in (SUBMITTER, LEASE_UNTIL)}


def _processing(token: str, queued: int) -> Callable[[Job], Job | None]:
    """The change that ends a submission: PROCESSING, checked from now on."""

    def change(current: Job) -> Job | None:
        if current.state != SUBMITTING or current.extra.get(SUBMITTER) != token:
            return None
        return current.moved(
            state=PROCESSING,
            next_check_at=0.0,
            check_interval=0.0,
            done_count=0,
            extra={**_without_lease(current.extra), "round_rows": str(queued)},
        )

    return change
