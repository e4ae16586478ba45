"""A workspace leaves: `tokens_revoked` (the bot's token) forgets the installation's token;
`app_uninstalled` forgets the installation and everything the bot stored about the workspace.
Both through Bolt's own revocation listeners (which delete from the installation store), then
the registry's cache is dropped and, on uninstall, the workspace's Redis keys are purged."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.listener.async_builtins import AsyncTokenRevocationListeners
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from bot.slack.api.workspaces import SlackWorkspaces, workspace_id

log = structlog.get_logger("bot.slack.oauth")

Purge = Callable[[str], Awaitable[int]]


class Departures:
    """Listeners of app_uninstalled and tokens_revoked."""

    def __init__(
        self, store: AsyncInstallationStore, workspaces: SlackWorkspaces, purge: Purge
    ) -> None:
        self._bolt = AsyncTokenRevocationListeners(store)
        self._workspaces = workspaces
        self._purge = purge

    async def on_tokens_revoked(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        """The bot token (or a user's) was revoked: the installation's token is forgotten."""
        await self._bolt.handle_tokens_revoked_events(event, context)
        self._workspaces.forget(self._id(context))
        log.info("oauth.tokens_revoked", team=context.team_id, enterprise=context.enterprise_id)

    async def on_app_uninstalled(self, context: AsyncBoltContext) -> None:
        """The app was removed: installation and the workspace's stored data are deleted."""
        await self._bolt.handle_app_uninstalled_events(context)
        self._workspaces.forget(self._id(context))
        ident = context.team_id or context.enterprise_id
        if ident:
            await self._purge(ident)
        log.info("oauth.uninstalled", team=context.team_id, enterprise=context.enterprise_id)

    @staticmethod
    def _id(context: AsyncBoltContext) -> str:
        return workspace_id(context.team_id or "", context.enterprise_id)


def register_departures(app: AsyncApp, departures: Departures) -> None:
    """Attach the listeners (the manifest subscribes to both events)."""
    app.event("tokens_revoked")(departures.on_tokens_revoked)
    app.event("app_uninstalled")(departures.on_app_uninstalled)
