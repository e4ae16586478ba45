"""Channel profiles put together: the YAML of BOT_CHANNEL_PROFILES, reloaded when it changes
(a supervised loop looks every few seconds) or on SIGHUP; no file, no profiles."""

from __future__ import annotations

import asyncio
import signal

from bot.config import Settings
from bot.conversation.messages import ChatMessage, Question
from bot.conversation.ports import Redactor
from bot.conversation.profiles import Profiles, StaticProfiles
from bot.conversation.tools import Tool, ToolProvider
from bot.governance.pii import PiiRedactor
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


class MemoryOfProfile:
    """The memory tool where the question's channel profile (else BOT_MEMORY) turns it on."""

    def __init__(self, provider: ToolProvider, profiles: Profiles, *, default: bool) -> None:
        self._provider = provider
        self._profiles = profiles
        self._default = default

    async def tools_for(self, question: Question) -> list[Tool]:
        """The provider's tools, or none where memory is off."""
        on = self._profiles.for_question(question).memory
        if not (self._default if on is None else on):
            return []
        return list(await self._provider.tools_for(question))


class RedactionOfProfile:
    """PII redaction where the question's channel profile (else BOT_PII_REDACTION) turns it on."""

    def __init__(self, redactor: Redactor, profiles: Profiles, *, default: bool) -> None:
        self._redactor = redactor
        self._profiles = profiles
        self._default = default

    async def redact(self, question: Question, message: ChatMessage) -> ChatMessage:
        """The user turn, redacted where it is on."""
        on = self._profiles.for_question(question).pii_redaction
        if not (self._default if on is None else on):
            return message
        return await self._redactor.redact(question, message)


def pii_redactor(settings: Settings, profiles: Profiles) -> Redactor | None:
    """PII redaction where BOT_PII_REDACTION or the channel's profile turns it on (None: off
    everywhere, nothing to check per question)."""
    if not settings.pii_redaction and settings.channel_profiles is None:
        return None
    redactor = PiiRedactor(settings.pii_region)
    return RedactionOfProfile(redactor, profiles, default=settings.pii_redaction)
