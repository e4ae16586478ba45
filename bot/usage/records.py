"""One Claude call as the ledger keeps it, and totals of many (pure). Money is counted in whole
nano-dollars, so sums in Redis are exact."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime

from bot.claude.catalog import CATALOG
from bot.claude.cost import call_cost_usd, server_tool_cost_usd, uncached_cost_usd
from bot.conversation.messages import AnswerDone, Question, Usage

NANOS_PER_USD = 1_000_000_000


def to_nanos(usd: float) -> int:
    """USD as whole nano-dollars."""
    return round(usd * NANOS_PER_USD)


def to_usd(nanos: float) -> float:
    """Nano-dollars as USD."""
    return nanos / NANOS_PER_USD


@dataclass(frozen=True)
class CallRecord:
    """One Claude call: who asked, where, for what, with which model, and what it cost."""

    team: str
    channel: str
    user: str
    feature: str
    model: str
    usage: Usage
    cost_nanos: int
    uncached_nanos: int  # the same call without the prompt cache
    priced: bool  # False: the catalog does not know the model (cost 0)
    at: datetime
    request_id: str = ""

    @property
    def cost_usd(self) -> float:
        """The call's cost in USD."""
        return to_usd(self.cost_nanos)

    def stream_fields(self) -> dict[str, str]:
        """The record as a Redis stream entry."""
        return {
            "team": self.team,
            "channel": self.channel,
            "user": self.user,
            "feature": self.feature,
            "model": self.model,
            **{name: str(value) for name, value in token_counts(self.usage).items()},
            **{name: str(value) for name, value in tool_counts(self.usage).items()},
            "cost_nanos": str(self.cost_nanos),
            "cost_usd": f"{self.cost_usd:.9f}",
            "uncached_nanos": str(self.uncached_nanos),
            "priced": "1" if self.priced else "0",
            "at": self.at.isoformat(),
            "request_id": self.request_id,
        }


def token_counts(usage: Usage) -> dict[str, int]:
    """Tokens of a call by kind, named as the ledger and the metrics name them."""
    return {
        "input": usage.input_tokens,
        "cache_write_5m": usage.cache_write_5m_tokens,
        "cache_write_1h": usage.cache_write_1h_tokens,
        "cache_read": usage.cache_read_tokens,
        "output": usage.output_tokens,
    }


def tool_counts(usage: Usage) -> dict[str, int]:
    """Server-tool uses of a call billed apart from tokens, as the ledger names them."""
    return {"web_searches": usage.web_search_requests, "web_fetches": usage.web_fetch_requests}


def call_record(question: Question, done: AnswerDone, at: datetime) -> CallRecord:
    """The ledger record of a finished call, priced from the catalog."""
    model = CATALOG.get(done.model)
    cost = call_cost_usd(model, done.usage) if model else 0.0
    uncached = uncached_cost_usd(model, done.usage) if model else 0.0
    return CallRecord(
        team=question.key.team,
        channel=question.key.channel,
        user=question.user,
        feature=question.feature,
        model=done.model,
        usage=done.usage,
        cost_nanos=to_nanos(cost),
        uncached_nanos=to_nanos(uncached),
        priced=model is not None,
        at=at,
        request_id=done.request_id or "",
    )


@dataclass(frozen=True)
class Totals:
    """Sums over calls: a user's day, a channel's month, a model's week."""

    calls: int = 0
    input: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    cache_read: int = 0
    output: int = 0
    cost_nanos: int = 0
    uncached_nanos: int = 0
    web_searches: int = 0
    web_fetches: int = 0
    tool_nanos: int = 0  # the part of cost_nanos that server tools cost per use (searches)

    @classmethod
    def of(cls, record: CallRecord) -> Totals:
        """The totals of one call (what a record adds)."""
        return cls(
            calls=1,
            **token_counts(record.usage),
            cost_nanos=record.cost_nanos,
            uncached_nanos=record.uncached_nanos,
            **tool_counts(record.usage),
            tool_nanos=to_nanos(server_tool_cost_usd(record.usage)) if record.priced else 0,
        )

    @classmethod
    def from_hash(cls, raw: Mapping[bytes | str, bytes | str]) -> Totals:
        """Totals from a Redis hash (missing fields count 0)."""
        values = {_text(k): int(v) for k, v in raw.items()}
        return cls(**{f.name: values.get(f.name, 0) for f in fields(cls)})

    def as_increments(self) -> dict[str, int]:
        """Field -> amount, for HINCRBY."""
        return {f.name: int(getattr(self, f.name)) for f in fields(self)}

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    @property
    def cost_usd(self) -> float:
        """What the calls cost."""
        return to_usd(self.cost_nanos)

    @property
    def tool_usd(self) -> float:
        """What server tools cost per use (web searches), within cost_usd."""
        return to_usd(self.tool_nanos)

    @property
    def savings_usd(self) -> float:
        """What the prompt cache saved against the same calls without it."""
        return to_usd(self.uncached_nanos - self.cost_nanos)

    @property
    def prompt_tokens(self) -> int:
        """Every prompt token: uncached, written and read."""
        return self.input + self.cache_write_5m + self.cache_write_1h + self.cache_read

    @property
    def cache_read_share(self) -> float:
        """The share of prompt tokens read from the cache (0 with no calls)."""
        return self.cache_read / self.prompt_tokens if self.prompt_tokens else 0.0


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
