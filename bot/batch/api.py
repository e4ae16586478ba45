"""The Message Batches API over the official SDK (client.messages.batches.*)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anthropic

from bot.batch.plan import RowRequest
from bot.batch.results import RowResult
from bot.claude.client import usage_from


@dataclass(frozen=True)
class BatchStatus:
    """Where one batch is: ended or not, and its request counts."""

    ended: bool
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0
    processing: int = 0

    @property
    def finished(self) -> int:
        """Requests that are no longer processing."""
        return self.succeeded + self.errored + self.canceled + self.expired


def result_of(item: Any) -> RowResult:
    """One line of a batch's results as a RowResult."""
    result = item.result
    custom_id = str(item.custom_id)
    if result.type == "succeeded":
        message = result.message
        text = "".join(b.text for b in message.content if getattr(b, "type", "") == "text")
        if message.stop_reason == "max_tokens":
            text += " […]"
        return RowResult(custom_id, "succeeded", answer=text, usage=usage_from(message.usage))
    if result.type == "errored":
        error = result.error.error
        return RowResult(custom_id, "errored", error=f"{error.type}: {error.message}")
    return RowResult(custom_id, str(result.type), error=f"request {result.type}")


class BatchesApi:
    """create / retrieve / results / cancel, and token counting for estimates."""

    def __init__(self, client: anthropic.AsyncAnthropic) -> None:
        self._client = client

    async def create(self, requests: list[RowRequest]) -> str:
        """Submit one batch; returns its id."""
        batch = await self._client.messages.batches.create(
            requests=[r.to_json() for r in requests]  # type: ignore[misc]
        )
        return batch.id

    async def status(self, batch_id: str) -> BatchStatus:
        """The batch's processing status and counts."""
        batch = await self._client.messages.batches.retrieve(batch_id)
        counts = batch.request_counts
        return BatchStatus(
            ended=batch.processing_status == "ended",
            succeeded=counts.succeeded,
            errored=counts.errored,
            canceled=counts.canceled,
            expired=counts.expired,
            processing=counts.processing,
        )

    async def results(self, batch_id: str) -> list[RowResult]:
        """Every result of an ended batch (in the API's order, which is not the rows' order)."""
        decoder = await self._client.messages.batches.results(batch_id)
        return [result_of(item) async for item in decoder]

    async def cancel(self, batch_id: str) -> None:
        """Ask the API to cancel the batch (it ends as `canceling`, then `ended`)."""
        await self._client.messages.batches.cancel(batch_id)

    async def count_tokens(self, params: dict[str, Any]) -> int:
        """Input tokens of one row's request."""
        kwargs = {k: params[k] for k in ("model", "messages", "system") if k in params}
        counted = await self._client.messages.count_tokens(**kwargs)
        return counted.input_tokens
