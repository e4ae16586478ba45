"""The Claude adapter's stream accumulator keeps server-tool blocks exactly as Claude sent them:
replayed from real recorded streams (../shared/anthropic/server-tools) against the SDK's own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from anthropic._models import construct_type
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import RawMessageStreamEvent

from bot.claude.accumulate import StreamedAnswer, merged_usage
from bot.claude.client import container_from
from testing.paths import SHARED

RECORDED = sorted((SHARED / "anthropic" / "server-tools").glob("*_stream_recorded.txt"))


def _events(path: Path) -> list[Any]:
    body = path.read_text().split("---- END-OF-HEADER ----\n", 1)[1]
    payloads = [json.loads(line) for line in body.splitlines() if line.strip()]
    # as the SDK's stream reader builds them (construct_type: no validation, unknown shapes kept)
    return [
        construct_type(type_=RawMessageStreamEvent, value=payload)
        for payload in payloads
        if payload["type"] not in {"ping", "error"}
    ]


def _sdk_content(events: list[Any]) -> list[dict[str, Any]]:
    snapshot: Any = None
    buffers: dict[int, bytes] = {}
    for event in events:
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=buffers)
    blocks = [block.to_dict() for block in snapshot.content]
    for block in blocks:  # the SDK keeps an empty citations list and null fields it set itself
        if block.get("type") == "text" and not block.get("citations"):
            block.pop("citations", None)
        if block.get("type") == "text" and not block.get("text"):
            block["drop"] = True
    return [block for block in blocks if not block.get("drop")]


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.name)
def test_recorded_stream_content_matches_the_sdk(path: Path) -> None:
    """Every block of a recorded server-tool stream (server_tool_use with its streamed input,
    result blocks, text with citations) comes out as the SDK's own accumulator builds it."""
    events = _events(path)
    answer = StreamedAnswer()
    for event in events:
        answer.add(event)
    ours, sdk = answer.content(), _sdk_content(events)
    for block in (*ours, *sdk):  # the SDK's GA accumulator leaves a (beta) mcp_tool_use's input {}
        if block["type"] == "mcp_tool_use":
            block.pop("input")
    assert ours == sdk
    assert answer.stop_reason is not None


def test_an_mcp_connector_calls_input_is_parsed_from_its_deltas() -> None:
    """mcp_tool_use's input streams as JSON deltas like tool_use's, and is kept parsed."""
    answer = StreamedAnswer()
    for event in _events(SHARED / "anthropic" / "server-tools" / "mcp_stream_recorded.txt"):
        answer.add(event)
    calls = [block for block in answer.content() if block["type"] == "mcp_tool_use"]
    assert [call["input"] for call in calls] == [{"message": "hello world"}]


def test_citations_are_kept_on_their_text_block() -> None:
    """A web search answer's text blocks carry their citations (for the sources line and for
    sending the turn back to Claude)."""
    path = SHARED / "anthropic" / "server-tools" / "web_search_stream_recorded.txt"
    answer = StreamedAnswer()
    for event in _events(path):
        answer.add(event)
    content = answer.content()
    kinds = [block["type"] for block in content]
    assert kinds[:2] == ["server_tool_use", "web_search_tool_result"]
    cited = [block for block in content if block.get("citations")]
    assert cited
    assert all(c["type"] == "web_search_result_location" for b in cited for c in b["citations"])


def test_a_recorded_search_is_counted_in_the_calls_usage() -> None:
    """The recorded web search stream's usage.server_tool_use (1 search) reaches the core's
    Usage, where it is priced."""
    path = SHARED / "anthropic" / "server-tools" / "web_search_stream_recorded.txt"
    answer = StreamedAnswer()
    for event in _events(path):
        answer.add(event)
    usage = merged_usage(answer.message_start_usage, answer.final_usage)
    assert (usage.web_search_requests, usage.web_fetch_requests) == (1, 0)
    assert usage.output_tokens > 0


def test_a_recorded_code_runs_container_is_kept_with_its_expiry() -> None:
    """The container of a recorded code execution stream (message_delta) becomes the core's
    Container: its id and its expiry in seconds since the epoch."""
    path = SHARED / "anthropic" / "server-tools" / "code_execution_20260120_stream_recorded.txt"
    answer = StreamedAnswer()
    for event in _events(path):
        answer.add(event)
    container = container_from(answer.container)
    assert container is not None
    assert container.id.startswith("container_")
    assert container.expires_at > 1_700_000_000
