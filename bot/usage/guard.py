"""The UsageGuard the core calls: an early budget check (one Redis read), the reservation of a
call's estimated cost and of a place among the asker's answers in flight (one Lua script), its
release when the answer ends, and the ledger and the metrics after each call. Redis trouble never
blocks an answer: the check and the reservation fail open, a record that cannot be written is
logged."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from redis.exceptions import RedisError

from bot.conversation.messages import AnswerDone, Question
from bot.conversation.usage import ALLOWED, AnswerTiming, BudgetVerdict, PlannedCall
from bot.metrics.registry import BotMetrics
from bot.usage.holds import ANSWER, HoldRequest, SpendHolds
from bot.usage.ledger import RedisLedger
from bot.usage.records import call_record, to_nanos
from bot.usage.spend_limits import Budgets, call_estimate_usd, hold_verdict, verdict

log = structlog.get_logger("bot.usage")

HOLD_MARGIN_SECONDS = 60.0  # past the turn's deadline, a hold left by a dead process expires


def utc_now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class InFlightLimits:
    """Answers one person may have in flight (0: no cap), and how long a hold may live: the
    turn's deadline (no answer runs longer) plus a margin."""

    per_user: int = 0
    hold_seconds: float = 600.0 + HOLD_MARGIN_SECONDS


class LedgerGuard:
    """Budgets from the ledger's totals and the holds; every finished call into the ledger and
    the metrics."""

    def __init__(
        self,
        ledger: RedisLedger,
        budgets: Budgets,
        metrics: BotMetrics,
        now: Callable[[], datetime] = utc_now,
        *,
        holds: SpendHolds | None = None,
        in_flight: InFlightLimits | None = None,
        channel_budget: Callable[[Question], float | None] | None = None,
    ) -> None:
        self._ledger = ledger
        self._global_budgets = budgets
        self._channel_budget = channel_budget  # a channel profile's own monthly budget
        self._metrics = metrics
        self._now = now
        self._holds = holds
        self._in_flight = in_flight or InFlightLimits()

    def _budgets(self, question: Question) -> Budgets:
        """The budgets that apply where the question was asked (a channel profile may set the
        channel's monthly budget)."""
        own = None if self._channel_budget is None else self._channel_budget(question)
        if own is None:
            return self._global_budgets
        return dataclasses.replace(self._global_budgets, channel_monthly_usd=own)

    def _channel(self, question: Question) -> str | None:
        """The channel whose monthly budget applies to the question (None: none does)."""
        if self._budgets(question).channel_monthly_usd is None or question.is_direct_message:
            return None
        return question.key.channel

    async def check(self, question: Question) -> BudgetVerdict:
        """Refused when the user's daily or the channel's monthly budget is used up (the
        ledger's spend); one cheap read that holds nothing: the reservation comes later."""
        budgets = self._budgets(question)
        if not budgets.any or budgets.exempt(question.user):
            return ALLOWED
        channel = self._channel(question)
        now = self._now()
        try:
            user_usd, channel_usd = await self._ledger.spend(
                question.key.team, question.user, channel, now
            )
        except RedisError as exc:
            log.warning("usage.budget_unchecked", error=type(exc).__name__)
            return ALLOWED
        found = verdict(budgets, user_today_usd=user_usd, channel_month_usd=channel_usd, now=now)
        return ALLOWED if found.allowed else found

    def _request(self, question: Question, hold_id: str, nanos: int) -> HoldRequest:
        user_limit, channel_limit = self._budgets(question).limits_nanos(
            question.user, in_channel=not question.is_direct_message
        )
        return HoldRequest(
            team=question.key.team,
            user=question.user,
            channel=self._channel(question),
            hold_id=hold_id,
            nanos=nanos,
            ttl_seconds=self._in_flight.hold_seconds,
            kind=ANSWER,
            user_limit=user_limit,
            channel_limit=channel_limit,
            cap=self._in_flight.per_user,
        )

    async def reserve(self, question: Question, planned: PlannedCall) -> BudgetVerdict:
        """Hold the call's estimate if it fits the budgets with everything spent and held, and
        the asker has fewer than the cap's answers in flight: one atomic Redis script."""
        budgets, cap = self._budgets(question), self._in_flight.per_user
        limited = budgets.any and not budgets.exempt(question.user)
        if self._holds is None or not (limited or cap):
            return ALLOWED
        estimate = call_estimate_usd(planned)
        hold_id = f"answer:{uuid.uuid4().hex}"
        now = self._now()
        try:
            result = await self._holds.hold(
                self._request(question, hold_id, to_nanos(estimate)), now
            )
        except RedisError as exc:
            log.warning("usage.budget_unchecked", error=type(exc).__name__)
            return ALLOWED
        if not result.ok:
            log.info(
                "usage.hold_refused",
                outcome=result.outcome,
                estimate_usd=round(estimate, 6),
                answers_in_flight=result.answers,
            )
        found = hold_verdict(
            budgets,
            result,
            estimate_usd=estimate,
            cap=cap,
            hold_id=hold_id,
            in_channel=self._channel(question) is not None,
            now=now,
        )
        return found if limited or not found.allowed else BudgetVerdict(hold=hold_id)

    async def release(self, question: Question, verdict: BudgetVerdict) -> None:
        """Drop the answer's hold (best effort: it expires on its own)."""
        if not verdict.hold or self._holds is None:
            return
        try:
            await self._holds.release(
                question.key.team, question.user, self._channel(question), verdict.hold
            )
        except RedisError as exc:
            log.warning("usage.hold_not_released", error=type(exc).__name__)

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
