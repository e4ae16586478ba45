"""`/claude-routine` text to a command (pure).

every weekday at 9:00 summarise #incidents into this channel
every monday 8:00 ask: what should the team focus on this week?
every day at 17:30:15 summarise #support     (seconds are allowed)
list | delete <id>
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DAYS = {
    "day": "*",
    "weekday": "mon-fri",
    "weekend": "sat,sun",
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}
_DAY_WORD = "(?:day|" + "|".join(f"{day}s?" for day in list(DAYS)[1:]) + ")"
_CREATE = re.compile(
    rf"^every\s+(?P<days>{_DAY_WORD}(?:\s*(?:,|and)\s*{_DAY_WORD})*)\s+(?:at\s+)?"
    r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?(?::(?P<second>\d{2}))?\s*(?P<ampm>am|pm)?\s+"
    r"(?P<action>.+)$",
    re.I | re.S,
)
_SUMMARISE = re.compile(
    r"^(?:summari[sz]e)\s+<#(?P<id>[CG][A-Z0-9]{2,})(?:\|(?P<name>[^>]*))?>"
    r"(?:\s+(?:in)?to\s+this\s+channel)?\s*$",
    re.I,
)
_ASK = re.compile(r"^ask\s*:?\s*(?P<prompt>.+)$", re.I | re.S)
USAGE = (
    "Routines post on a schedule, in your timezone, with your permissions. Try:\n"
    "• `/claude-routine every weekday at 9:00 summarise #incidents into this channel`\n"
    "• `/claude-routine every monday 8:00 ask: what should we focus on this week?`\n"
    "• `/claude-routine list` · `/claude-routine delete <id>`"
)
MAX_PROMPT_CHARS = 3000


@dataclass(frozen=True)
class Schedule:
    """When: cron fields (APScheduler's CronTrigger), read in the owner's timezone."""

    day_of_week: str
    hour: int
    minute: int
    second: int = 0
    text: str = ""  # as the person wrote it, for the list


@dataclass(frozen=True)
class Create:
    """A new routine: summarise a channel, or ask a prompt."""

    schedule: Schedule
    source_channel: str | None = None  # summarise this channel …
    source_name: str = ""
    prompt: str | None = None  # … or ask this


@dataclass(frozen=True)
class Listing:
    """`list`."""


@dataclass(frozen=True)
class Delete:
    """`delete <id>`."""

    routine_id: str


Command = Create | Listing | Delete


def _day(word: str) -> str:
    word = word.lower()
    return DAYS.get(word.removesuffix("s"), DAYS.get(word, ""))


def _days(text: str) -> str | None:
    parts = [p for p in re.split(r"\s*(?:,|and)\s*", text.strip(), flags=re.I) if p]
    fields = [_day(p) for p in parts]
    if not fields or not all(fields):
        return None
    if "*" in fields:
        return "*"
    return ",".join(dict.fromkeys(fields))


def _hour(raw: str, ampm: str | None) -> int | None:
    hour = int(raw)
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
    return hour if 0 <= hour <= 23 else None


def parse_routine(text: str) -> Command | str:
    """The command, or what to tell the person (usage or the problem)."""
    words = text.strip()
    if words.lower() in ("list", "ls", ""):
        return Listing() if words else USAGE
    delete = re.fullmatch(r"(?:delete|remove|stop)\s+(\S+)", words, re.I)
    if delete:
        return Delete(delete.group(1))
    match = _CREATE.match(words)
    if match is None:
        return f"I couldn't read that schedule.\n{USAGE}"
    days = _days(match.group("days"))
    hour = _hour(match.group("hour"), match.group("ampm"))
    minute, second = int(match.group("minute") or 0), int(match.group("second") or 0)
    if days is None or hour is None or minute > 59 or second > 59:
        return f"I couldn't read that time or those days.\n{USAGE}"
    when = words[: match.start("action")].strip()
    schedule = Schedule(days, hour, minute, second, text=when)
    action = match.group("action").strip()
    summarise = _SUMMARISE.match(action)
    if summarise:
        name = summarise.group("name") or ""
        return Create(schedule, source_channel=summarise.group("id"), source_name=name)
    ask = _ASK.match(action)
    if ask:
        prompt = ask.group("prompt").strip()
        if len(prompt) > MAX_PROMPT_CHARS:
            return f"That prompt is too long (at most {MAX_PROMPT_CHARS:,} characters)."
        return Create(schedule, prompt=prompt)
    return f"After the time, say `summarise #channel` or `ask: <prompt>`.\n{USAGE}"
