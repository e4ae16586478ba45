"""Whether a conversation is private (a DM, a group DM, a private channel) or public, so memory
never flows from a private one into a public one.

Ids say it for DMs (`D…`) and legacy private channels and group DMs (`G…`); a `C…` channel is
asked of Slack (conversations.info: is_private, is_im, is_mpim) with the client of the
conversation's workspace, and the answer kept for a few minutes. When Slack can't tell (an
error, a channel the bot can't see, a workspace without an installation), the answer is None and
no memory is offered: unknown is never treated as either.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from slack_sdk.errors import SlackApiError

from bot.slack.api.workspaces import NotInstalled, SlackWorkspaces

log = structlog.get_logger("bot.memory")

CACHE_SECONDS = 300.0
CACHE_MAX = 10_000


class ChannelPrivacy:
    """Private or public, per workspace and channel id, cached."""

    def __init__(
        self, workspaces: SlackWorkspaces, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._workspaces = workspaces
        self._clock = clock
        self._known: dict[tuple[str, str], tuple[bool, float]] = {}

    async def is_private(self, team: str, channel: str) -> bool | None:
        """True for DMs, group DMs and private channels of the workspace `team`; None when it
        can't be told."""
        if channel.startswith(("D", "G")):
            return True
        now = self._clock()
        known = self._known.get((team, channel))
        if known is not None and known[1] > now:
            return known[0]
        try:
            client = (await self._workspaces.get(team)).client
            response = await client.conversations_info(channel=channel)
        except SlackApiError as exc:
            log.info("memory.privacy_unknown", channel=channel, error=exc.response.get("error"))
            return None
        except NotInstalled:
            log.info("memory.privacy_unknown", channel=channel, error="not_installed")
            return None
        info = response.get("channel") or {}
        private = any(bool(info.get(flag)) for flag in ("is_private", "is_im", "is_mpim"))
        if len(self._known) >= CACHE_MAX:
            self._known.clear()
        self._known[(team, channel)] = (private, now + CACHE_SECONDS)
        return private
