"""When routines run: APScheduler 3 (cron triggers in the owner's timezone, jobs kept in Redis
by its RedisJobStore), led by one replica at a time.

APScheduler computes the occurrences (CronTrigger, DST-aware) and keeps each routine's next run
time in Redis, so a restart loses nothing; `coalesce` makes the occurrences missed during an
outage run once, late, not once per missed slot. APScheduler 3 does not let two schedulers share a
job store, so every replica starts its scheduler paused and only the holder of a Redis lease
(`LeaderLock`, renewed each tick) resumes it; the others stand by and take over when the lease
expires. Each occurrence is also claimed with SET NX before it runs, so even two leaders in a
handover overlap run it once.

The scheduler runs in its own thread (RedisJobStore is synchronous) and hands each occurrence to
the bot's event loop (`LoopExecutor`); adding and removing jobs goes through a worker thread.

One job store serves every workspace: its keys are named by `scope` (the one workspace's team
with SLACK_BOT_TOKEN, as before; `ALL_WORKSPACES` under OAuth), each job's id is its routine's id
(unique in the store) and its one argument the routine's workspace id. A job made before jobs
carried their workspace has none: it belongs to the scope's workspace.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from datetime import datetime
from typing import Any

import structlog
from apscheduler.executors.base import BaseExecutor
from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.redis import RedisJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING
from apscheduler.triggers.cron import CronTrigger

from bot.batch.store import LeaderLock
from bot.routines.store import Routine
from bot.storage.connect import SyncRedisClient
from bot.storage.key_layout import PREFIX
from bot.tools.slack.since import zone

log = structlog.get_logger("bot.routines")

# routine id, its workspace id, scheduled (epoch s)
Fire = Callable[[str, str, float], Coroutine[Any, Any, None]]
JOB_FUNC = "bot.routines.scheduler:occurrence"  # the job's callable, as APScheduler stores it
ALL_WORKSPACES = "all"  # the scope of the job store under OAuth (team ids start with T)


def occurrence(*_args: object) -> None:
    """Stands for a routine's run in the job store; `LoopExecutor` runs the real one."""


class LoopExecutor(BaseExecutor):  # type: ignore[misc]  # BaseExecutor is untyped
    """Runs each due occurrence as a coroutine on the bot's event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fire: Fire, scope: str) -> None:
        super().__init__()
        self._loop = loop
        self._fire = fire
        self._scope = scope

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        scheduled = run_times[-1].timestamp()  # coalesced: the latest missed occurrence
        workspace = str(job.args[0]) if job.args else self._scope
        future: Future[None] = asyncio.run_coroutine_threadsafe(
            self._fire(job.id, workspace, scheduled), self._loop
        )

        def done(result: Future[None]) -> None:
            error = None if result.cancelled() else result.exception()
            if error is None:
                self._run_job_success(job.id, [])
            else:
                self._run_job_error(job.id, error)

        future.add_done_callback(done)


def trigger(routine: Routine) -> CronTrigger:
    """The routine's cron trigger, in its owner's timezone."""
    return CronTrigger(
        day_of_week=routine.day_of_week,
        hour=routine.hour,
        minute=routine.minute,
        second=routine.second,
        timezone=zone(routine.tz),
    )


class ClientJobStore(RedisJobStore):  # type: ignore[misc]  # APScheduler is untyped
    """APScheduler's Redis job store on a client we made (a single server, a cluster's or a
    Sentinel group's primary), not one it makes from connection arguments."""

    def __init__(self, client: SyncRedisClient, *, jobs_key: str, run_times_key: str) -> None:
        super().__init__(jobs_key=jobs_key, run_times_key=run_times_key)
        self.redis = client


class RoutineScheduler:
    """APScheduler over Redis, resumed only on the replica holding the lease."""

    def __init__(
        self,
        client: SyncRedisClient,
        scope: str,
        lease: LeaderLock,
        fire: Fire,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        tag = f"{PREFIX}:{{routines:{scope}}}"  # one hash slot: the store's MULTI spans both
        store = ClientJobStore(client, jobs_key=f"{tag}:jobs", run_times_key=f"{tag}:run_times")
        self._lease = lease
        self._scheduler = BackgroundScheduler(
            jobstores={"default": store},
            executors={"default": LoopExecutor(loop, fire, scope)},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone="UTC",
        )

    def start(self) -> None:
        """Start paused: only the lease holder processes jobs."""
        self._scheduler.start(paused=True)

    @property
    def leading(self) -> bool:
        """Whether this replica's scheduler is the one running jobs."""
        return bool(self._scheduler.state == STATE_RUNNING)

    async def tick(self) -> None:
        """Take or renew the lease; resume on taking it, pause on losing it, and look at the
        job store again (another replica may have added a routine)."""
        leads = await self._lease.hold()
        state = self._scheduler.state
        if leads and state == STATE_PAUSED:
            log.info("routines.leading")
            self._scheduler.resume()
        elif leads:
            self._scheduler.wakeup()
        elif state == STATE_RUNNING:
            log.info("routines.standing_by")
            self._scheduler.pause()

    async def schedule(self, routine: Routine) -> datetime | None:
        """Add (or replace) the routine's job, carrying its workspace; its next run time."""
        return await self.schedule_trigger(
            routine.id, trigger(routine), routine.label, workspace=routine.team
        )

    async def schedule_trigger(
        self, job_id: str, when: Any, name: str = "", *, workspace: str | None = None
    ) -> datetime | None:
        """Add (or replace) a job with this APScheduler trigger; its next run time."""
        args = [workspace] if workspace is not None else []

        def add() -> Any:
            return self._scheduler.add_job(
                JOB_FUNC,
                trigger=when,
                args=args,
                id=job_id,
                name=name[:200] or job_id,
                replace_existing=True,
            )

        job = await asyncio.to_thread(add)
        return getattr(job, "next_run_time", None)

    async def taken(self, routine_id: str) -> bool:
        """Whether a job of this id exists (of any workspace: the store is shared)."""
        return await asyncio.to_thread(self._scheduler.get_job, routine_id) is not None

    async def next_run(self, routine_id: str) -> datetime | None:
        """When it runs next (None: no such job)."""
        job = await asyncio.to_thread(self._scheduler.get_job, routine_id)
        return getattr(job, "next_run_time", None) if job is not None else None

    async def unschedule(self, routine_id: str) -> None:
        """Remove the routine's job (gone already is fine)."""
        with contextlib.suppress(JobLookupError):
            await asyncio.to_thread(self._scheduler.remove_job, routine_id)

    async def stop(self) -> None:
        """Shut the scheduler down and step down from the lease."""
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self._scheduler.shutdown, False)
        with contextlib.suppress(Exception):
            await self._lease.release()
