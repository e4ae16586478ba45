"""The composition root: settings in, a running bot out. Dependencies are passed, not global."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import anthropic
import redis.asyncio as redis
import structlog
from redis.exceptions import RedisError
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.askcode.service import AskCodeService
from bot.claude.catalog import CATALOG, ModelInfo, Tier, lookup
from bot.claude.client import AnthropicChatModel
from bot.claude.files import AnthropicFileStore
from bot.compose.accounting import Accounting
from bot.compose.askcode import build_ask_code
from bot.compose.batches import start_batches
from bot.compose.surfaces import AiSurfaces
from bot.config import Settings
from bot.conversation.display import failure_text, is_status
from bot.conversation.metering import Unmetered
from bot.conversation.ordering import INTERRUPTED
from bot.conversation.ports import AttachmentReader, ChatModel, UsageGuard
from bot.conversation.throttle import EditPolicy, MonotonicClock
from bot.conversation.tiers import tier
from bot.conversation.turn import TurnDeps, TurnSettings
from bot.health import BEAT_SECONDS, HEARTBEAT_FILE, write_heartbeat
from bot.metrics.registry import BotMetrics
from bot.runtime.lag import LagMonitor
from bot.runtime.loops import BackgroundLoops
from bot.runtime.predecessor import InstanceFiles
from bot.runtime.startup import SlackIdentity, StartupError, check_services
from bot.slack.api.files import SlackFileSource
from bot.slack.api.people import PeopleDirectory
from bot.slack.api.thread_reader import SlackThreadReader
from bot.slack.api.web import close_web_client, web_client
from bot.slack.handlers.access import AccessPolicy, parse_ids
from bot.slack.handlers.commands import CommandHandler, register_commands
from bot.slack.handlers.events import EventHandler, TaskTracker, register
from bot.slack.sinks.native_stream import update_finished
from bot.storage.edit_rate import SharedEditBudget
from bot.storage.embedded import EmbeddedRedis
from bot.storage.eviction import warn_if_evicting
from bot.storage.inflight import InflightAnswer, InflightJournal
from bot.storage.locks import ThreadLocks
from bot.storage.redis_store import RedisMarks, RedisThreadStore
from bot.vision.documents import pdf_page_limit
from bot.vision.reader import FileAttachmentReader

log = structlog.get_logger("bot")

__all__ = ["StartupError", "run"]


async def connect_redis(settings: Settings, stack: AsyncExitStack) -> redis.Redis:
    """REDIS_URL's server, or the embedded one under BOT_DATA_DIR."""
    if settings.redis_url:
        url = settings.redis_url
        log.info("redis.external")
    else:
        embedded = EmbeddedRedis(settings.data_dir)
        url = await asyncio.to_thread(embedded.start)
        stack.callback(embedded.stop)
    client = redis.Redis.from_url(url, health_check_interval=30, socket_connect_timeout=5)
    stack.push_async_callback(client.aclose)
    try:
        await client.ping()
    except RedisError as exc:
        raise StartupError(
            f"Redis is not reachable ({type(exc).__name__}); check REDIS_URL."
        ) from None
    await warn_if_evicting(client)
    return client


def turn_settings(settings: Settings) -> TurnSettings:
    """The core's knobs from the settings."""
    variables = {
        model_id: tier(name).model_variable for name, model_id in settings.tier_models.items()
    }
    return TurnSettings(
        system_prompt=settings.system_prompt,
        max_tokens=settings.max_tokens,
        models_by_tier=settings.models_by_tier,
        model_variables=variables,
        edit_policy=EditPolicy.from_setting(settings.edit_policy, settings.edit_interval_seconds),
        thinking_by_tier=settings.thinking_by_tier,
        display_names={
            name: lookup(model_id, name)[0].display_name
            for name, model_id in settings.models_by_tier.items()
        },
        show_thinking=settings.show_thinking,
        input_budget_by_tier={
            name: input_budget(lookup(model_id, name)[0], settings)
            for name, model_id in settings.models_by_tier.items()
        },
    )


def input_budget(model: ModelInfo, settings: Settings) -> int:
    """Tokens a request's input may use: the context window less the answer's room (and a
    margin for the estimate), capped by BOT_MAX_INPUT_TOKENS."""
    room = min(settings.max_tokens, model.max_output)
    fits = int((model.context_window - room) * 0.9)
    return min(fits, settings.max_input_tokens)


