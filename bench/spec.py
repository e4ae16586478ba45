"""What one benchmark run does: the bot's edit policy, the load, the answers, Slack's limits."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from testing.fakes.slack_server import SlackRateLimits

Policy = Literal["time", "every_delta", "every_20_deltas"]
Transport = Literal["socket", "http"]  # BOT_MODE: Socket Mode, or Events API over HTTP
BOT_POLICY: Policy = "time"
BASELINES: tuple[Policy, ...] = ("every_delta", "every_20_deltas")
POLICIES: tuple[Policy, ...] = (BOT_POLICY, *BASELINES)


class Limits(StrEnum):
    """Which Slack rate limits the fake enforces."""

    TIERS = "tiers"  # chat.update Tier 3 (50/min/workspace, burst 10), postMessage 1/s/channel
    LIFTED = "lifted"  # no limits: measures the bot alone

    def rate_limits(self) -> SlackRateLimits:
        """The fake Slack's limits for this choice."""
        if self is Limits.TIERS:
            return SlackRateLimits()
        return SlackRateLimits(
            update_per_minute=None,
            post_per_second_per_channel=None,
            default_per_minute=None,
            tiers=False,
        )


@dataclass(frozen=True)
class AnswerShape:
    """How the fake Claude answers each question."""

    tokens: int
    tokens_per_second: float
    ttft: float
    chunk_chars: int = 4  # characters per text delta (the fake counts 4 characters a token)

    @property
    def duration(self) -> float:
        """Seconds from the request to the last delta."""
        return self.ttft + self.tokens / self.tokens_per_second


@dataclass(frozen=True)
class LoadSpec:
    """One run: a fresh bot process with `policy`, questions sent `spacing` seconds apart."""

    scenario: str
    policy: Policy
    concurrency: int  # answers meant to be in flight at once
    answers: int
    spacing: float
    warmup: int  # the first answers are left out of latency figures
    answer: AnswerShape
    limits: Limits
    timeout: float  # the most a run waits for every turn to end, after the last question
    replicas: int = 1  # bot processes sharing the load (and the Redis)
    transport: Transport = "socket"

    @property
    def unlimited_budget(self) -> bool:
        """Whether the bot's own chat.update budget is lifted: with Slack's limits lifted, and
        always for the baselines (they are the naive policies, with no budget)."""
        return self.limits is Limits.LIFTED or self.policy != BOT_POLICY

    @property
    def label(self) -> str:
        """A short name for logs and file names."""
        replicas = f"-x{self.replicas}" if self.replicas > 1 else ""
        http = "-http" if self.transport == "http" else ""
        return f"{self.scenario}-n{self.concurrency}-{self.policy}{replicas}{http}"
