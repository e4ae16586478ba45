"""Display names for user ids (users.info), cached in Redis for a day."""

from __future__ import annotations

from typing import Protocol

import structlog
from slack_sdk.errors import SlackApiError

from bot.slack.api.workspaces import NotInstalled, SlackWorkspaces

log = structlog.get_logger("bot.slack.api.people")


class NameCache(Protocol):
    """Where names are remembered between lookups."""

    async def cached_name(self, team: str, user: str) -> str | None:
        """A cached name, if any."""
        ...

    async def cache_name(self, team: str, user: str, name: str) -> None:
        """Remember a name."""
        ...


class PeopleDirectory:
    """Resolves a user id to how Claude should see the author: "Ana (<@U123>)"."""

    def __init__(self, workspaces: SlackWorkspaces, cache: NameCache) -> None:
        self._workspaces = workspaces
        self._cache = cache

    async def author(self, team: str, user: str) -> str:
        """The author label for a user id; the bare mention when the name can't be found."""
        name = await self._name(team, user)
        return f"{name} (<@{user}>)" if name else f"<@{user}>"

    async def _name(self, team: str, user: str) -> str | None:
        cached = await self._cache.cached_name(team, user)
        if cached is not None:
            return cached or None
        try:
            client = (await self._workspaces.get(team)).client
            response = await client.users_info(user=user)
        except SlackApiError as exc:
            log.info("slack.users_info_failed", error=exc.response.get("error"))
            return None
        except NotInstalled:
            return None
        profile = (response.get("user") or {}).get("profile") or {}
        member = response.get("user") or {}
        name = str(
            profile.get("real_name") or profile.get("display_name") or member.get("name") or ""
        )
        await self._cache.cache_name(team, user, name)
        return name or None
