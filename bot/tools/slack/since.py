"""`since` for reading a channel: "2026-12-01", "2026-12-01T09:30", "monday", "today",
"yesterday", "24h", "7d", "2w" — in the asker's timezone (pure)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SPAN = re.compile(r"(\d{1,4})\s*(h|hours?|d|days?|w|weeks?)")
SPAN_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
HELP = (
    "`since` takes a date (2026-12-01), a date and time (2026-12-01T09:30), a weekday (monday: "
    "the most recent one, from its start), today, yesterday, or a span like 24h, 7d, 2w."
)


class BadSince(ValueError):
    """A `since` the tool cannot read (the message says what it takes)."""


def zone(name: str) -> ZoneInfo:
    """The IANA zone, UTC when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_since(text: str, now: datetime) -> datetime:
    """The moment `text` names, relative to `now` (an aware datetime in the asker's zone)."""
    word = text.strip().lower()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if word == "today":
        return midnight
    if word == "yesterday":
        return midnight - timedelta(days=1)
    if word in WEEKDAYS:
        back = (now.weekday() - WEEKDAYS.index(word)) % 7
        return midnight - timedelta(days=back)
    span = _SPAN.fullmatch(word)
    if span:
        return now - int(span.group(1)) * SPAN_UNITS[span.group(2)[0]]
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadSince(f"I can't read since={text!r}. {HELP}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=now.tzinfo)
