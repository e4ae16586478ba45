"""Redis keys of the usage ledger: `csb:v1:usage:{team}:...`, the workspace as the hash tag.

    {team}:calls:<day>                      stream, one entry per Claude call
    {team}:day:<day>:<dim>:<id>             hash of totals (dim: user, channel, model, feature)
    {team}:day:<day>:rank:<dim>             sorted set id -> cost in nano-USD (top lists)
    {team}:month:<month>:<dim>:<id>         hash of totals (dim: user, channel)

Days and months are UTC (`2026-10-05`, `2026-10`). Every key has a TTL, so memory stays bounded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.storage.key_layout import PREFIX

USAGE = f"{PREFIX}:usage"
DAY_DIMENSIONS = ("user", "channel", "model", "feature")
MONTH_DIMENSIONS = ("user", "channel")
RANKED_DIMENSIONS = ("user", "channel", "model")
DAY_TTL_SECONDS = 35 * 86_400  # the 30-day report, plus slack
MONTH_TTL_SECONDS = 70 * 86_400  # this month and the one before


def day_of(at: datetime) -> str:
    """The UTC day of a moment, e.g. 2026-10-05."""
    return at.astimezone(UTC).strftime("%Y-%m-%d")


def month_of(at: datetime) -> str:
    """The UTC month of a moment, e.g. 2026-10."""
    return at.astimezone(UTC).strftime("%Y-%m")


def last_days(now: datetime, count: int) -> list[str]:
    """The UTC days of the last `count` days, today included, newest first."""
    return [day_of(now - timedelta(days=back)) for back in range(count)]


def calls_key(team: str, day: str) -> str:
    """The stream of one day's call records."""
    return f"{USAGE}:{{{team}}}:calls:{day}"


def day_totals_key(team: str, day: str, dimension: str, ident: str) -> str:
    """One day's totals of one user, channel, model or feature."""
    return f"{USAGE}:{{{team}}}:day:{day}:{dimension}:{ident}"


def day_rank_key(team: str, day: str, dimension: str) -> str:
    """One day's spend per user, channel or model, for top lists."""
    return f"{USAGE}:{{{team}}}:day:{day}:rank:{dimension}"


def month_totals_key(team: str, month: str, dimension: str, ident: str) -> str:
    """One month's totals of one user or channel."""
    return f"{USAGE}:{{{team}}}:month:{month}:{dimension}:{ident}"
