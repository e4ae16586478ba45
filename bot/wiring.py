"""The composition root: settings in, a running bot out. Dependencies are passed, not global."""

from __future__ import annotations

import asyncio
import signal
from contextlib import AsyncExitStack
from dataclasses import dataclass

import anthropic
import redis.asyncio as redis
import structlog
from redis.exceptions import RedisError
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.claude.catalog import CATALOG, Tier, lookup
from bot.claude.client import AnthropicChatModel
from bot.config import Settings
from bot.conversation.throttle import EditPolicy, MonotonicClock
from bot.conversation.turn import TurnDeps, TurnSettings
from bot.health import HEARTBEAT_FILE, beat_while_connected
from bot.slack.commands import CommandHandler, register_commands
from bot.slack.listeners import EventHandler, TaskTracker, register
from bot.slack.people import PeopleDirectory
from bot.slack.thread_reader import SlackThreadReader
from bot.storage.embedded import EmbeddedRedis
from bot.storage.redis_store import RedisMarks, RedisThreadStore

log = structlog.get_logger("bot")

SHUTDOWN_GRACE_SECONDS = 20.0


class StartupError(Exception):
    """The bot cannot start; the message says why and what to do, in one line."""


@dataclass(frozen=True)
class SlackIdentity:
    """Who the bot is in the workspace, from auth.test."""

    team_id: str
    bot_user_id: str
    bot_name: str


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
    return client


async def identify(client: AsyncWebClient) -> SlackIdentity:
    """auth.test: checks the bot token and learns the bot's user id."""
    try:
        response = await client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error")
        raise StartupError(f"Slack refused SLACK_BOT_TOKEN ({error}); see README.md.") from None
    return SlackIdentity(
        team_id=str(response["team_id"]),
        bot_user_id=str(response["user_id"]),
        bot_name=str(response.get("user") or "Claude"),
    )


def turn_settings(settings: Settings) -> TurnSettings:
    """The core's knobs from the settings."""
    variables = {
        settings.model_haiku: "CLAUDE_MODEL_HAIKU",
        settings.model_sonnet: "CLAUDE_MODEL_SONNET",
        settings.model_opus: "CLAUDE_MODEL_OPUS",
    }
    return TurnSettings(
        system_prompt=settings.system_prompt,
        max_tokens=settings.max_tokens,
        models_by_tier=settings.models_by_tier,
        model_variables=variables,
        edit_policy=EditPolicy.from_setting(settings.edit_policy, settings.edit_interval_seconds),
        thinking_by_tier=settings.thinking_by_tier,
        display_names={
            tier: lookup(model_id, tier)[0].display_name  # type: ignore[arg-type]
            for tier, model_id in settings.models_by_tier.items()
        },
        show_thinking=settings.show_thinking,
    )


def warn_unknown_models(settings: Settings) -> dict[str, Tier]:
    """Log a warning for each configured model id the catalog does not know."""
    tiers: dict[str, Tier] = {}
    for tier, model_id in settings.models_by_tier.items():
        tiers[model_id] = tier  # type: ignore[assignment]
        if model_id not in CATALOG:
            log.warning("model.unknown", model=model_id, tier=tier, cost_estimate=False)
    return tiers


async def run(settings: Settings) -> None:
    """Start everything, serve Socket Mode until SIGTERM/SIGINT, then shut down cleanly."""
    async with AsyncExitStack() as stack:
        redis_client = await connect_redis(settings, stack)
        slack = AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
        )
        identity = await identify(slack)
        claude = anthropic.AsyncAnthropic(
            api_key=settings.anthropic_api_key.get_secret_value(),
            base_url=settings.anthropic_base_url,
            max_retries=0,  # AnthropicChatModel retries, and never a spend limit
            timeout=settings.claude_timeout_seconds,
        )
        stack.push_async_callback(claude.close)
        clock = MonotonicClock()
        marks = RedisMarks(redis_client)
        people = PeopleDirectory(slack, marks)
        tasks = TaskTracker()
        deps = TurnDeps(
            store=RedisThreadStore(redis_client, settings.history_ttl_seconds),
            model=AnthropicChatModel(
                claude, warn_unknown_models(settings), settings.claude_max_retries
            ),
            reader=SlackThreadReader(slack, people, identity.bot_user_id),
            clock=clock,
            settings=turn_settings(settings),
        )
        app = AsyncApp(client=slack, request_verification_enabled=False)
        events = EventHandler(
            turn=deps,
            marks=marks,
            people=people,
            client=slack,
            clock=clock,
            bot_user_id=identity.bot_user_id,
            message_chars=settings.message_chars,
            tasks=tasks,
        )
        register(app, events)
        register_commands(app, CommandHandler(events, slack, clock, identity.bot_name))
        handler = AsyncSocketModeHandler(app, settings.slack_app_token.get_secret_value())
        await handler.connect_async()  # type: ignore[no-untyped-call]
        heartbeat = asyncio.create_task(
            beat_while_connected(settings.data_dir / HEARTBEAT_FILE, handler.client.is_connected)
        )
        log.info("bot.ready", team=identity.team_id, bot_user=identity.bot_user_id)
        await wait_for_stop_signal()
        heartbeat.cancel()
        log.info("bot.stopping", answers_in_flight=tasks.running)
        await handler.disconnect_async()  # type: ignore[no-untyped-call]
        await tasks.drain(SHUTDOWN_GRACE_SECONDS)
        await handler.close_async()  # type: ignore[no-untyped-call]


async def wait_for_stop_signal() -> None:
    """Return on SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
