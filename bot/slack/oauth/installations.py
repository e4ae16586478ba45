"""Installations in Redis, behind Bolt's AsyncInstallationStore interface: one record per
workspace (or per organisation for an org-wide install), the bot's tokens encrypted at rest.

    csb:v1:install:<enterprise or ->:<team or ->   Fernet token of the installation's JSON

The bot asks for bot scopes only, so an installation is its bot: the latest install of a
workspace replaces the one before, and a user-token revocation has nothing to delete. Every
field is encrypted (team names included), with the key(s) of BOT_TOKEN_ENCRYPTION_KEY; a record
no key can read (the key was changed without keeping the old one) counts as not installed and
is logged, never shown.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import structlog
from cryptography.fernet import InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from bot.storage.connect import RedisClient
from bot.storage.key_layout import PREFIX

log = structlog.get_logger("bot.slack.oauth")

INSTALL = f"{PREFIX}:install"
NONE = "-"


def installation_key(enterprise_id: str | None, team_id: str | None) -> str:
    """The record of one workspace's install (team None: an org-wide install)."""
    return f"{INSTALL}:{enterprise_id or NONE}:{team_id or NONE}"


class RedisInstallationStore(AsyncInstallationStore):
    """Bolt's installation store over Redis, encrypted with Fernet."""

    def __init__(self, client: RedisClient, cipher: MultiFernet) -> None:
        self._redis = client
        self._cipher = cipher
        self._logger = logging.getLogger("bot.slack.oauth")

    @property
    def logger(self) -> logging.Logger:
        """Bolt's interface asks for one."""
        return self._logger

    async def async_save(self, installation: Installation) -> None:
        """Store (or replace) the workspace's installation."""
        team = None if installation.is_enterprise_install else installation.team_id
        key = installation_key(installation.enterprise_id, team)
        await self._redis.set(key, self._seal(installation.to_dict_for_copying()))
        log.info(
            "oauth.installed",
            team=installation.team_id,
            enterprise=installation.enterprise_id,
            org_wide=bool(installation.is_enterprise_install),
        )

    async def async_save_bot(self, bot: Bot) -> None:
        """A rotated bot token: saved into the workspace's installation."""
        team = None if bot.is_enterprise_install else bot.team_id
        found = await self._load(bot.enterprise_id, team)
        if found is None:
            return
        found.bot_token = bot.bot_token
        found.bot_refresh_token = bot.bot_refresh_token
        found.bot_token_expires_at = bot.bot_token_expires_at
        await self.async_save(found)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """The workspace's installation; for a workspace of an organisation that installed
        the app org-wide, the organisation's."""
        if not is_enterprise_install and team_id:
            found = await self._load(enterprise_id, team_id)
            if found is not None or not enterprise_id:
                return found
        return await self._load(enterprise_id, None) if enterprise_id else None

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        """The installation's bot."""
        found = await self.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return found.to_bot() if found is not None and found.bot_token else None

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Forget the workspace's bot token (tokens_revoked, app_uninstalled)."""
        await self._redis.delete(installation_key(enterprise_id, team_id))
        log.info("oauth.bot_deleted", team=team_id, enterprise=enterprise_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        """Forget the installation; a user's revoked token is not stored, so nothing to do."""
        if user_id is None:
            await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    def _seal(self, data: dict[str, Any]) -> bytes:
        return self._cipher.encrypt(json.dumps(data, default=str).encode())

    async def _load(self, enterprise_id: str | None, team_id: str | None) -> Installation | None:
        raw = await self._redis.get(installation_key(enterprise_id, team_id))
        if raw is None:
            return None
        try:
            data = json.loads(self._cipher.decrypt(raw))
        except InvalidToken:
            log.error("oauth.installation_unreadable", team=team_id, enterprise=enterprise_id)
            return None
        return Installation(**data)
