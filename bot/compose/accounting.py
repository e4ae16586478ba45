"""Cost control and observability, put together for the composition root: the usage ledger and
budgets (the core's UsageGuard), the /claude-usage reporter, the metrics and their server."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from bot.config import Settings
from bot.conversation.messages import Question
from bot.conversation.ports import ChatModel
from bot.metrics.hooks import MeteredChatModel
from bot.metrics.registry import BotMetrics
from bot.metrics.server import HealthCheck, Mount, add_monitoring
from bot.slack.api.rate_counter import RateLimitCounter
from bot.slack.api.web import WebClients
from bot.storage.connect import RedisClient
from bot.usage.guard import HOLD_MARGIN_SECONDS, InFlightLimits, LedgerGuard
from bot.usage.holds import SpendHolds
from bot.usage.ledger import RedisLedger
from bot.usage.report import UsageReporter
from bot.usage.spend_limits import Budgets


def budgets_of(settings: Settings) -> Budgets:
    """The budgets and the admins exempt from them, from the settings."""
    return Budgets(
        user_daily_usd=settings.budget_user_daily_usd,
        channel_monthly_usd=settings.budget_channel_monthly_usd,
        admins=settings.admins,
    )


@dataclass(frozen=True)
class Accounting:
    """What the wiring hands to the turn, the commands, the clients and the server."""

    metrics: BotMetrics
    guard: LedgerGuard
    reporter: UsageReporter

    @classmethod
    def build(
        cls,
        settings: Settings,
        client: RedisClient,
        channel_budget: Callable[[Question], float | None] | None = None,
    ) -> Accounting:
        """The ledger on this Redis, the budgets and admins from the settings, fresh metrics."""
        budgets = budgets_of(settings)
        metrics = BotMetrics()
        ledger = RedisLedger(client)
        in_flight = InFlightLimits(
            per_user=settings.max_answers_in_flight_per_user,
            hold_seconds=settings.turn_deadline_seconds + HOLD_MARGIN_SECONDS,
        )
        guard = LedgerGuard(
            ledger,
            budgets,
            metrics,
            holds=SpendHolds(client),
            in_flight=in_flight,
            channel_budget=channel_budget,
        )
        return cls(metrics, guard, UsageReporter(ledger, budgets))

    def meter(self, model: ChatModel) -> ChatModel:
        """The model, with its failures counted by kind."""
        return MeteredChatModel(model, self.metrics)

    def count_rate_limits(self, slack: WebClients) -> None:
        """Count every 429 any Web API client (any workspace's) receives."""
        slack.add_retry_handler(RateLimitCounter(self.metrics.observe_slack_rate_limit))

    def monitoring(
        self,
        *,
        slack_connected: HealthCheck,
        client: RedisClient,
        in_flight: Callable[[], int],
        loops: HealthCheck,
    ) -> Mount:
        """What adds /healthz and /metrics to a server (the transport says which one): /healthz
        checks Slack (connected, or serving), Redis, and that no background loop is dead."""
        self.metrics.track_in_flight(in_flight)

        async def redis_reachable() -> bool:
            return bool(await client.ping())

        checks = {"slack": slack_connected, "redis": redis_reachable, "loops": loops}
        return functools.partial(add_monitoring, metrics=self.metrics, checks=checks)
