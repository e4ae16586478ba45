"""BOT_CHANNEL_PROFILES: the YAML file of channel profiles, checked whole at start (one clear line
per problem), reloaded when it changes or on SIGHUP (a bad edit keeps the profiles in force and
logs why).

    default: {tier: sonnet}
    dm: {memory: true}
    channels:
      C0123ABCD: {system_prompt: "You support our payments team.", tier: opus,
                  tools: [web_search], mcp_servers: [tickets], repos: [api],
                  budget_monthly_usd: 50, memory: true}
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
import yaml

from bot.conversation.messages import Question
from bot.conversation.profiles import Profile, ProfileBook

log = structlog.get_logger("bot.profiles")

CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
TOP_KEYS = frozenset({"default", "dm", "channels"})
LISTS = ("tools", "mcp_servers", "repos")


class ProfileError(ValueError):
    """The profiles file can't be used; the message is one line naming the file and the place."""


@dataclass(frozen=True)
class Known:
    """What profiles may name: the configured tiers, server tools, MCP servers, repositories."""

    tiers: Collection[str]
    tools: Collection[str]
    mcp_servers: Collection[str]
    repos: Collection[str]


def load_profiles(path: Path, known: Known) -> ProfileBook:
    """Read and check the file; ProfileError with one line for the first problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"{path}: can't be read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ProfileError(f"{path}: not valid YAML{where}") from None
    return parse_profiles(data or {}, known, source=str(path))


def parse_profiles(data: Any, known: Known, *, source: str) -> ProfileBook:
    """The profile book of already-parsed YAML (pure)."""
    if not isinstance(data, dict):
        raise ProfileError(f"{source}: the top level must be a mapping of default, dm, channels")
    unknown = sorted(set(map(str, data)) - TOP_KEYS)
    if unknown:
        raise ProfileError(f"{source}: unknown key {unknown[0]!r} (use default, dm, channels)")
    channels = data.get("channels") or {}
    if not isinstance(channels, dict):
        raise ProfileError(f"{source}: channels must map channel ids to profiles")
    parsed = {}
    for channel, entry in channels.items():
        if not CHANNEL_ID.match(str(channel)):
            raise ProfileError(f"{source}: {channel!r} is not a Slack channel id (like C0123ABCD)")
        parsed[str(channel)] = parse_profile(entry, known, f"{source}: channels.{channel}")
    default = parse_profile(data.get("default"), known, f"{source}: default")
    dm = parse_profile(data.get("dm"), known, f"{source}: dm")
    return ProfileBook.of(default, dm, parsed)


def parse_profile(entry: Any, known: Known, where: str) -> Profile:
    """One profile mapping; every key checked against what the bot has configured."""
    if entry is None:
        return Profile()
    if not isinstance(entry, dict):
        raise ProfileError(f"{where}: a profile is a mapping")
    fields: dict[str, Any] = {}
    for key, value in entry.items():
        fields[str(key)] = _field(str(key), value, known, f"{where}.{key}")
    return Profile(**fields)


def _field(key: str, value: Any, known: Known, where: str) -> Any:
    if key == "system_prompt":
        if not isinstance(value, str):
            raise ProfileError(f"{where}: must be text")
        return value
    if key == "tier":
        if value not in known.tiers:
            raise ProfileError(f"{where}: {value!r} is not a tier ({', '.join(known.tiers)})")
        return value
    if key in LISTS:
        allowed = {"tools": known.tools, "mcp_servers": known.mcp_servers, "repos": known.repos}
        return _names(value, allowed[key], where)
    if key == "budget_monthly_usd":
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ProfileError(f"{where}: must be a positive number of USD")
        return float(value)
    if key in ("memory", "pii_redaction"):
        if not isinstance(value, bool):
            raise ProfileError(f"{where}: must be true or false")
        return value
    raise ProfileError(f"{where}: unknown key (use system_prompt, tier, tools, mcp_servers, "
                       "repos, budget_monthly_usd, memory, pii_redaction)")  # fmt: skip


def _names(value: Any, allowed: Collection[str], where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProfileError(f"{where}: must be a list of names")
    for name in value:
        if name not in allowed:
            have = ", ".join(sorted(allowed)) or "none configured"
            raise ProfileError(f"{where}: {name!r} is not configured ({have})")
    return tuple(value)


class ReloadingProfiles:
    """The profiles of a file, read again when it changes (checked by `maybe_reload`, which a
    background loop calls) or when `reload` is called (SIGHUP)."""

    def __init__(self, path: Path, known: Known) -> None:
        self._path = path
        self._known = known
        self._stamp = self._mtime()
        self.book = load_profiles(path, known)

    def _mtime(self) -> float | None:
        try:
            return os.stat(self._path).st_mtime
        except OSError:
            return None

    def for_conversation(self, channel: str, *, is_direct_message: bool) -> Profile:
        """The effective profile of a channel or DM."""
        return self.book.for_channel(channel, is_direct_message=is_direct_message)

    def for_question(self, question: Question) -> Profile:
        """The effective profile where the question was asked."""
        return self.for_conversation(
            question.key.channel, is_direct_message=question.is_direct_message
        )

    def reload(self) -> bool:
        """Read the file again; a bad file keeps the profiles in force (logged). True if the
        new profiles are in force."""
        self._stamp = self._mtime()
        try:
            self.book = load_profiles(self._path, self._known)
        except ProfileError as exc:
            log.error("profiles.reload_failed", problem=str(exc))
            return False
        log.info("profiles.reloaded", channels=len(self.book.channels))
        return True

    async def maybe_reload(self) -> None:
        """Reload when the file's modification time changed."""
        if self._mtime() != self._stamp:
            self.reload()
