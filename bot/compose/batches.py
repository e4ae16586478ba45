"""Builds the batch feature for the composition root: service, poller, Slack listeners."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from slack_bolt.async_app import AsyncApp

from bot.batch.api import BatchesApi
from bot.batch.plan import API_MAX_BYTES
from bot.batch.poller import BatchPoller
from bot.batch.service import BatchService, BatchSettings
from bot.batch.store import JobStore, LeaderLock
from bot.compose.accounting import budgets_of
from bot.compose.clients import Clients
from bot.config import Settings
from bot.conversation.throttle import MonotonicClock
from bot.runtime.loops import BackgroundLoops
from bot.slack.api.files import SlackFileSource
from bot.slack.handlers.access import AccessPolicy
from bot.slack.handlers.batch import BatchCommands, register_batch
from bot.slack.handlers.batch_csv import CsvFinder
from bot.slack.handlers.batch_notifier import SlackJobNotifier
from bot.storage.redis_store import RedisMarks
from bot.usage.batch_ledger import BatchUsage
from bot.usage.batches import BatchSpend
from bot.usage.holds import SpendHolds
from bot.usage.ledger import RedisLedger

STOP_GRACE_SECONDS = 10.0


def batch_settings(settings: Settings) -> BatchSettings:
    """The batch knobs from the settings."""
    return BatchSettings(
        model=settings.models_by_tier[settings.batch_tier],
        tier=settings.batch_tier,
        max_rows=settings.batch_max_rows,
        max_tokens=settings.batch_max_tokens,
        requests_per_batch=settings.batch_requests_per_batch,
        bytes_per_batch=API_MAX_BYTES,
        poll_seconds=settings.batch_poll_seconds,
        poll_max_seconds=settings.batch_poll_max_seconds,
    )


def start_batches(
    settings: Settings,
    app: AsyncApp,
    clients: Clients,
    files: SlackFileSource,
    access: AccessPolicy,
    stack: AsyncExitStack,
    loops: BackgroundLoops,
) -> asyncio.Task[None]:
    """Register /claude-batch and its buttons; start the poller as one of the supervised
    background loops (stopped with the stack)."""
    slack, redis_client = clients.workspaces, clients.redis
    service = BatchService(
        BatchesApi(clients.claude.with_options(max_retries=2)),
        JobStore(redis_client),
        batch_settings(settings),
        settings.admins,
        budget=BatchSpend(SpendHolds(redis_client), budgets_of(settings)),
    )
    clock = MonotonicClock()
    commands = BatchCommands(
        service, slack, files, clock, access, CsvFinder(), RedisMarks(redis_client)
    )
    register_batch(app, commands)
    poller = BatchPoller(
        service,
        LeaderLock(redis_client, ttl_seconds=max(10.0, settings.batch_poll_seconds * 3)),
        SlackJobNotifier(slack, clock),
        BatchUsage(RedisLedger(redis_client)),
        tick_seconds=min(settings.batch_poll_seconds, 5.0),
    )
    task = poller.start(loops)

    async def stop() -> None:
        poller.stop()  # let a round in progress (an upload, say) finish, within reason
        done, _ = await asyncio.wait({task}, timeout=STOP_GRACE_SECONDS)
        if not done:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    stack.push_async_callback(stop)
    return task