def warn_unknown_models(settings: Settings) -> dict[str, Tier]:
    """Log a warning for each configured model id the catalog does not know."""
    tiers: dict[str, Tier] = {}
    for name, model_id in settings.models_by_tier.items():
        tiers[model_id] = name
        if model_id not in CATALOG:
            log.warning("model.unknown", model=model_id, tier=name, cost_estimate=False)
    return tiers


def build_claude(settings: Settings, stack: AsyncExitStack) -> AnthropicChatModel:
    """The Claude adapter over the official SDK (its own retries off: ours apply)."""
    claude = anthropic.AsyncAnthropic(
        api_key=settings.anthropic_api_key.get_secret_value(),
        base_url=settings.anthropic_base_url,
        max_retries=0,  # AnthropicChatModel retries, and never a spend limit
        timeout=settings.claude_timeout_seconds,
    )
    stack.push_async_callback(claude.close)
    return AnthropicChatModel(
        claude,
        warn_unknown_models(settings),
        settings.claude_max_retries,
        stall_seconds=settings.claude_stall_seconds,
    )


def build_attachments(
    settings: Settings, slack: AsyncWebClient, stack: AsyncExitStack
) -> FileAttachmentReader:
    """Shared files: downloaded from Slack's file hosts only, converted, kept by the Files API."""
    source = SlackFileSource(
        slack,
        settings.slack_bot_token.get_secret_value(),
        allowed_hosts=settings.file_hosts,
        max_bytes=settings.file_max_bytes,
    )
    stack.push_async_callback(source.close)
    files_client = anthropic.AsyncAnthropic(
        api_key=settings.anthropic_api_key.get_secret_value(),
        base_url=settings.anthropic_base_url,
        timeout=settings.claude_timeout_seconds,
    )
    stack.push_async_callback(files_client.close)
    models = [lookup(model_id, "sonnet")[0] for model_id in settings.models_by_tier.values()]
    return FileAttachmentReader(
        source,
        AnthropicFileStore(files_client),
        max_image_edge=lambda model_id: lookup(model_id, "sonnet")[0].max_image_edge,
        pdf_max_pages=pdf_page_limit(models),
    )


def build_events(
    settings: Settings,
    redis_client: redis.Redis,
    slack: AsyncWebClient,
    identity: SlackIdentity,
    model: ChatModel,
    journal: InflightJournal,
    attachments: AttachmentReader | None = None,
    usage: UsageGuard | None = None,
    code: AskCodeService | None = None,
) -> EventHandler:
    """The event handler with everything a turn needs."""
    clock = MonotonicClock()
    marks = RedisMarks(redis_client)
    people = PeopleDirectory(slack, marks)
    deps = TurnDeps(
        store=RedisThreadStore(redis_client, settings.history_ttl_seconds),
        model=model,
        reader=SlackThreadReader(slack, people, identity.bot_user_id),
        clock=clock,
        settings=turn_settings(settings),
        attachments=attachments,
        usage=usage or Unmetered(),
        code=code,
    )
    return EventHandler(
        turn=deps,
        marks=marks,
        people=people,
        client=slack,
        clock=clock,
        bot_user_id=identity.bot_user_id,
        message_chars=settings.message_chars,
        tasks=TaskTracker(),
        gate=ThreadLocks(redis_client, ttl_seconds=settings.lock_ttl_seconds),
        budget=SharedEditBudget(
            redis_client,
            per_minute=settings.slack_updates_per_minute,
            burst=settings.slack_update_burst,
        ),
        journal=journal,
        turn_deadline_seconds=settings.turn_deadline_seconds,
        placeholder_delay=settings.placeholder_delay_seconds,
        access=AccessPolicy(
            users=parse_ids(settings.allowed_users),
            channels=parse_ids(settings.allowed_channels),
            allow_external=settings.allow_external_users,
        ),
    )


