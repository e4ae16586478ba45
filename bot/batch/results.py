"""Results matched back to rows by custom_id, the output CSV and the summary (pure)."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bot.batch.plan import BATCH_DISCOUNT
from bot.batch.table import Table
from bot.claude.catalog import ModelInfo
from bot.claude.cost import call_cost_usd
from bot.conversation.messages import Usage

STATUSES = ("succeeded", "errored", "canceled", "expired")
MISSING = "no result came back for this row"


@dataclass(frozen=True)
class RowResult:
    """What became of one row's request."""

    custom_id: str
    status: str  # succeeded | errored | canceled | expired
    answer: str = ""
    error: str = ""
    usage: Usage = field(default_factory=Usage)

    def to_json(self) -> str:
        """For the Redis hash of results."""
        return json.dumps(
            {
                "status": self.status,
                "answer": self.answer,
                "error": self.error,
                "usage": [
                    self.usage.input_tokens,
                    self.usage.output_tokens,
                    self.usage.cache_read_tokens,
                    self.usage.cache_write_5m_tokens,
                    self.usage.cache_write_1h_tokens,
                ],
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, custom_id: str, raw: str | bytes) -> RowResult:
        """Back from to_json()."""
        data: dict[str, Any] = json.loads(raw)
        tokens = [int(n) for n in data.get("usage", [0, 0, 0, 0, 0])]
        return cls(
            custom_id,
            str(data["status"]),
            str(data.get("answer", "")),
            str(data.get("error", "")),
            Usage(*tokens),
        )


@dataclass(frozen=True)
class Summary:
    """Counts of a finished job."""

    rows: int
    counts: dict[str, int]

    @property
    def retryable(self) -> int:
        """Rows worth another try: errored, expired or canceled ones."""
        return self.rows - self.counts.get("succeeded", 0)

    def text(self, cost_usd: float) -> str:
        """One line for Slack."""
        parts = [f"{self.counts.get(s, 0):,} {s}" for s in STATUSES if self.counts.get(s, 0)]
        if not parts:
            parts = ["nothing ran"]
        return f"{self.rows:,} rows: " + ", ".join(parts) + f" · cost ${cost_usd:,.4f}"


def summarise(table: Table, results: dict[str, RowResult]) -> Summary:
    """How each row ended; a row with no result counts as errored."""
    counts: Counter[str] = Counter()
    for index in range(len(table.rows)):
        result = results.get(str(index + 1))
        counts[result.status if result is not None else "errored"] += 1
    return Summary(len(table.rows), dict(counts))


def failed_rows(table: Table, results: dict[str, RowResult]) -> frozenset[str]:
    """Row ids that did not succeed."""
    ids = (str(i + 1) for i in range(len(table.rows)))
    return frozenset(r for r in ids if r not in results or results[r].status != "succeeded")


def output_csv(table: Table, results: dict[str, RowResult]) -> bytes:
    """The original columns, then `answer` and `error`, in the original row order (UTF-8 with a
    byte-order mark, so spreadsheets read it as UTF-8)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    extra = [_free_name("answer", table.columns), _free_name("error", table.columns)]
    writer.writerow([*table.columns, *extra])
    for index, row in enumerate(table.rows):
        result = results.get(str(index + 1))
        if result is None:
            writer.writerow([*row, "", MISSING])
        elif result.status == "succeeded":
            writer.writerow([*row, result.answer, ""])
        else:
            writer.writerow([*row, "", result.error or result.status])
    return ("\ufeff" + buffer.getvalue()).encode()


def _free_name(name: str, taken: tuple[str, ...]) -> str:
    candidate = name
    while candidate in taken:
        candidate = "claude_" + candidate
    return candidate


def batch_cost_usd(model: ModelInfo | None, results: list[RowResult]) -> float:
    """USD for the rows' tokens: each row priced by the catalog (by its own prompt size), with the
    batch discount; 0 for a model the catalog does not know."""
    if model is None:
        return 0.0
    return sum(call_cost_usd(model, r.usage) for r in results) * BATCH_DISCOUNT


def total_usage(results: list[RowResult]) -> Usage:
    """Token counts summed over results."""
    return Usage(
        input_tokens=sum(r.usage.input_tokens for r in results),
        output_tokens=sum(r.usage.output_tokens for r in results),
        cache_read_tokens=sum(r.usage.cache_read_tokens for r in results),
        cache_write_5m_tokens=sum(r.usage.cache_write_5m_tokens for r in results),
        cache_write_1h_tokens=sum(r.usage.cache_write_1h_tokens for r in results),
    )
