"""Budgets (pure): per user per day and per channel per month, in USD; what a call may cost; the
verdict before a call, and the words for it: a polite refusal with the reset time, a warning from
80 %, the cap on answers in flight.

A call's estimate is its input (estimated tokens at the input price) plus its whole output cap
(max_tokens at the output price), plus every web search it may make: an upper bound in practice
(cache reads cost a tenth of the input price; only a first cache write costs 25 % more), so
concurrent answers cannot overspend, at the price of refusing a question near the limit that
would have fitted. The refusal says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.claude.catalog import CATALOG, WEB_SEARCH_USD
from bot.conversation.usage import ALLOWED, BudgetVerdict, PlannedCall
from bot.usage.records import to_nanos, to_usd

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

    def limits_nanos(self, user: str, in_channel: bool) -> tuple[int | None, int | None]:
        """The user's daily and the channel's monthly limit for this person, in nano-USD
        (None: no such limit; admins have none; the channel's does not apply in a DM)."""
        if self.exempt(user):
            return None, None
        daily = self.user_daily_usd
        monthly = self.channel_monthly_usd if in_channel else None
        return (
            None if daily is None else to_nanos(daily),
            None if monthly is None else to_nanos(monthly),
        )


def call_estimate_usd(planned: PlannedCall) -> float:
    """The most a call should cost: its input at the input price (long-context prices above
    their threshold), its whole output cap at the output price and, with web search on, every
    search it may make (max_uses) at the search price; 0 for a model the catalog does not know
    (the ledger prices it at 0 too)."""
    model = CATALOG.get(planned.model)
    if model is None:
        return 0.0
    prices = model.prices_for(planned.input_tokens)
    output = min(planned.max_output_tokens, model.max_output)
    tokens = (planned.input_tokens * prices.input + output * prices.output) / 1_000_000
    return tokens + planned.max_web_searches * WEB_SEARCH_USD


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

    def short(self, now: datetime, estimate: float, held: float, what: str) -> str:
        """The estimate does not fit what is left of this budget (answers in progress counted)."""
        left = max(0.0, self.limit - self.spent - held)
        pending = " once the answers in progress are paid for" if held > 0 else ""
        return (
            f"Sorry, {what} could cost up to {money(estimate)}, and only {money(left)} of "
            f"{self.whose} Claude budget ({money(self.limit)}) is left{pending}, so I can't "
            f"send it to Claude right now. It resets {reset_phrase(self.reset, now)}. "
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


@dataclass(frozen=True)
class HoldResult:
    """What the reservation script decided, and the amounts it saw (nano-USD; the request's own
    earlier hold, if any, left out)."""

    outcome: str  # "ok", "cap" (answers in flight), "user" or "channel" (the limit passed)
    user_spent: int
    user_held: int
    channel_spent: int
    channel_held: int
    answers: int  # the person's answers in flight besides this one

    @property
    def ok(self) -> bool:
        """The estimate fits (and, unless only peeking, is now held)."""
        return self.outcome == "ok"


def cap_message(cap: int) -> str:
    """The polite refusal when a person already has `cap` answers on the way."""
    answers = "answer" if cap == 1 else "answers"
    return (
        f"Sorry, you already have {cap} {answers} on the way, and I write at most {cap} at a "
        "time for one person. Ask again when one of them has finished."
    )


def _limit_of(budgets: Budgets, result: HoldResult, now: datetime) -> _Limit:
    if result.outcome == "channel" and budgets.channel_monthly_usd is not None:
        return _Limit(
            "this channel's monthly",
            to_usd(result.channel_spent),
            budgets.channel_monthly_usd,
            next_month(now),
        )
    limit = budgets.user_daily_usd or 0.0
    return _Limit("your daily", to_usd(result.user_spent), limit, next_day(now))


def refusal(
    budgets: Budgets, result: HoldResult, estimate_usd: float, now: datetime, what: str
) -> str:
    """Why a hold was refused, for people: used up, or not enough left for `what`."""
    limit = _limit_of(budgets, result, now)
    if limit.spent >= limit.limit:
        return limit.refusal(now)
    held = to_usd(result.channel_held if result.outcome == "channel" else result.user_held)
    return limit.short(now, estimate_usd, held, what)


def hold_verdict(
    budgets: Budgets,
    result: HoldResult,
    *,
    estimate_usd: float,
    cap: int,
    hold_id: str,
    in_channel: bool,
    now: datetime,
) -> BudgetVerdict:
    """The verdict on a question from the reservation script: the cap's or the budget's
    refusal, or allowed (holding `hold_id`) with the 80 % warnings of the ledger's spend."""
    if result.outcome == "cap":
        return BudgetVerdict(allowed=False, message=cap_message(cap))
    if not result.ok:
        message = refusal(budgets, result, estimate_usd, now, "this question")
        return BudgetVerdict(allowed=False, message=message)
    spent = verdict(
        budgets,
        user_today_usd=to_usd(result.user_spent),
        channel_month_usd=to_usd(result.channel_spent) if in_channel else None,
        now=now,
    )
    return BudgetVerdict(warning=spent.warning, hold=hold_id)