async def run(settings: Settings) -> None:
    """Start everything, serve Socket Mode until SIGTERM/SIGINT, then shut down cleanly."""
    loops = BackgroundLoops()
    async with AsyncExitStack() as stack:
        stack.push_async_callback(loops.cancel_all)
        redis_client = await connect_redis(settings, stack)
        slack = web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
        stack.push_async_callback(close_web_client, slack)
        identity = await check_services(settings, slack)
        journal = InflightJournal(redis_client, heartbeat_seconds=settings.heartbeat_seconds)
        instances = InstanceFiles(settings.data_dir)
        await release_dead_predecessors(journal, instances)
        instances.register(journal.instance)
        loops.start("orphan_sweeper", sweeper(journal, slack), settings.heartbeat_seconds / 3)
        accounting = Accounting.build(settings, redis_client)
        accounting.count_rate_limits(slack)
        start_lag_monitor(loops, accounting.metrics, stack)
        events = build_events(
            settings,
            redis_client,
            slack,
            identity,
            accounting.meter(build_claude(settings, stack)),
            journal,
            build_attachments(settings, slack, stack),
            accounting.guard,
            code := build_ask_code(settings, stack),
        )
        app = AsyncApp(client=slack, request_verification_enabled=False)
        register(app, events)
        register_commands(
            app,
            CommandHandler(
                events, slack, events.clock, identity.bot_name, accounting.reporter, code=code
            ),
        )
        start_batches(settings, app, slack, redis_client, events.access, stack, loops)
        surfaces = AiSurfaces.build(
            settings, redis_client, slack, events, accounting.metrics, accounting.reporter
        )
        surfaces.attach(app, events)  # native streaming, prompts, Home tab, feedback
        handler = AsyncSocketModeHandler(app, settings.slack_app_token.get_secret_value())
        await handler.connect_async()  # type: ignore[no-untyped-call]
        await accounting.serve(
            settings,
            stack,
            slack_connected=handler.client.is_connected,
            client=redis_client,
            in_flight=lambda: events.tasks.running,
            loops=loops.healthy,
        )
        heartbeat = beat(settings.data_dir / HEARTBEAT_FILE, handler.client.is_connected, loops)
        loops.start("heartbeat_file", heartbeat, BEAT_SECONDS)
        log.info("bot.ready", team=identity.team_id, bot_user=identity.bot_user_id)
        await wait_for_stop_signal()
        log.info("bot.stopping", answers_in_flight=events.tasks.running)
        await handler.disconnect_async()  # type: ignore[no-untyped-call]
        await events.tasks.drain(settings.shutdown_grace_seconds)
        await loops.cancel(("heartbeat_file", "orphan_sweeper"))
        with contextlib.suppress(RedisError):
            await journal.stop()
        instances.remove(journal.instance)
        await handler.close_async()  # type: ignore[no-untyped-call]


def start_lag_monitor(loops: BackgroundLoops, metrics: BotMetrics, stack: AsyncExitStack) -> None:
    """Measure the event loop's lag (csb_event_loop_lag_seconds) and log its stalls."""
    monitor = LagMonitor(metrics.observe_loop_lag)
    monitor.start_watchdog()
    stack.callback(monitor.stop_watchdog)
    loops.start("loop_lag", monitor.tick, monitor.every)


async def release_dead_predecessors(journal: InflightJournal, instances: InstanceFiles) -> None:
    """Processes of this host and data dir that are gone (killed): drop their heartbeats, so
    the first sweep marks their answers now rather than when the heartbeats expire."""
    for instance in instances.dead():
        try:
            await journal.forget(instance)
        except RedisError as exc:
            log.warning("sweep.predecessor_not_released", error=type(exc).__name__)
            continue
        instances.remove(instance)
        log.info("sweep.predecessor_gone", instance=instance)


def beat(
    path: Path, is_connected: Callable[[], Awaitable[bool]], loops: BackgroundLoops
) -> Callable[[], Awaitable[None]]:
    """One heartbeat-file step: written while Slack is connected and no loop is dead."""

    async def step() -> None:
        if await is_connected() and await loops.healthy():
            await write_heartbeat(path)

    return step


def sweeper(journal: InflightJournal, slack: AsyncWebClient) -> Callable[[], Awaitable[None]]:
    """One sweep: keep this replica's heartbeat, and mark answers whose replica died."""

    async def step() -> None:
        await journal.beat()
        for orphan in await journal.take_orphans():
            await mark_interrupted(slack, journal, orphan)

    return step


async def mark_interrupted(
    slack: AsyncWebClient, journal: InflightJournal, orphan: InflightAnswer
) -> None:
    """Edit an abandoned answer's last message to say it was interrupted; when Slack could not
    be reached, put the record back for the next sweep."""
    partial = "" if is_status(orphan.text) else orphan.text
    text = failure_text(partial, INTERRUPTED)
    try:
        await update_finished(MonotonicClock(), slack, orphan.channel, orphan.message_ts, text)
        log.info("sweep.marked_interrupted", channel=orphan.channel, ts=orphan.message_ts)
    except SlackApiError as exc:  # Slack's answer (message gone, channel archived): final
        log.warning("sweep.mark_failed", error=exc.response.get("error"))
    except Exception as exc:  # network, 429: try again at the next sweep
        log.warning("sweep.mark_retried", error=type(exc).__name__)
        await journal.restore(orphan)


async def wait_for_stop_signal() -> None:
    """Return on SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
