"""The UsageGuard the core calls: budgets before a model call (one Redis read), the ledger and
the metrics after it. Redis trouble never blocks an answer: the check fails open, a record that
cannot be written is logged."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from redis.exceptions import RedisError

from bot.conversation.messages import AnswerDone, Question
from bot.conversation.usage import ALLOWED, AnswerTiming, BudgetVerdict
from bot.metrics.registry import BotMetrics
from bot.usage.budget import Budgets, verdict
from bot.usage.ledger import RedisLedger
from bot.usage.records import call_record

log = structlog.get_logger("bot.usage")


def utc_now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


class LedgerGuard:
    """Budgets from the ledger's totals; every finished call into the ledger and the metrics."""

    def __init__(
        self,
        ledger: RedisLedger,
        budgets: Budgets,
        metrics: BotMetrics,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._ledger = ledger
        self._budgets = budgets
        self._metrics = metrics
        self._now = now

    async def check(self, question: Question) -> BudgetVerdict:
        """Allowed unless the user's daily or the channel's monthly budget is used up."""
        budgets = self._budgets
        if not budgets.any or budgets.exempt(question.user):
            return ALLOWED
        wants_channel = budgets.channel_monthly_usd is not None and not question.is_direct_message
        channel = question.key.channel if wants_channel else None
        now = self._now()
        try:
            user_usd, channel_usd = await self._ledger.spend(
                question.key.team, question.user, channel, now
            )
        except RedisError as exc:
            log.warning("usage.budget_unchecked", error=type(exc).__name__)
            return ALLOWED
        return verdict(budgets, user_today_usd=user_usd, channel_month_usd=channel_usd, now=now)

    async def record(self, question: Question, done: AnswerDone) -> None:
        """Count the call in the metrics and append it to the ledger."""
        record = call_record(question, done, self._now())
        self._metrics.observe_call(record)
        try:
            await self._ledger.add(record)
        except RedisError as exc:
            log.warning("usage.not_recorded", error=type(exc).__name__, cost_usd=record.cost_usd)
            return
        log.debug("usage.recorded", feature=record.feature, cost_usd=round(record.cost_usd, 6))

    def timed(self, timing: AnswerTiming) -> None:
        """Put the answer's timing into the histograms."""
        self._metrics.observe_answer(timing)
