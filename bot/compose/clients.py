"""The bot's clients, each built once: Redis, the Slack Web API client, the Anthropic client.

Every feature gets these passed in. The one `AsyncAnthropic` (one connection pool) serves every
Claude call; a feature that wants other retries or timeouts takes `with_options(...)` of it,
which shares the pool.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass

import anthropic
import redis.asyncio as redis
import structlog
from redis.exceptions import RedisError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.runtime.startup import SlackIdentity, StartupError, check_services
from bot.slack.api.web import close_web_client, web_client
from bot.storage.embedded import EmbeddedRedis
from bot.storage.eviction import warn_if_evicting

log = structlog.get_logger("bot")


@dataclass(frozen=True)
class Clients:
    """The connections every part of the bot shares."""

    redis: redis.Redis
    slack: AsyncWebClient
    claude: anthropic.AsyncAnthropic  # retries off: the chat adapter retries on its own terms
    identity: SlackIdentity
    redis_url: str = ""  # where `redis` connects (a synchronous client needs it: routines)


async def open_clients(settings: Settings, stack: AsyncExitStack) -> Clients:
    """Connect to Redis, then check Slack and Claude (waiting while they are unreachable);
    everything is closed with the stack."""
    redis_client, redis_url = await connect_redis(settings, stack)
    slack = web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    stack.push_async_callback(close_web_client, slack)
    claude = anthropic.AsyncAnthropic(
        api_key=settings.anthropic_api_key.get_secret_value(),
        base_url=settings.anthropic_base_url,
        max_retries=0,  # AnthropicChatModel retries, and never a spend limit
        timeout=settings.claude_timeout_seconds,
    )
    stack.push_async_callback(claude.close)
    identity = await check_services(settings, slack, claude)
    return Clients(redis_client, slack, claude, identity, redis_url)


async def connect_redis(settings: Settings, stack: AsyncExitStack) -> tuple[redis.Redis, str]:
    """REDIS_URL's server, or the embedded one under BOT_DATA_DIR, and its URL."""
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
    return client, url
