"""Channel profiles: each channel's own Claude (instructions, default tier, tools, MCP servers,
repositories, budget, memory), laid over the default profile; DMs use the `dm` profile.

A profile field left unset (None) means "as the bot is configured": all configured tools, every
repository, the global budget. Values only; loading and reloading the YAML is the adapter's job.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Protocol

from bot.conversation.messages import Question


@dataclass(frozen=True)
class Profile:
    """What a channel's answers may use and how they behave."""

    system_prompt: str = ""  # added after the base prompt (byte-stable: the cache keeps hitting)
    tier: str | None = None  # the default tier of new threads there
    tools: tuple[str, ...] | None = None  # server tools (a subset of BOT_TOOLS)
    mcp_servers: tuple[str, ...] | None = None  # MCP servers whose tools are offered there
    repos: tuple[str, ...] | None = None  # /ask-code repositories that may be asked about there
    budget_monthly_usd: float | None = None  # the channel's monthly budget (over the global one)
    memory: bool | None = None  # whether memory is offered (None: the bot's default)
    pii_redaction: bool | None = None  # redact emails, phones, cards before Claude (None: default)

    def over(self, base: Profile) -> Profile:
        """This profile laid over `base`: each field set here wins, the rest comes from base."""
        changes = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) not in (None, "")
        }
        return dataclasses.replace(base, **changes)

    def system(self, base_prompt: str) -> str:
        """The system prompt: the bot's, then this profile's instructions."""
        extra = self.system_prompt.strip()
        return f"{base_prompt}\n\n{extra}" if extra else base_prompt

    def allows_repo(self, repo: str) -> bool:
        """Whether an /ask-code repository may be asked about here."""
        return self.repos is None or repo in self.repos


NO_PROFILE = Profile()


@dataclass(frozen=True)
class ProfileBook:
    """The default, DM and per-channel profiles, already laid over the default."""

    default: Profile = NO_PROFILE
    dm: Profile = NO_PROFILE
    channels: dict[str, Profile] = field(default_factory=dict)

    @classmethod
    def of(cls, default: Profile, dm: Profile, channels: dict[str, Profile]) -> ProfileBook:
        """Each DM and channel profile laid over the default."""
        return cls(default, dm.over(default), {c: p.over(default) for c, p in channels.items()})

    def for_channel(self, channel: str, *, is_direct_message: bool) -> Profile:
        """The effective profile of a conversation."""
        if is_direct_message:
            return self.dm
        return self.channels.get(channel, self.default)


class Profiles(Protocol):
    """Where the turn learns the profile of a question's conversation (it may be reloaded)."""

    def for_conversation(self, channel: str, *, is_direct_message: bool) -> Profile:
        """The effective profile of a channel or DM."""
        ...

    def for_question(self, question: Question) -> Profile:
        """The effective profile where the question was asked."""
        ...


class StaticProfiles:
    """One profile book that never changes (no BOT_CHANNEL_PROFILES: everyone gets NO_PROFILE)."""

    def __init__(self, book: ProfileBook | None = None) -> None:
        self.book = book or ProfileBook()

    def for_conversation(self, channel: str, *, is_direct_message: bool) -> Profile:
        """The effective profile of a channel or DM."""
        return self.book.for_channel(channel, is_direct_message=is_direct_message)

    def for_question(self, question: Question) -> Profile:
        """The effective profile."""
        return self.for_conversation(
            question.key.channel, is_direct_message=question.is_direct_message
        )


def describe(profile: Profile, base_prompt_chars: int) -> str:
    """The effective profile as /claude-config shows it (mrkdwn)."""

    def listed(names: tuple[str, ...] | None, everything: str) -> str:
        if names is None:
            return everything
        return ", ".join(f"`{name}`" for name in names) or "none"

    def switch(value: bool | None) -> str:
        return "the bot default" if value is None else ("on" if value else "off")

    budget = profile.budget_monthly_usd
    lines = [
        f"*Default tier:* {profile.tier or 'the bot default'}",
        f"*Server tools:* {listed(profile.tools, 'all configured (BOT_TOOLS)')}",
        f"*MCP servers:* {listed(profile.mcp_servers, 'all configured')}",
        f"*Repositories for /ask-code:* {listed(profile.repos, 'all configured')}",
        f"*Monthly budget:* {'the global one' if budget is None else f'${budget:,.2f}'}",
        f"*Memory:* {switch(profile.memory)}",
        f"*PII redaction:* {switch(profile.pii_redaction)}",
    ]
    extra = profile.system_prompt.strip()
    prompt = f"> {extra[:1500]}" if extra else "_none_"
    lines.append(f"*Instructions added to the base prompt ({base_prompt_chars:,} characters):*")
    lines.append(prompt.replace("\n", "\n> "))
    return "\n".join(lines)
