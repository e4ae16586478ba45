"""Channel profiles put together: the YAML of BOT_CHANNEL_PROFILES, reloaded when it changes
(a supervised loop looks every few seconds) or on SIGHUP; no file, no profiles."""

from __future__ import annotations

import asyncio
import signal

from bot.config import Settings
from bot.conversation.messages import Question
from bot.conversation.profiles import Profiles, StaticProfiles
from bot.conversation.tools import Tool, ToolProvider
from bot.profiles import ReloadingProfiles
from bot.runtime.loops import BackgroundLoops

RELOAD_CHECK_SECONDS = 5.0


def channel_profiles(settings: Settings, loops: BackgroundLoops) -> Profiles:
    """The profiles in force (checked whole at start by the settings)."""
    if settings.channel_profiles is None:
        return StaticProfiles()
    profiles = ReloadingProfiles(settings.channel_profiles, settings.profile_names())
    loops.start("profiles_reload", profiles.maybe_reload, RELOAD_CHECK_SECONDS)
    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, profiles.reload)
    return profiles


class ChannelBudget:
    """The monthly budget the question's channel profile sets (None: the global one)."""

    def __init__(self, profiles: Profiles) -> None:
        self._profiles = profiles

    def __call__(self, question: Question) -> float | None:
        """The profile's budget_monthly_usd."""
        return self._profiles.for_question(question).budget_monthly_usd


class McpServersOfProfile:
    """A provider of MCP tools narrowed to the servers the question's channel profile lists."""

    def __init__(self, provider: ToolProvider, profiles: Profiles) -> None:
        self._provider = provider
        self._profiles = profiles

    async def tools_for(self, question: Question) -> list[Tool]:
        """The provider's tools whose server (`<server>__<tool>`) the profile allows."""
        servers = self._profiles.for_question(question).mcp_servers
        tools = list(await self._provider.tools_for(question))
        if servers is None:
            return tools
        return [t for t in tools if t.spec.name.split("__", 1)[0] in servers]
