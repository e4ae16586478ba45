"""Budgets (pure): per user per day and per channel per month, in USD; the verdict before a call,
and the words for it: a polite refusal with the reset time, a warning from 80 %."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.conversation.usage import ALLOWED, BudgetVerdict

WARN_SHARE = 0.8


@dataclass(frozen=True)
class Budgets:
    """The limits from the settings; None means no limit."""

    user_daily_usd: float | None = None
    channel_monthly_usd: float | None = None
    admins: frozenset[str] = frozenset()
    warn_share: float = WARN_SHARE

    @property
    def any(self) -> bool:
        """Whether any limit is set."""
        return self.user_daily_usd is not None or self.channel_monthly_usd is not None

    def exempt(self, user: str) -> bool:
        """Admins are never limited."""
        return user in self.admins


def next_day(now: datetime) -> datetime:
    """Midnight UTC after now: when a daily budget resets."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=1)


def next_month(now: datetime) -> datetime:
    """The first of the next month, midnight UTC: when a monthly budget resets."""
    utc = now.astimezone(UTC)
    year, month = (utc.year + 1, 1) if utc.month == 12 else (utc.year, utc.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def money(usd: float) -> str:
    """USD for people: cents from a dollar up, four decimals below a cent."""
    if usd == 0:
        return "$0.00"
    return f"${usd:,.2f}" if abs(usd) >= 0.01 else f"${usd:.4f}"


def wait_phrase(seconds: float) -> str:
    """A duration for people: "12 days", "5 h 12 min", "3 min"."""
    minutes = max(1, round(seconds / 60))
    if minutes >= 2 * 24 * 60:
        return f"{round(minutes / (24 * 60))} days"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if hours else f"{rest} min"


def reset_phrase(reset: datetime, now: datetime) -> str:
    """When a budget resets, e.g. "at 00:00 UTC, in 5 h 12 min"."""
    wait = wait_phrase((reset - now).total_seconds())
    if reset - now <= timedelta(days=1):
        return f"at 00:00 UTC, in {wait}"
    return f"on {reset.day} {reset:%B} at 00:00 UTC, in {wait}"


@dataclass(frozen=True)
class _Limit:
    """One budget that applies to a question, and how much of it is spent."""

    whose: str  # "your daily", "this channel's monthly"
    spent: float
    limit: float
    reset: datetime

    def refusal(self, now: datetime) -> str:
        return (
            f"Sorry, {self.whose} Claude budget ({money(self.limit)}) is used up, so I can't ask "
            f"Claude right now. It resets {reset_phrase(self.reset, now)}. "
            "If this is urgent, ask a bot admin."
        )

    def warning(self, now: datetime) -> str:
        share = round(100 * self.spent / self.limit)
        whose = self.whose[0].upper() + self.whose[1:]
        return (
            f":hourglass_flowing_sand: _{whose} Claude budget is {share} % used "
            f"({money(self.spent)} of {money(self.limit)}); it resets "
            f"{reset_phrase(self.reset, now)}._"
        )


def verdict(
    budgets: Budgets,
    *,
    user_today_usd: float,
    channel_month_usd: float | None,
    now: datetime,
) -> BudgetVerdict:
    """Refuse when a budget is used up (the channel's first); warn from warn_share.

    `channel_month_usd` is None where the channel budget does not apply (a DM)."""
    limits: list[_Limit] = []
    if budgets.channel_monthly_usd is not None and channel_month_usd is not None:
        limits.append(
            _Limit(
                "this channel's monthly",
                channel_month_usd,
                budgets.channel_monthly_usd,
                next_month(now),
            )
        )
    if budgets.user_daily_usd is not None:
        limits.append(_Limit("your daily", user_today_usd, budgets.user_daily_usd, next_day(now)))
    for limit in limits:
        if limit.spent >= limit.limit:
            return BudgetVerdict(allowed=False, message=limit.refusal(now))
    warnings = [x.warning(now) for x in limits if x.spent >= budgets.warn_share * x.limit]
    return BudgetVerdict(warning="\n".join(warnings)) if warnings else ALLOWED
