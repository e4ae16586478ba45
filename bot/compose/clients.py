"""The bot's clients, each built once: Redis, the Slack Web API clients, the Anthropic client.

Every feature gets these passed in. The one `AsyncAnthropic` (one connection pool) serves every
Claude call; a feature that wants other retries or timeouts takes `with_options(...)` of it,
which shares the pool. Slack's clients share one HTTP session: with SLACK_BOT_TOKEN there is one
workspace and one client; with OAuth, a client per installed workspace's token
(bot/slack/oauth/installed.py).
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass

import anthropic
import httpx2
import structlog
from redis.exceptions import RedisError
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings, required, token_cipher
from bot.runtime.startup import StartupError, check_claude, check_services
from bot.slack.api.web import WebClients
from bot.slack.api.workspaces import OneWorkspace, SlackWorkspaces, Workspace
from bot.slack.oauth.installations import RedisInstallationStore
from bot.slack.oauth.installed import InstalledWorkspaces
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
    web: WebClients  # every Slack client is made here, on one HTTP session
    workspaces: SlackWorkspaces  # the client and bot identity per workspace
    app_client: AsyncWebClient  # Bolt's own: the bot token's, or token-less under OAuth
    claude: anthropic.AsyncAnthropic  # retries off: the chat adapter retries on its own terms
    installations: RedisInstallationStore | None = None  # OAuth only
    redis_url: str = ""  # where `redis` connects (a synchronous client needs it: routines)


def claude_http_client(settings: Settings) -> httpx2.AsyncClient | None:
    """The SDK's aiohttp transport (BOT_CLAUDE_TRANSPORT=aiohttp): reading a stream costs far
    less CPU per event than its default httpx one; None keeps the SDK's default."""
    if settings.claude_transport == "httpx":
        return None
    return anthropic.DefaultAioHttpClient(timeout=settings.claude_timeout_seconds)


async def open_clients(settings: Settings, stack: AsyncExitStack) -> Clients:
    """Connect to Redis, then check Slack and Claude (waiting while they are unreachable);
    everything is closed with the stack."""
    redis_client, redis_url = await connect_redis(settings, stack)
    web = WebClients(settings.slack_api_url)
    stack.push_async_callback(web.close)
    claude = anthropic.AsyncAnthropic(
        api_key=settings.anthropic_api_key.get_secret_value(),
        base_url=settings.anthropic_base_url,
        max_retries=0,  # AnthropicChatModel retries, and never a spend limit
        timeout=settings.claude_timeout_seconds,
        http_client=claude_http_client(settings),
    )
    stack.push_async_callback(claude.close)
    if settings.oauth:
        return await installed_clients(settings, redis_client, web, claude, redis_url)
    slack = web.client(required(settings.slack_bot_token, "SLACK_BOT_TOKEN"))
    identity = await check_services(settings, slack, claude)
    workspace = Workspace(
        team_id=identity.team_id,
        enterprise_id=identity.enterprise_id,
        client=slack,
        bot_user_id=identity.bot_user_id,
        bot_id=identity.bot_id,
        bot_name=identity.bot_name,
    )
    log.info("slack.single_workspace", team=identity.team_id, bot_user=identity.bot_user_id)
    return Clients(redis_client, web, OneWorkspace(workspace), slack, claude, None, redis_url)


async def installed_clients(
    settings: Settings,
    redis_client: RedisClient,
    web: WebClients,
    claude: anthropic.AsyncAnthropic,
    redis_url: str = "",
) -> Clients:
    """OAuth: workspaces from the encrypted installation store, tokens rotated when due."""
    await check_claude(settings, claude)
    keys = required(settings.token_encryption_key, "BOT_TOKEN_ENCRYPTION_KEY")
    store = RedisInstallationStore(redis_client, token_cipher(keys))
    rotator = AsyncTokenRotator(
        client_id=required(settings.slack_client_id, "SLACK_CLIENT_ID"),
        client_secret=required(settings.slack_client_secret, "SLACK_CLIENT_SECRET"),
        client=web.client(None),
    )
    workspaces = InstalledWorkspaces(store, web, rotator)
    log.info("slack.oauth_workspaces")
    return Clients(redis_client, web, workspaces, web.client(None), claude, store, redis_url)


async def connect_redis(settings: Settings, stack: AsyncExitStack) -> tuple[RedisClient, str]:
    """REDIS_URL's server (one server, a cluster or a Sentinel group's primary, TLS or not),
    or the embedded one under BOT_DATA_DIR, and its URL; refused when it may evict the bot's
    keys."""
    if settings.redis_url:
        url = settings.redis_url
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
    return client, url


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
