"""Metrics: what a finished call, a failure, a Slack 429 and an answer's timing add; the
/healthz and /metrics endpoints; the health check's URL."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.conversation.errors import ChatFailure, FailureKind
from bot.conversation.messages import (
    AnswerDone,
    AnswerEvent,
    ChatRequest,
    Question,
    StopReason,
    ThreadKey,
    Usage,
)
from bot.conversation.usage import AnswerTiming
from bot.health import endpoint_healthy, healthz_url
from bot.metrics.hooks import MeteredChatModel
from bot.metrics.registry import BotMetrics
from bot.metrics.server import metrics_app
from bot.slack.api.rate_counter import RateLimitCounter, method_of
from bot.usage.records import call_record

QUESTION = Question(ThreadKey("T1", "C1", "1.0"), "U1", "hi", "1.0", False, "1.0")
USAGE = Usage(100, 50, cache_read_tokens=300, cache_write_5m_tokens=100)


def _samples(metrics: BotMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_finished_call_counts_request_tokens_cost_and_cache_ratio() -> None:
    """One call: a request by feature and model, tokens by kind, its cost, the read ratio."""
    metrics = BotMetrics()
    done = AnswerDone({}, StopReason.END, USAGE, "claude-sonnet-5-5")
    record = call_record(QUESTION, done, datetime.now(UTC))
    metrics.observe_call(record)
    samples = _samples(metrics)
    model = ("model", "claude-sonnet-5-5")
    assert samples[("csb_claude_requests_total", (("feature", "mention"), model))] == 1
    assert samples[("csb_claude_tokens_total", (("kind", "cache_read"), model))] == 300
    assert samples[("csb_claude_tokens_total", (("kind", "output"), model))] == 50
    cost = samples[("csb_claude_cost_usd_total", (("feature", "mention"), model))]
    assert cost == pytest.approx(record.cost_usd)
    assert samples[("csb_claude_cache_read_ratio", ())] == pytest.approx(300 / 500)


def test_answer_timing_and_in_flight() -> None:
    """Timings land in the two histograms; the in-flight gauge reads the live count."""
    metrics = BotMetrics()
    metrics.observe_answer(AnswerTiming("dm", 0.8, 4.2))
    metrics.track_in_flight(lambda: 3)
    samples = _samples(metrics)
    assert samples[("csb_answer_first_visible_seconds_count", (("feature", "dm"),))] == 1
    assert samples[("csb_answer_seconds_sum", (("feature", "dm"),))] == pytest.approx(4.2)
    assert samples[("csb_answers_in_flight", ())] == 3


class FailingModel:
    """A ChatModel whose calls fail as overloaded."""

    async def stream(self, request: ChatRequest) -> AsyncGenerator[AnswerEvent, None]:
        raise ChatFailure(FailureKind.OVERLOADED, model=request.model)
        yield  # pragma: no cover  # makes this an async generator


async def test_claude_failures_are_counted_by_kind_and_raised() -> None:
    """MeteredChatModel counts a ChatFailure by kind and model and lets it through."""
    metrics = BotMetrics()
    model = MeteredChatModel(FailingModel(), metrics)
    with pytest.raises(ChatFailure):
        async for _ in model.stream(ChatRequest("claude-opus-5-5", "s", [], 10)):
            pass
    labels = (("kind", "overloaded"), ("model", "claude-opus-5-5"))
    assert _samples(metrics)[("csb_claude_errors_total", labels)] == 1


async def test_slack_429s_are_counted_and_never_retried() -> None:
    """The retry handler counts a 429 by method and never asks for a retry."""
    seen: list[str] = []
    counter = RateLimitCounter(seen.append)
    request = HttpRequest(method="POST", url="http://127.0.0.1:1/api/chat.update", headers={})
    for status in (429, 200):
        retry = await counter.can_retry_async(
            state=RetryState(),
            request=request,
            response=HttpResponse(status_code=status, headers={}),
        )
        assert retry is False
    assert seen == ["chat.update"]
    assert method_of("https://slack.com/api/chat.postMessage?x=1") == "chat.postMessage"


async def _up() -> bool:
    return True


async def _down() -> bool:
    raise ConnectionError("redis is gone")


async def test_healthz_is_200_only_when_every_check_passes() -> None:
    """/healthz: 200 with each check true; 503 naming the failing one; /metrics is text."""
    healthy = metrics_app(BotMetrics(), {"slack": _up, "redis": _up})
    async with TestClient(TestServer(healthy)) as client:
        response = await client.get("/healthz")
        assert response.status == 200
        assert await response.json() == {"healthy": True, "checks": {"slack": True, "redis": True}}
        metrics = await client.get("/metrics")
        assert metrics.status == 200
        assert "csb_answers_in_flight" in await metrics.text()
    sick = metrics_app(BotMetrics(), {"slack": _up, "redis": _down})
    async with TestClient(TestServer(sick)) as client:
        response = await client.get("/healthz")
        assert response.status == 503
        assert (await response.json())["checks"] == {"slack": True, "redis": False}


def test_health_check_url_is_local() -> None:
    """A server on every interface is checked on loopback; nothing listening is unhealthy."""
    assert healthz_url("0.0.0.0", 9100) == "http://127.0.0.1:9100/healthz"  # noqa: S104
    assert healthz_url("::1", 9100) == "http://[::1]:9100/healthz"
    assert not endpoint_healthy("http://127.0.0.1:1/healthz", timeout=1)
    assert not endpoint_healthy("file:///etc/passwd")
