"""The start-up checks: Slack accepts the bot token (and, in Socket Mode, the app token), Claude
accepts the key, both can be reached. Under OAuth there is no token to check before the first
install: only Claude is checked.

Run together before the bot connects: an unreachable service is waited for (one line per retry,
naming the host and what to check); a refused credential ends the start with one line naming
the variable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import anthropic
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.runtime.reachability import Unreachable, host_of, until_reachable

log = structlog.get_logger("bot.startup")

T = TypeVar("T")
CLAUDE_DEFAULT_URL = "https://api.anthropic.com"
CHECK_TIMEOUT_SECONDS = 15.0
# Slack errors that mean "try again", not "this token is wrong".
SLACK_TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class StartupError(Exception):
    """The bot cannot start; the message says why and what to do, in one line."""


@dataclass(frozen=True)
class SlackIdentity:
    """Who the bot is in the workspace, from auth.test."""

    team_id: str
    bot_user_id: str
    bot_name: str
    enterprise_id: str | None = None
    bot_id: str = ""


async def check_services(
    settings: Settings, slack: AsyncWebClient, claude: anthropic.AsyncAnthropic
) -> SlackIdentity:
    """Slack's and Claude's checks, side by side; the first refusal ends both."""
    app_token = settings.slack_app_token
    identity, _ = await first_failure_cancels(
        check_slack(
            slack,
            app_token.get_secret_value() if app_token is not None else None,
            settings.slack_api_url,
        ),
        check_claude(settings, claude),
    )
    return identity  # type: ignore[no-any-return]


async def check_slack(slack: AsyncWebClient, app_token: str | None, api_url: str) -> SlackIdentity:
    """auth.test with the bot token (learning who the bot is), then (Socket Mode: `app_token`)
    apps.connections.open with the app token; retried while Slack cannot be reached."""

    async def both() -> SlackIdentity:
        response = await slack_call(slack.auth_test(), "SLACK_BOT_TOKEN")
        if app_token is not None:
            await slack_call(slack.apps_connections_open(app_token=app_token), "SLACK_APP_TOKEN")
        return SlackIdentity(
            team_id=str(response["team_id"]),
            bot_user_id=str(response["user_id"]),
            bot_name=str(response.get("user") or "Claude"),
            enterprise_id=str(response.get("enterprise_id") or "") or None,
            bot_id=str(response.get("bot_id") or ""),
        )

    return await until_reachable("Slack", host_of(api_url), both)


async def slack_call(call: Awaitable[T], variable: str) -> T:
    """The call's response; Slack refusing the token becomes a StartupError naming `variable`,
    Slack being unwell becomes Unreachable (retried)."""
    try:
        return await call
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error in SLACK_TRANSIENT or exc.response.status_code >= 500:
            raise Unreachable(f"Slack answered {error or exc.response.status_code}") from None
        raise StartupError(f"Slack refused {variable} ({error}); see README.md.") from None


async def check_claude(settings: Settings, claude: anthropic.AsyncAnthropic) -> None:
    """GET /v1/models with the API key; retried while Claude cannot be reached. Any answer but a
    refusal of the key lets the bot start (a gateway may not serve /v1/models)."""
    base_url = settings.anthropic_base_url or CLAUDE_DEFAULT_URL
    client = claude.with_options(max_retries=0, timeout=CHECK_TIMEOUT_SECONDS)

    async def list_models() -> None:
        try:
            await client.models.list(limit=1)
        except (anthropic.AuthenticationError, anthropic.PermissionDeniedError) as exc:
            kind = exc.body.get("error", {}).get("type") if isinstance(exc.body, dict) else None
            raise StartupError(
                f"Claude refused ANTHROPIC_API_KEY ({kind or exc.status_code}); see README.md."
            ) from None
        except anthropic.APIStatusError as exc:
            if exc.status_code >= 500 or exc.status_code == 429:
                raise Unreachable(f"Claude answered HTTP {exc.status_code}") from None
            log.info("startup.claude_check_skipped", status=exc.status_code)

    await until_reachable("Claude", host_of(base_url), list_models)


async def first_failure_cancels(*calls: Coroutine[Any, Any, Any]) -> list[Any]:
    """Run the calls together; their results in order, or the first exception (the others are
    cancelled, so a refused token does not wait for an unreachable service)."""
    tasks = [asyncio.create_task(call) for call in calls]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in tasks:
            if task in done and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        return [task.result() for task in tasks]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
