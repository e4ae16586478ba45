"""`SlackKnowledge`: the ToolProvider that offers search_slack and read_channel per question."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.conversation.messages import Question
from bot.conversation.tools import Tool
from bot.slack.api.people import PeopleDirectory
from bot.tools.slack.access import ChannelAccess
from bot.tools.slack.directory import SlackDirectory
from bot.tools.slack.read_channel import ReadChannelTool, ReadLimits
from bot.tools.slack.search import SearchSlackTool, SearchUnavailable

ORIGINS = {
    "routine": "a scheduled routine",
    "summarise": "the Summarise thread shortcut",
    "ask-haiku": "a slash command",
    "ask-sonnet": "a slash command",
    "ask-opus": "a slash command",
    "ask-code": "a slash command",
}


class SlackKnowledge:
    """search_slack (with the event's action token) and read_channel, for the asker."""

    def __init__(
        self,
        directory: SlackDirectory,
        people: PeopleDirectory,
        allowed: Callable[[str], bool],
        *,
        team: str = "",
        limits: ReadLimits | None = None,
        search: bool = True,
        read: bool = True,
    ) -> None:
        self._directory = directory
        self._people = people
        self._allowed = allowed
        self._access = ChannelAccess(directory, allowed, team)
        self._limits = limits or ReadLimits()
        self._search = search
        self._read = read

    @property
    def access(self) -> ChannelAccess:
        """The read rules (routines check their owner with them too)."""
        return self._access

    async def tools_for(self, question: Question) -> Sequence[Tool]:
        """read_channel always (it checks each channel as it is asked); search_slack when the
        event carried an action token, else its stand-in saying why not."""
        tools: list[Tool] = []
        if self._read:
            tools.append(
                ReadChannelTool(question, self._directory, self._access, self._people, self._limits)
            )
        if not self._search:
            return tools
        if question.action_token:
            search: Tool = SearchSlackTool(
                question, question.action_token, self._directory, self._allowed
            )
        else:
            origin = ORIGINS.get(question.feature, "an event that carries no search permission")
            search = SearchUnavailable(origin)
        return [*tools, search]
