"""`SlackKnowledge`: the ToolProvider that offers search_slack and read_channel per question."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import structlog

from bot.conversation.messages import Question
from bot.conversation.tools import Tool
from bot.slack.api.people import PeopleDirectory
from bot.slack.api.workspaces import NotInstalled
from bot.tools.slack.access import ChannelAccess
from bot.tools.slack.directory import SlackDirectory
from bot.tools.slack.read_channel import ReadChannelTool, ReadLimits
from bot.tools.slack.search import SearchSlackTool, SearchUnavailable

log = structlog.get_logger("bot.tools.slack")

ORIGINS = {
    "routine": "a scheduled routine",
    "summarise": "the Summarise thread shortcut",
    "ask-haiku": "a slash command",
    "ask-sonnet": "a slash command",
    "ask-opus": "a slash command",
    "ask-code": "a slash command",
}


class SlackKnowledge:
    """search_slack (with the event's action token) and read_channel, for the asker, in the
    question's workspace (with its client)."""

    def __init__(
        self,
        directory: SlackDirectory,
        people: PeopleDirectory,
        allowed: Callable[[str], bool],
        *,
        limits: ReadLimits | None = None,
        search: bool = True,
        read: bool = True,
    ) -> None:
        self._directory = directory
        self._people = people
        self._allowed = allowed
        self._access = ChannelAccess(allowed)
        self._limits = limits or ReadLimits()
        self._search = search
        self._read = read

    @property
    def access(self) -> ChannelAccess:
        """The read rules (routines check their owner with them too)."""
        return self._access

    async def tools_for(self, question: Question) -> Sequence[Tool]:
        """read_channel always (it checks each channel as it is asked); search_slack when the
        event carried an action token, else its stand-in saying why not. Nothing when the
        question's workspace has no installation (no token to read with)."""
        try:
            directory = await self._directory.of(question.key.team)
        except NotInstalled:
            log.warning("slack.tools_not_installed")
            return []
        tools: list[Tool] = []
        if self._read:
            tools.append(
                ReadChannelTool(question, directory, self._access, self._people, self._limits)
            )
        if not self._search:
            return tools
        if question.action_token:
            search: Tool = SearchSlackTool(
                question, question.action_token, directory, self._allowed
            )
        else:
            origin = ORIGINS.get(question.feature, "an event that carries no search permission")
            search = SearchUnavailable(origin)
        return [*tools, search]
