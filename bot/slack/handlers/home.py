"""The App Home's Home tab, published with views.publish when someone opens it (the view itself
is built in bot.slack.blocks.home)."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError

from bot.slack.api.workspaces import NotInstalled, SlackWorkspaces
from bot.slack.blocks.home import HomeFacts, home_view
from bot.usage.report import UsageReporter

log = structlog.get_logger("bot.slack.handlers.home")


class HomeTab:
    """Publishes the Home tab for the person who opens it."""

    def __init__(
        self,
        workspaces: SlackWorkspaces,
        facts: Callable[[], HomeFacts],
        usage: UsageReporter | None = None,
    ) -> None:
        self._workspaces = workspaces
        self._facts = facts
        self._usage = usage

    async def publish(self, team: str, user: str) -> None:
        """Build and publish the viewer's Home tab in their workspace (best effort)."""
        report = None
        if self._usage is not None:
            try:
                report = await self._usage.report(team, user, "")
            except RedisError as exc:
                log.warning("home.usage_unavailable", error=type(exc).__name__)
        try:
            client = (await self._workspaces.get(team)).client
            await client.views_publish(user_id=user, view=home_view(self._facts(), report))
        except SlackApiError as exc:
            log.warning("home.publish_failed", error=exc.response.get("error"))
        except NotInstalled:
            log.warning("home.workspace_gone")
