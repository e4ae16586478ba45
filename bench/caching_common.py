"""What bench.caching's scenarios share: one call's usage and prices, the ledger check, formats."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from bot.claude.catalog import CATALOG
from bot.claude.cost import call_cost_usd, uncached_cost_usd
from bot.conversation.messages import Usage
from testing.harness import recent_ledger_records

USER, CHANNEL = "U0ANA", "C0GENERAL"
MODEL = "claude-sonnet-5-5"  # mentions and /ask-code use the Sonnet tier
READ_GOAL, COST_GOAL = 0.80, 0.35
VOCABULARY = (
    "the deploy cache warmed slowly after rollout while queues grew and retries doubled so "
    "latency rose across regions until the team paused traffic drained workers and replayed "
    "events from the backlog with a smaller batch size then checked dashboards alerts budgets "
    "and error rates before resuming writes to the primary database cluster"
)
WORDS = VOCABULARY.split()


def prose(seed: int, tokens: int) -> str:
    """Deterministic filler text of about `tokens` tokens (the fake counts ~4 characters)."""
    rng = random.Random(seed)
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < tokens * 4:
        sentence = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
        words.extend([sentence[0].capitalize(), *sentence[1:-1], sentence[-1] + "."])
    return " ".join(words)


@dataclass
class Turn:
    """One Claude call's usage and prices."""

    usage: Usage
    cost: float
    uncached: float

    @property
    def read_share(self) -> float:
        """Share of the prompt read from the cache."""
        return self.usage.cache_read_tokens / self.usage.prompt_tokens

    @property
    def output_cost(self) -> float:
        """The output's price (the same with or without caching)."""
        return self.usage.output_tokens * CATALOG[MODEL].prices.output / 1e6


def turn_of(reported: dict[str, Any], model: str = MODEL) -> Turn:
    """A call as the fake Claude reported its usage, priced at the catalog's prices."""
    creation = reported["cache_creation"]
    usage = Usage(
        input_tokens=int(reported["input_tokens"]),
        output_tokens=int(reported["output_tokens"]),
        cache_read_tokens=int(reported["cache_read_input_tokens"]),
        cache_write_5m_tokens=int(creation["ephemeral_5m_input_tokens"]),
        cache_write_1h_tokens=int(creation["ephemeral_1h_input_tokens"]),
    )
    info = CATALOG[model]
    return Turn(usage, call_cost_usd(info, usage), uncached_cost_usd(info, usage))


def ratio(part: float, whole: float) -> float:
    """part / whole, 0 when whole is 0."""
    return part / whole if whole else 0.0


async def ledger_agrees(redis_url: str, team: str, turns: list[Turn]) -> bool:
    """Whether the bot's ledger holds exactly these calls' token counts, in order."""
    records = await recent_ledger_records(redis_url, team)
    kinds = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output")
    seen = [tuple(int(r[kind]) for kind in kinds) for r in records]
    wanted = [
        (
            t.usage.input_tokens,
            t.usage.cache_read_tokens,
            t.usage.cache_write_5m_tokens,
            t.usage.cache_write_1h_tokens,
            t.usage.output_tokens,
        )
        for t in turns
    ]
    return seen == wanted


def pct(value: float) -> str:
    """0.123 → "12.3 %"."""
    return f"{100 * value:.1f} %"


def usd(value: float) -> str:
    """Dollars to four decimals."""
    return f"${value:.4f}"
