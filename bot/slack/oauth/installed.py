"""Every workspace that installed the app, served by one process: the client and bot identity
of each come from the installation store, kept a minute in memory, with the bot token rotated
(slack_sdk's AsyncTokenRotator) when it is about to expire.

Bolt asks the same registry for each request (`RegistryAuthorize`), so a listener's
`context.client` and the bot's own lookups (the sweeper, the batch poller, the turn's thread
reader) use one token per workspace.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator

from bot.slack.api.web import WebClients
from bot.slack.api.workspaces import NotInstalled, Workspace, split_workspace

log = structlog.get_logger("bot.slack.oauth")

CACHE_SECONDS = 60.0
ROTATE_MINUTES_BEFORE_EXPIRY = 120  # Bolt's default: a 12-hour token is renewed after 10 hours
CacheKey = tuple[str | None, str | None]


class InstalledWorkspaces:
    """SlackWorkspaces over the installation store."""

    def __init__(
        self,
        store: AsyncInstallationStore,
        web: WebClients,
        rotator: AsyncTokenRotator | None,
        *,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._web = web
        self._rotator = rotator
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[CacheKey, tuple[Workspace, float]] = {}

    async def get(self, workspace: str) -> Workspace:
        """The workspace of this id ("T…" or "E…:T…"); NotInstalled when it has no install."""
        enterprise, team = split_workspace(workspace)
        return await self.find(enterprise, team)

    async def find(
        self, enterprise: str | None, team: str | None, *, org_wide: bool = False
    ) -> Workspace:
        """The workspace (an org-wide install: the organisation's) with a fresh token."""
        key: CacheKey = (enterprise, None if org_wide else team)
        cached = self._cache.get(key)
        if cached is not None and cached[1] > self._clock():
            return cached[0]
        installation = await self._store.async_find_installation(
            enterprise_id=enterprise, team_id=team, is_enterprise_install=org_wide
        )
        if installation is None or not installation.bot_token:
            raise NotInstalled(f"no installation for {enterprise or '-'}:{team or '-'}")
        installation = await self._rotated(installation)
        found = await self._workspace(installation, team)
        self._cache[key] = (found, self._clock() + self._lifetime(installation))
        return found

    def forget(self, workspace: str) -> None:
        """Uninstalled or revoked: nothing cached is trusted any more (rare: drop it all)."""
        self._cache.clear()

    async def _rotated(self, installation: Installation) -> Installation:
        """The installation, with its bot token renewed (and saved) when it expires soon."""
        if self._rotator is None or installation.bot_refresh_token is None:
            return installation
        try:
            refreshed = await self._rotator.perform_token_rotation(
                installation=installation,
                minutes_before_expiration=ROTATE_MINUTES_BEFORE_EXPIRY,
            )
        except SlackTokenRotationError as exc:
            log.error("oauth.rotation_failed", team=installation.team_id, error=str(exc.api_error))
            raise NotInstalled("the bot token could not be renewed") from None
        if refreshed is None:
            return installation
        await self._store.async_save(refreshed)
        log.info("oauth.token_rotated", team=installation.team_id)
        return refreshed

    async def _workspace(self, installation: Installation, team: str | None) -> Workspace:
        client = self._web.client(installation.bot_token)
        try:
            auth = await client.auth_test()
        except SlackApiError as exc:
            log.warning(
                "oauth.token_refused", team=installation.team_id, error=exc.response.get("error")
            )
            raise NotInstalled("Slack refused the installation's token") from None
        return Workspace(
            team_id=team or installation.team_id or str(auth.get("team_id") or ""),
            enterprise_id=installation.enterprise_id,
            client=client,
            bot_user_id=installation.bot_user_id or str(auth.get("user_id") or ""),
            bot_id=installation.bot_id or str(auth.get("bot_id") or ""),
            bot_name=str(auth.get("user") or "Claude"),
        )

    def _lifetime(self, installation: Installation) -> float:
        """How long the workspace may stay cached: a minute, and never past the moment its
        token is due for rotation."""
        expires_at = installation.bot_token_expires_at
        if expires_at is None:
            return self._cache_seconds
        due = expires_at - ROTATE_MINUTES_BEFORE_EXPIRY * 60 - time.time()
        return max(0.0, min(self._cache_seconds, due))


class RegistryAuthorize(AsyncAuthorize):
    """Bolt's authorize step answered by the registry: each request's `context.client` carries
    its workspace's (rotated) token."""

    def __init__(self, workspaces: InstalledWorkspaces) -> None:
        self._workspaces = workspaces

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_: Any,
    ) -> AuthorizeResult | None:
        """The workspace's bot token and ids; None (Bolt refuses the request) when the
        workspace has no installation."""
        org_wide = bool(context.is_enterprise_install)
        try:
            found = await self._workspaces.find(enterprise_id, team_id, org_wide=org_wide)
        except NotInstalled as exc:
            log.warning("oauth.not_installed", team=team_id, enterprise=enterprise_id, why=str(exc))
            return None
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id or found.team_id,
            bot_user_id=found.bot_user_id,
            bot_id=found.bot_id,
            bot_token=found.token,
            user_id=user_id,
        )
