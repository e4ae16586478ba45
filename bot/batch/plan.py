"""From a table and a template to batch requests: rendering, limits, splitting, the estimate
(pure). Limits are the Message Batches API's: 100,000 requests or 256 MB per batch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.batch.table import Table
from bot.batch.template import Template
from bot.claude.catalog import ModelInfo

API_MAX_REQUESTS = 100_000
API_MAX_BYTES = 256 * 1024 * 1024
BATCH_DISCOUNT = 0.5  # every batch token is billed at half the standard price
PER_MILLION = 1_000_000
_ENVELOPE_BYTES = len('{"requests":[]}')
EMPTY_PROMPT = "the template gave an empty prompt for this row"


@dataclass(frozen=True)
class RowRequest:
    """One row's request: custom_id is the row number (1 = first data row)."""

    custom_id: str
    params: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """As the API takes it in `requests`."""
        return {"custom_id": self.custom_id, "params": self.params}

    @property
    def size(self) -> int:
        """Its bytes in the request body (plus a separating comma)."""
        return len(json.dumps(self.to_json(), ensure_ascii=False).encode()) + 1


@dataclass(frozen=True)
class Plan:
    """The requests to submit, and the rows skipped before submitting (row id -> why)."""

    requests: tuple[RowRequest, ...]
    skipped: dict[str, str]


def row_params(model: str, max_tokens: int, prompt: str, system: str | None) -> dict[str, Any]:
    """The Messages API parameters of one row."""
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": prompt}],
    }
    if system:
        params["system"] = system
    return params


def build_plan(
    table: Table,
    template: Template,
    *,
    model: str,
    max_tokens: int,
    system: str | None = None,
    only: frozenset[str] | None = None,
) -> Plan:
    """One request per row (or per row in `only`); rows whose prompt is blank are skipped."""
    requests: list[RowRequest] = []
    skipped: dict[str, str] = {}
    for index in range(len(table.rows)):
        custom_id = str(index + 1)
        if only is not None and custom_id not in only:
            continue
        prompt = template.render(table.record(index))
        if not prompt.strip():
            skipped[custom_id] = EMPTY_PROMPT
            continue
        requests.append(RowRequest(custom_id, row_params(model, max_tokens, prompt, system)))
    return Plan(tuple(requests), skipped)


def split(
    requests: tuple[RowRequest, ...] | list[RowRequest],
    *,
    max_requests: int = API_MAX_REQUESTS,
    max_bytes: int = API_MAX_BYTES,
) -> list[list[RowRequest]]:
    """Consecutive chunks each within both limits (a single request over max_bytes raises)."""
    max_requests = min(max_requests, API_MAX_REQUESTS)
    max_bytes = min(max_bytes, API_MAX_BYTES)
    chunks: list[list[RowRequest]] = []
    current: list[RowRequest] = []
    size = _ENVELOPE_BYTES
    for request in requests:
        if request.size + _ENVELOPE_BYTES > max_bytes:
            raise ValueError(f"row {request.custom_id} alone is over the batch size limit")
        if current and (len(current) >= max_requests or size + request.size > max_bytes):
            chunks.append(current)
            current, size = [], _ENVELOPE_BYTES
        current.append(request)
        size += request.size
    if current:
        chunks.append(current)
    return chunks


def sample_indices(count: int, samples: int) -> list[int]:
    """Up to `samples` row indexes spread evenly over `count` rows (first and last included)."""
    if count <= samples:
        return list(range(count))
    if samples <= 1:
        return [0]
    step = (count - 1) / (samples - 1)
    return sorted({round(i * step) for i in range(samples)})


@dataclass(frozen=True)
class Estimate:
    """What a batch should cost: its prompts, and its answers at most (USD, discount applied)."""

    rows: int
    input_tokens: int
    input_usd: float
    max_output_tokens: int
    max_output_usd: float

    @property
    def max_total_usd(self) -> float:
        """The most the batch can cost."""
        return self.input_usd + self.max_output_usd


def estimate(model: ModelInfo, rows: int, sampled: list[int], max_tokens: int) -> Estimate:
    """Input tokens extrapolated from the sampled rows' counts; output at most max_tokens a row;
    catalog prices (by the average prompt's size) times the batch discount."""
    average = sum(sampled) / len(sampled) if sampled else 0.0
    prices = model.prices_for(round(average))
    input_tokens = round(average * rows)
    output_tokens = rows * max_tokens
    rate = BATCH_DISCOUNT / PER_MILLION
    return Estimate(
        rows=rows,
        input_tokens=input_tokens,
        input_usd=input_tokens * prices.input * rate,
        max_output_tokens=output_tokens,
        max_output_usd=output_tokens * prices.output * rate,
    )
