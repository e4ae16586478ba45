"""The fake Claude's Message Batches API, driven by the real anthropic SDK (messages.batches.*)."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic import AsyncAnthropic

from testing.fakes.claude_server import FakeClaude

MODEL = "claude-haiku-5-5"


# The fixtures `fake` and `client` come from tests/claude_fixtures.py.


def row(custom_id: str, text: str = "hello", **params: Any) -> dict[str, Any]:
    body = {"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": text}]}
    return {"custom_id": custom_id, "params": {**body, **params}}


async def test_batch_lifecycle_processing_then_ended_with_shuffled_results(
    fake: FakeClaude, client: AsyncAnthropic
) -> None:
    """in_progress while held, ended after release; results cover every row, in random order."""
    fake.batches.hold()
    rows = [row(str(i), f"question {i}") for i in range(1, 31)]
    batch = await client.messages.batches.create(requests=rows)  # type: ignore[arg-type]
    assert batch.processing_status == "in_progress"
    assert batch.results_url is None
    assert (await client.messages.batches.retrieve(batch.id)).request_counts.processing == 30
    fake.batches.release()
    ended = await client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended"
    assert ended.request_counts.succeeded == 30
    items = [item async for item in await client.messages.batches.results(batch.id)]
    ids = [item.custom_id for item in items]
    assert sorted(ids, key=int) == [str(i) for i in range(1, 31)]
    assert ids != sorted(ids, key=int)  # shuffled (30! orders: a false alarm is negligible)
    first = next(i for i in items if i.custom_id == "7")
    assert first.result.type == "succeeded"
    assert "question 7" in first.result.message.content[0].text  # type: ignore[union-attr]
    assert first.result.message.usage.input_tokens > 0  # type: ignore[union-attr]


async def test_progress_grows_with_time(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """With processing_seconds the counts move from processing to succeeded over time."""
    now = [0.0]
    fake.batches.clock = lambda: now[0]
    fake.batches.processing_seconds = 10
    batch = await client.messages.batches.create(requests=[row(str(i)) for i in range(10)])  # type: ignore[arg-type]
    now[0] = 5
    half = await client.messages.batches.retrieve(batch.id)
    assert (half.request_counts.succeeded, half.processing_status) == (5, "in_progress")
    now[0] = 10
    assert (await client.messages.batches.retrieve(batch.id)).processing_status == "ended"


async def test_errored_and_expired_rows_come_back_as_such(
    fake: FakeClaude, client: AsyncAnthropic
) -> None:
    """Rows scripted to fail end errored (with an error object) or expired."""
    fake.batches.errored_ids = {"2"}
    fake.batches.expired_ids = {"3"}
    batch = await client.messages.batches.create(requests=[row("1"), row("2"), row("3")])  # type: ignore[arg-type]
    counts = (await client.messages.batches.retrieve(batch.id)).request_counts
    assert (counts.succeeded, counts.errored, counts.expired) == (1, 1, 1)
    items = {i.custom_id: i.result async for i in await client.messages.batches.results(batch.id)}
    assert items["2"].type == "errored"
    assert items["2"].error.error.type == "overloaded_error"  # type: ignore[union-attr]
    assert items["3"].type == "expired"


async def test_cancel_ends_unprocessed_rows_as_canceled(
    fake: FakeClaude, client: AsyncAnthropic
) -> None:
    """A held batch canceled: every row canceled, the batch ended, results available."""
    fake.batches.hold()
    batch = await client.messages.batches.create(requests=[row("a"), row("b")])  # type: ignore[arg-type]
    canceled = await client.messages.batches.cancel(batch.id)
    assert canceled.cancel_initiated_at is not None
    ended = await client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended"
    assert ended.request_counts.canceled == 2
    items = [i.result.type async for i in await client.messages.batches.results(batch.id)]
    assert items == ["canceled", "canceled"]


@pytest.mark.parametrize(
    ("requests", "message"),
    [
        ([], "between 1 and"),
        ([row("1"), row("1")], "Duplicate custom_id"),
        ([row("bad id!")], "custom_id: String should match"),
        ([row("1", max_tokens=0, stream=True)], "Streaming is not supported"),
        ([row("1", text="")], "requests.0.params"),
        ([{"custom_id": "1"}], "exactly `custom_id` and `params`"),
    ],
)
async def test_invalid_batches_are_refused_like_the_api(
    client: AsyncAnthropic, requests: list[dict[str, Any]], message: str
) -> None:
    """Each request is checked by the Messages validator; ids and shape too; 400 with a reason."""
    with pytest.raises(anthropic.BadRequestError, match=message):
        await client.messages.batches.create(requests=requests)  # type: ignore[arg-type]


async def test_unknown_batch_is_404_and_results_wait_for_the_end(
    fake: FakeClaude, client: AsyncAnthropic
) -> None:
    """An unknown id is 404; results before the end are refused (the SDK sees no results_url)."""
    with pytest.raises(anthropic.NotFoundError):
        await client.messages.batches.retrieve("msgbatch_nope")
    fake.batches.hold()
    batch = await client.messages.batches.create(requests=[row("1")])  # type: ignore[arg-type]
    with pytest.raises(anthropic.AnthropicError, match="results_url"):
        await client.messages.batches.results(batch.id)
