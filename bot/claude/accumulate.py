"""One streamed answer put back together from Claude's raw stream events.

The SDK's MessageStream does this too, but it also builds a second, typed event with a text
snapshot for every delta; at a token per delta and hundreds of answers in flight that doubles
the per-delta work. Here each event is the JSON object Claude sent (bot/claude/sse.py parses it
once, no typed model is built) and the parts we keep are plain dicts, the form the API accepts
back in a later turn (thinking signatures included).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bot.claude.activity import call_started, result_arrived
from bot.conversation.messages import (
    ChatMessage,
    TextDelta,
    ThinkingDelta,
    ToolActivity,
    Usage,
)

Shown = TextDelta | ThinkingDelta | ToolActivity  # what a raw event may have to show


@dataclass
class _Block:
    """One content block as it streams: its start payload and the text or JSON gathered so far."""

    kind: str
    start: dict[str, Any]
    parts: list[str] = field(default_factory=list)
    signature: str = ""
    citations: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class StreamedAnswer:
    """What the stream said so far: content blocks, stop reason and usage."""

    message_start_usage: dict[str, Any] | None = None
    final_usage: dict[str, Any] | None = None
    stop_reason: str | None = None
    container: dict[str, Any] | None = None  # code execution's container (id, expires_at)
    _blocks: dict[int, _Block] = field(default_factory=dict)
    _calls: dict[str, ToolActivity] = field(default_factory=dict)  # server tool calls by id

    def add(self, event: dict[str, Any]) -> Shown | None:
        """Take one event (its JSON object); what it shows, if anything: a text or thinking
        delta, or a server tool call starting (its block complete) or ending (its result
        block)."""
        kind = event.get("type")
        if kind == "content_block_delta":
            return self._delta(event["index"], event["delta"])
        if kind == "content_block_start":
            start = event["content_block"]
            self._blocks[event["index"]] = _Block(start["type"], start)
            return result_arrived(start, self._calls)
        if kind == "content_block_stop":
            return self._stopped(event["index"])
        if kind == "message_start":
            self.message_start_usage = event["message"].get("usage")
        elif kind == "message_delta":
            delta = event.get("delta") or {}
            self.stop_reason = delta.get("stop_reason")
            self.final_usage = event.get("usage")
            container = delta.get("container")
            if container is not None:
                self.container = container
        return None

    def _stopped(self, index: int) -> ToolActivity | None:
        block = self._blocks.get(index)
        if block is None or block.kind not in _WITH_INPUT:
            return None
        started = call_started(block.start, "".join(block.parts))
        if started is not None:
            self._calls[started.tool_id] = started
        return started

    def _delta(self, index: int, delta: dict[str, Any]) -> Shown | None:
        block = self._blocks.get(index)
        if block is None:
            return None
        kind = delta.get("type")
        if kind == "text_delta":
            text = delta["text"]
            block.parts.append(text)
            return TextDelta(text) if text else None
        if kind == "thinking_delta":
            thinking = delta["thinking"]
            block.parts.append(thinking)
            return ThinkingDelta(thinking) if thinking else None
        if kind == "input_json_delta":
            block.parts.append(delta["partial_json"])
        elif kind == "signature_delta":
            block.signature = delta["signature"]
        elif kind == "citations_delta":
            block.citations.append(delta["citation"])
        return None

    def content(self) -> list[ChatMessage]:
        """The blocks as the API accepts them back (empty text blocks dropped)."""
        out: list[ChatMessage] = []
        for _, block in sorted(self._blocks.items()):
            stored = _storable(block)
            if stored is not None:
                out.append(stored)
        return out


# Blocks whose input streams as JSON deltas; every other block arrives whole in its start event
# (server tools' result blocks) and is kept exactly as Claude sent it.
_WITH_INPUT = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})


def _storable(block: _Block) -> ChatMessage | None:
    joined = "".join(block.parts)
    if block.kind == "text":
        text = block.start.get("text", "") + joined
        if not text:
            return None
        citations = [*(block.start.get("citations") or []), *block.citations]
        return {"type": "text", "text": text, **({"citations": citations} if citations else {})}
    if block.kind == "thinking":
        thinking = block.start.get("thinking", "") + joined
        signature = block.signature or block.start.get("signature", "")
        return {"type": "thinking", "thinking": thinking, "signature": signature}
    if block.kind == "redacted_thinking":
        return {"type": "redacted_thinking", "data": block.start.get("data", "")}
    if block.kind == "tool_use":
        tool_input = json.loads(joined) if joined.strip() else block.start.get("input") or {}
        return {
            "type": "tool_use",
            "id": block.start["id"],
            "name": block.start["name"],
            "input": tool_input,
        }
    if block.kind in _WITH_INPUT:  # server tools: kept as sent, with the streamed input
        tool_input = json.loads(joined) if joined.strip() else block.start.get("input") or {}
        return {**block.start, "input": tool_input}
    return dict(block.start)


def merged_usage(start: Any, end: Any) -> Usage:
    """The call's usage: message_start's, overwritten by message_delta's cumulative counts;
    server tools' per-use counts (`server_tool_use`) from the latest that has them. Each is
    the usage object as sent (a dict) or the SDK's typed one (a batch result's)."""

    def count(name: str) -> int:
        late = _field(end, name)
        value = late if late is not None else _field(start, name)
        return int(value or 0)

    def tool_uses(name: str) -> int:
        for usage in (end, start):
            server = _field(usage, "server_tool_use")
            if server is not None:
                return int(_field(server, name) or 0)
        return 0

    write_5m = write_1h = 0
    creation = _field(start, "cache_creation")
    if creation is not None:
        write_5m = int(_field(creation, "ephemeral_5m_input_tokens") or 0)
        write_1h = int(_field(creation, "ephemeral_1h_input_tokens") or 0)
    else:
        write_5m = count("cache_creation_input_tokens")
    return Usage(
        input_tokens=count("input_tokens"),
        output_tokens=count("output_tokens"),
        cache_read_tokens=count("cache_read_input_tokens"),
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
        web_search_requests=tool_uses("web_search_requests"),
        web_fetch_requests=tool_uses("web_fetch_requests"),
    )


def _field(value: Any, name: str) -> Any:
    """A field of a JSON object or of the SDK's typed model (None when absent)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None)
