"""Cost control and observability, put together for the composition root: the usage ledger and
budgets (the core's UsageGuard), the /claude-usage reporter, the metrics and their server."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.conversation.ports import ChatModel
from bot.metrics.hooks import MeteredChatModel
from bot.metrics.registry import BotMetrics
from bot.metrics.server import HealthCheck, metrics_app, start_server
from bot.slack.api.rate_counter import RateLimitCounter
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
    def build(cls, settings: Settings, client: RedisClient) -> Accounting:
        """The ledger on this Redis, the budgets and admins from the settings, fresh metrics."""
        budgets = budgets_of(settings)
        metrics = BotMetrics()
        ledger = RedisLedger(client)
        in_flight = InFlightLimits(
            per_user=settings.max_answers_in_flight_per_user,
            hold_seconds=settings.turn_deadline_seconds + HOLD_MARGIN_SECONDS,
        )
        guard = LedgerGuard(ledger, budgets, metrics, holds=SpendHolds(client), in_flight=in_flight)
        return cls(metrics, guard, UsageReporter(ledger, budgets))

    def meter(self, model: ChatModel) -> ChatModel:
        """The model, with its failures counted by kind."""
        return MeteredChatModel(model, self.metrics)

    def count_rate_limits(self, slack: AsyncWebClient) -> None:
        """Count every 429 the Web API client receives."""
        slack.retry_handlers.append(RateLimitCounter(self.metrics.observe_slack_rate_limit))

    async def serve(
        self,
        settings: Settings,
        stack: AsyncExitStack,
        *,
        slack_connected: HealthCheck,
        client: RedisClient,
        in_flight: Callable[[], int],
        loops: HealthCheck,
    ) -> None:
        """Start /healthz and /metrics when BOT_METRICS_PORT is set (stopped with the stack);
        /healthz checks the Slack connection, Redis, and that no background loop is dead."""
        self.metrics.track_in_flight(in_flight)
        if settings.metrics_port is None:
            return

        async def redis_reachable() -> bool:
            return bool(await client.ping())

        checks = {"slack": slack_connected, "redis": redis_reachable, "loops": loops}
        app = metrics_app(self.metrics, checks)
        runner = await start_server(app, settings.metrics_host, settings.metrics_port)
        stack.push_async_callback(runner.cleanup)
