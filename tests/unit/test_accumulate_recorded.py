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
from bot.claude.activity import call_started, result_arrived
from bot.claude.client import container_from
from bot.conversation.messages import ToolActivity, ToolState
from testing.paths import SHARED

RECORDED = sorted((SHARED / "anthropic" / "server-tools").glob("*_stream_recorded.txt"))


def _payloads(path: Path) -> list[dict[str, Any]]:
    """The recorded events as Claude sent them (what the adapter's reader hands on)."""
    body = path.read_text().split("---- END-OF-HEADER ----\n", 1)[1]
    payloads = [json.loads(line) for line in body.splitlines() if line.strip()]
    return [payload for payload in payloads if payload["type"] not in {"ping", "error"}]


def _events(path: Path) -> list[Any]:
    # as the SDK's stream reader builds them (construct_type: no validation, unknown shapes kept)
    return [
        construct_type(type_=RawMessageStreamEvent, value=payload) for payload in _payloads(path)
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
    answer = StreamedAnswer()
    for payload in _payloads(path):
        answer.add(payload)
    ours, sdk = answer.content(), _sdk_content(_events(path))
    for block in (*ours, *sdk):  # the SDK's GA accumulator leaves a (beta) mcp_tool_use's input {}
        if block["type"] == "mcp_tool_use":
            block.pop("input")
    assert ours == sdk
    assert answer.stop_reason is not None


def test_an_mcp_connector_calls_input_is_parsed_from_its_deltas() -> None:
    """mcp_tool_use's input streams as JSON deltas like tool_use's, and is kept parsed."""
    answer = StreamedAnswer()
    for event in _payloads(SHARED / "anthropic" / "server-tools" / "mcp_stream_recorded.txt"):
        answer.add(event)
    calls = [block for block in answer.content() if block["type"] == "mcp_tool_use"]
    assert [call["input"] for call in calls] == [{"message": "hello world"}]


def test_citations_are_kept_on_their_text_block() -> None:
    """A web search answer's text blocks carry their citations (for the sources line and for
    sending the turn back to Claude)."""
    path = SHARED / "anthropic" / "server-tools" / "web_search_stream_recorded.txt"
    answer = StreamedAnswer()
    for event in _payloads(path):
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
    for event in _payloads(path):
        answer.add(event)
    usage = merged_usage(answer.message_start_usage, answer.final_usage)
    assert (usage.web_search_requests, usage.web_fetch_requests) == (1, 0)
    assert usage.output_tokens > 0


def test_a_recorded_code_runs_container_is_kept_with_its_expiry() -> None:
    """The container of a recorded code execution stream (message_delta) becomes the core's
    Container: its id and its expiry in seconds since the epoch."""
    path = SHARED / "anthropic" / "server-tools" / "code_execution_20260120_stream_recorded.txt"
    answer = StreamedAnswer()
    for event in _payloads(path):
        answer.add(event)
    container = container_from(answer.container)
    assert container is not None
    assert container.id.startswith("container_")
    assert container.expires_at > 1_700_000_000


def _activities(name: str) -> list[ToolActivity]:
    answer = StreamedAnswer()
    shown = [answer.add(event) for event in _payloads(SHARED / "anthropic" / "server-tools" / name)]
    return [event for event in shown if isinstance(event, ToolActivity)]


def test_a_recorded_search_is_reported_when_its_query_is_known_and_when_its_results_come() -> None:
    """A server_tool_use is reported once its input has streamed (the query in the text), its
    result block as done, naming the pages found."""
    started, done = _activities("web_search_stream_recorded.txt")
    assert started.state is ToolState.STARTED
    assert started.text == "Searching the web for “tech news today September 26 2025”…"
    assert (done.tool_id, done.state, done.text) == (started.tool_id, ToolState.DONE, started.text)
    assert len(done.sources) == 5
    assert done.sources[0][1] == "https://www.crescendo.ai/news/latest-ai-news-and-updates"


def test_recorded_fetches_and_code_runs_are_reported_by_host_and_as_running_code() -> None:
    """web_fetch names the host it reads; code execution's sub-tools are "Running code…"."""
    fetch = _activities("web_fetch_stream_recorded.txt")
    assert [(a.state, a.text) for a in fetch] == [
        (ToolState.STARTED, "Reading en.wikipedia.org…"),
        (ToolState.DONE, "Reading en.wikipedia.org…"),
    ]
    code = _activities("code_execution_20250825_stream_recorded.txt")
    assert {a.text for a in code} == {"Running code…"}
    assert [a.state for a in code] == [ToolState.STARTED, ToolState.DONE] * 2


def test_an_error_result_block_is_a_failed_call() -> None:
    """The recorded web_fetch error result ({type: web_fetch_tool_result_error}) and an MCP
    result with is_error are failures; a result whose call streamed earlier keeps its text."""
    path = SHARED / "anthropic" / "server-tools" / "web_fetch_error_response_recorded.txt"
    content = json.loads(path.read_text().split("---- END-OF-HEADER ----\n", 1)[1])["content"]
    call, result = content[1], content[2]
    started = call_started(call, json.dumps(call["input"]))
    assert started is not None
    assert started.text == "Reading raw.githubusercontent.com…"
    failed = result_arrived(result, {started.tool_id: started})
    assert failed is not None
    assert (failed.state, failed.text, failed.sources) == (ToolState.FAILED, started.text, ())
    mcp = {"type": "mcp_tool_result", "tool_use_id": "m1", "is_error": True, "content": []}
    assert result_arrived(mcp, {}) == ToolActivity("m1", "mcp", ToolState.FAILED, "Using mcp…")
    assert result_arrived({"type": "text", "text": "hi"}, {}) is None
