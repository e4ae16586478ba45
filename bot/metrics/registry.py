"""The bot's Prometheus metrics, in a registry of their own (no global state)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.conversation.usage import AnswerTiming
from bot.usage.records import CallRecord, token_counts, tool_counts

FIRST_VISIBLE_BUCKETS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0)
ANSWER_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 300.0, 600.0)
LOOP_LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LOOP_LAG_METRIC = "csb_event_loop_lag_seconds"


class BotMetrics:
    """Counters, gauges and histograms of Claude calls, Slack and answers."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        feature_model = ["feature", "model"]
        self.requests = Counter(
            "csb_claude_requests", "Claude calls that finished.", feature_model, registry=r
        )
        self.tokens = Counter(
            "csb_claude_tokens",
            "Tokens of finished Claude calls, by kind "
            "(input, cache_write_5m, cache_write_1h, cache_read, output).",
            ["kind", "model"],
            registry=r,
        )
        self.cost = Counter(
            "csb_claude_cost_usd",
            "Claude spend in USD (catalog prices).",
            feature_model,
            registry=r,
        )
        self.server_tool_uses = Counter(
            "csb_claude_server_tool_uses",
            "Server-tool uses billed apart from tokens, by kind (web_searches, web_fetches).",
            ["kind", "model"],
            registry=r,
        )
        self.cache_read_ratio = Gauge(
            "csb_claude_cache_read_ratio",
            "Share of prompt tokens read from the prompt cache since the process started.",
            registry=r,
        )
        self.errors = Counter(
            "csb_claude_errors", "Failed Claude calls, by kind.", ["kind", "model"], registry=r
        )
        self.slack_rate_limited = Counter(
            "csb_slack_rate_limited", "Slack Web API HTTP 429s.", ["method"], registry=r
        )
        self.first_visible = Histogram(
            "csb_answer_first_visible_seconds",
            "From the start of a turn until answer text was first visible in Slack.",
            ["feature"],
            buckets=FIRST_VISIBLE_BUCKETS,
            registry=r,
        )
        self.answer_seconds = Histogram(
            "csb_answer_seconds",
            "From the start of a turn until the final message was shown.",
            ["feature"],
            buckets=ANSWER_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge("csb_answers_in_flight", "Answers being written.", registry=r)
        self.feedback = Counter(
            "csb_answer_feedback",
            "Clicks on the feedback buttons under answers (a repeated click counts once).",
            ["value"],
            registry=r,
        )
        self.loop_lag = Histogram(
            LOOP_LAG_METRIC,
            "How late the event loop ran a timer (sampled every 0.1 s); a stall over 0.25 s is "
            "also logged as loop.stalled with what was running.",
            buckets=LOOP_LAG_BUCKETS,
            registry=r,
        )
        self._prompt_tokens = 0
        self._read_tokens = 0

    def observe_call(self, record: CallRecord) -> None:
        """Count a finished Claude call: request, tokens by kind, cost, cache-read ratio."""
        self.requests.labels(record.feature, record.model).inc()
        for kind, count in token_counts(record.usage).items():
            if count:
                self.tokens.labels(kind, record.model).inc(count)
        for kind, count in tool_counts(record.usage).items():
            if count:
                self.server_tool_uses.labels(kind, record.model).inc(count)
        self.cost.labels(record.feature, record.model).inc(record.cost_usd)
        self._prompt_tokens += record.usage.prompt_tokens
        self._read_tokens += record.usage.cache_read_tokens
        if self._prompt_tokens:
            self.cache_read_ratio.set(self._read_tokens / self._prompt_tokens)

    def observe_error(self, kind: str, model: str) -> None:
        """Count a failed Claude call."""
        self.errors.labels(kind, model).inc()

    def observe_slack_rate_limit(self, method: str) -> None:
        """Count a 429 from Slack's Web API."""
        self.slack_rate_limited.labels(method).inc()

    def observe_answer(self, timing: AnswerTiming) -> None:
        """Time to first visible answer text and to the final message."""
        self.first_visible.labels(timing.feature).observe(timing.first_visible_seconds)
        self.answer_seconds.labels(timing.feature).observe(timing.total_seconds)

    def observe_feedback(self, value: str) -> None:
        """Count a click on an answer's feedback buttons ("positive" or "negative")."""
        self.feedback.labels(value).inc()

    def observe_loop_lag(self, seconds: float) -> None:
        """How late the event loop woke up for one timer."""
        self.loop_lag.observe(seconds)

    def track_in_flight(self, running: Callable[[], int]) -> None:
        """Read the number of answers in flight from `running` at each scrape."""
        self.in_flight.set_function(lambda: float(running()))

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)
