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
import structlog
from redis.exceptions import RedisError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.runtime.startup import SlackIdentity, StartupError, check_services
from bot.slack.api.web import close_web_client, web_client
from bot.storage.connect import (
    RedisClient,
    RedisTarget,
    RedisUrlError,
    close_redis,
    open_redis,
    parse_redis_url,
)
from bot.storage.embedded import EmbeddedRedis
from bot.storage.eviction import eviction_policy

log = structlog.get_logger("bot")


@dataclass(frozen=True)
class Clients:
    """The connections every part of the bot shares."""

    redis: RedisClient
    slack: AsyncWebClient
    claude: anthropic.AsyncAnthropic  # retries off: the chat adapter retries on its own terms
    identity: SlackIdentity


async def open_clients(settings: Settings, stack: AsyncExitStack) -> Clients:
    """Connect to Redis, then check Slack and Claude (waiting while they are unreachable);
    everything is closed with the stack."""
    redis_client = await connect_redis(settings, stack)
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
    return Clients(redis_client, slack, claude, identity)


async def connect_redis(settings: Settings, stack: AsyncExitStack) -> RedisClient:
    """REDIS_URL's server (one server, a cluster or a Sentinel group's primary, TLS or not),
    or the embedded one under BOT_DATA_DIR; refused when it may evict the bot's keys."""
    if settings.redis_url:
        target = _target(settings)
        log.info("redis.external", redis=target.describe())
    else:
        embedded = EmbeddedRedis(settings.data_dir)
        url = await asyncio.to_thread(embedded.start)
        stack.callback(embedded.stop)
        target = parse_redis_url(url)
    client = open_redis(target, health_check_interval=30, socket_connect_timeout=5)
    stack.push_async_callback(close_redis, client)
    try:
        await client.ping()
    except RedisError as exc:
        raise StartupError(
            f"Redis is not reachable ({type(exc).__name__}); check REDIS_URL."
        ) from None
    await check_eviction(client, allow=settings.redis_allow_eviction)
    return client


def _target(settings: Settings) -> RedisTarget:
    try:
        return parse_redis_url(settings.redis_url or "", cluster=settings.redis_cluster)
    except RedisUrlError as exc:
        raise StartupError(f"{exc} (BOT_REDIS_CLUSTER={settings.redis_cluster}).") from None


async def check_eviction(client: RedisClient, *, allow: bool) -> None:
    """Refuse a Redis whose maxmemory-policy may evict the bot's keys (dedupe marks, locks,
    ledger totals), unless BOT_REDIS_ALLOW_EVICTION is on: then warn."""
    found = await eviction_policy(client)
    if found.unknown_reason:
        log.info("redis.policy_unknown", error=found.unknown_reason)
        return
    evicting = found.evicting
    if not evicting:
        return
    policies = ", ".join(f"{policy} on {node}" for node, policy in sorted(evicting.items()))
    if not allow:
        raise StartupError(
            f"Redis may evict the bot's keys (maxmemory-policy {policies}): set "
            "maxmemory-policy noeviction on it, or BOT_REDIS_ALLOW_EVICTION=true to start anyway."
        )
    log.warning(
        "redis.eviction_possible",
        maxmemory_policy=policies,
        risk="dedupe marks, thread locks and ledger totals may be evicted when Redis is full",
        fix="set maxmemory-policy noeviction on this Redis (or give the bot its own)",
    )
