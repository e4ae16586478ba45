"""What /claude-usage shows, read from the ledger: the caller's spend today and this month, their
budget, cache savings; for admins the top channels, users and models over 7 and 30 days."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.usage.guard import utc_now
from bot.usage.ledger import RedisLedger
from bot.usage.ledger_keys import RANKED_DIMENSIONS, day_of, month_of
from bot.usage.records import Totals
from bot.usage.spend_limits import Budgets, next_day, next_month

WINDOWS = (7, 30)
TOP_N = 5


@dataclass(frozen=True)
class Ranking:
    """The top spenders of one kind (user, channel, model) over a number of days."""

    dimension: str
    days: int
    entries: list[tuple[str, float]]  # (id, USD), biggest first


@dataclass(frozen=True)
class UsageReport:
    """Everything one /claude-usage answer shows."""

    user: str
    channel: str
    now: datetime
    today: Totals
    month: Totals
    budgets: Budgets
    channel_month: Totals | None = None  # when a channel budget applies
    rankings: list[Ranking] = field(default_factory=list)  # admins only

    @property
    def is_admin(self) -> bool:
        """Whether the caller is one of the bot's admins."""
        return self.budgets.exempt(self.user)

    @property
    def day_resets(self) -> datetime:
        """When today's spend starts again from zero."""
        return next_day(self.now)

    @property
    def month_resets(self) -> datetime:
        """When this month's spend starts again from zero."""
        return next_month(self.now)


class UsageReporter:
    """Reads a report from the ledger (raises RedisError when Redis is unreachable)."""

    def __init__(
        self, ledger: RedisLedger, budgets: Budgets, now: Callable[[], datetime] = utc_now
    ) -> None:
        self._ledger = ledger
        self._budgets = budgets
        self._now = now

    async def report(self, team: str, user: str, channel: str) -> UsageReport:
        """The caller's report; with the top lists when the caller is an admin."""
        now = self._now()
        ledger = self._ledger
        today, month = await asyncio.gather(
            ledger.day_totals(team, day_of(now), "user", user),
            ledger.month_totals(team, month_of(now), "user", user),
        )
        channel_month = None
        if self._budgets.channel_monthly_usd is not None:
            channel_month = await ledger.month_totals(team, month_of(now), "channel", channel)
        rankings: list[Ranking] = []
        if self._budgets.exempt(user):
            rankings = await self._rankings(team, now)
        return UsageReport(
            user=user,
            channel=channel,
            now=now,
            today=today,
            month=month,
            budgets=self._budgets,
            channel_month=channel_month,
            rankings=rankings,
        )

    async def _rankings(self, team: str, now: datetime) -> list[Ranking]:
        wanted = [(dim, days) for dim in RANKED_DIMENSIONS for days in WINDOWS]
        tops = await asyncio.gather(
            *(self._ledger.top(team, dim, now, days, TOP_N) for dim, days in wanted)
        )
        return [Ranking(dim, days, top) for (dim, days), top in zip(wanted, tops, strict=True)]
