"""Budgets for /claude-batch: the estimate is checked against what is left when it is shown,
and held (like a question's) when the job is submitted, until its cost is in the ledger. The
owner's daily budget and the channel's monthly one apply; a bot admin (owner or the one who
presses Run) is exempt. Redis trouble lets the batch through, as it does a question."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog
from redis.exceptions import RedisError

from bot.usage.guard import utc_now
from bot.usage.holds import BATCH, HoldRequest, SpendHolds
from bot.usage.records import to_nanos
from bot.usage.spend_limits import Budgets, refusal

log = structlog.get_logger("bot.usage.batches")

# Batches end within 24 hours; the poller records their cost soon after. A hold left by a job
# whose end was never seen expires past that.
BATCH_HOLD_SECONDS = 26 * 3600.0


class BatchSpend:
    """Checks and holds batch estimates against the budgets (the BatchBudget of the service)."""

    def __init__(
        self, holds: SpendHolds, budgets: Budgets, now: Callable[[], datetime] = utc_now
    ) -> None:
        self._holds = holds
        self._budgets = budgets
        self._now = now

    def _request(
        self, team: str, owner: str, channel: str, hold_id: str, usd: float, by: str
    ) -> HoldRequest | None:
        budgets = self._budgets
        if not budgets.any or budgets.exempt(owner) or budgets.exempt(by):
            return None
        in_channel = not channel.startswith("D")
        user_limit, channel_limit = budgets.limits_nanos(owner, in_channel=in_channel)
        return HoldRequest(
            team=team,
            user=owner,
            channel=channel if in_channel and channel_limit is not None else None,
            hold_id=hold_id,
            nanos=to_nanos(usd),
            ttl_seconds=BATCH_HOLD_SECONDS,
            kind=BATCH,
            user_limit=user_limit,
            channel_limit=channel_limit,
        )

    async def _decide(self, request: HoldRequest | None, usd: float, *, peek: bool) -> str:
        if request is None:
            return ""
        now = self._now()
        try:
            result = await self._holds.hold(request, now, peek=peek)
        except RedisError as exc:
            log.warning("usage.budget_unchecked", error=type(exc).__name__)
            return ""
        return "" if result.ok else refusal(self._budgets, result, usd, now, "this batch")

    async def over(self, *, team: str, owner: str, channel: str, usd: float) -> str:
        """Why a batch estimated at `usd` cannot run now ("" when it fits what is left)."""
        request = self._request(team, owner, channel, "estimate", usd, owner)
        return await self._decide(request, usd, peek=True)

    async def hold(
        self, *, team: str, owner: str, channel: str, hold_id: str, usd: float, by: str
    ) -> str:
        """Hold the estimate until release(); the refusal when it does not fit ("" when held)."""
        request = self._request(team, owner, channel, hold_id, usd, by)
        return await self._decide(request, usd, peek=False)

    async def release(self, *, team: str, owner: str, channel: str, hold_id: str) -> None:
        """The batch's cost is in the ledger (or it never ran): drop its hold."""
        try:
            await self._holds.release(
                team, owner, None if channel.startswith("D") else channel, hold_id
            )
        except RedisError as exc:
            log.warning("usage.hold_not_released", error=type(exc).__name__)
