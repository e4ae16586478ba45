"""The workspaces the bot serves, each with its own Web API client and bot identity.

With one token (SLACK_BOT_TOKEN) there is one workspace, one client: exactly the bot of old.
With OAuth every workspace that installed the app is served by the same process: its token
comes from the installation store (`InstalledWorkspaces`), and each token gets its own
`AsyncWebClient`, all of them on one shared HTTP session.

A workspace's id, in Redis keys and in thread keys, is its team id, prefixed with its Enterprise
Grid organisation's id where Slack sends one ("E0ORG:T0TEAM"): two workspaces of one
organisation never share a key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk.web.async_client import AsyncWebClient


@dataclass(frozen=True)
class Workspace:
    """One workspace as the bot acts in it: the client carrying its token, and who the bot is
    there."""

    team_id: str
    enterprise_id: str | None
    client: AsyncWebClient
    bot_user_id: str
    bot_id: str = ""
    bot_name: str = "Claude"

    @property
    def token(self) -> str:
        """The bot token (sent with file downloads, never logged)."""
        return str(self.client.token or "")


class NotInstalled(Exception):
    """No installation (or no usable token) for this workspace."""


class SlackWorkspaces(Protocol):
    """Where the bot finds the client and identity for a workspace."""

    async def get(self, workspace: str) -> Workspace:
        """The workspace of this id (see workspace_id); NotInstalled when there is none."""
        ...

    def forget(self, workspace: str) -> None:
        """Drop what is cached about the workspace (uninstalled, tokens revoked)."""
        ...


class OneWorkspace:
    """SLACK_BOT_TOKEN's workspace, for every event: the single-workspace bot."""

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace

    @property
    def workspace(self) -> Workspace:
        """The one workspace."""
        return self._workspace

    async def get(self, workspace: str) -> Workspace:
        """The one workspace, whatever the id."""
        return self._workspace

    def forget(self, workspace: str) -> None:
        """Nothing to forget: the token is the configuration's."""


def workspace_id(team: str, enterprise: str | None) -> str:
    """The id keys use: the team, prefixed with its organisation on Enterprise Grid (pure)."""
    return f"{enterprise}:{team}" if enterprise else team


def split_workspace(workspace: str) -> tuple[str | None, str]:
    """(enterprise or None, team) of a workspace id (pure)."""
    enterprise, _, team = workspace.rpartition(":")
    return enterprise or None, team


def team_of(workspace: str) -> str:
    """The Slack team id of a workspace id (what Slack's methods take as `team_id`)."""
    return split_workspace(workspace)[1]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _nested_id(value: object) -> str | None:
    if isinstance(value, dict):
        return _text(value.get("id"))
    return _text(value)


def _authorization(payload: dict[str, Any]) -> dict[str, Any]:
    authorizations = payload.get("authorizations")
    if isinstance(authorizations, list) and authorizations and isinstance(authorizations[0], dict):
        return authorizations[0]
    return {}


def enterprise_of(payload: dict[str, Any]) -> str | None:
    """The Enterprise Grid organisation of an event, command or interaction payload, if any."""
    team = payload.get("team")
    claims = (
        _authorization(payload).get("enterprise_id"),
        payload.get("enterprise_id"),
        _nested_id(payload.get("enterprise")),
        team.get("enterprise_id") if isinstance(team, dict) else None,
    )
    return next((found for value in claims if (found := _text(value))), None)


def team_in(payload: dict[str, Any]) -> str:
    """The workspace an event, command or interaction payload is for: the installation's team
    (an event's `authorizations`, as Bolt reads it), else the payload's own team fields (an
    org-wide install authorizes the organisation, not a team)."""
    user = payload.get("user")
    view = payload.get("view")
    claims = (
        _authorization(payload).get("team_id"),
        payload.get("team_id"),
        _nested_id(payload.get("team")),
        user.get("team_id") if isinstance(user, dict) else None,
        view.get("team_id") if isinstance(view, dict) else None,
        payload.get("context_team_id"),
    )
    return next((found for value in claims if (found := _text(value))), "")


def workspace_of(payload: dict[str, Any]) -> str:
    """The workspace id of an event, command or interaction payload (pure)."""
    return workspace_id(team_in(payload), enterprise_of(payload))
