"""Rendering a scripted answer as SSE steps (shaped like ../shared/anthropic/sse/*.txt) and as a
JSON Message. Everything is encoded up front; the writer only paces and writes bytes."""

from __future__ import annotations

import base64
import hashlib
import json
import math
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any

from testing.fakes.claude_cache import CacheUsage
from testing.fakes.claude_errors import error_payload, new_id
from testing.fakes.claude_script import MidStreamError, Scripted, Stall, TextReply, ToolUseReply

PING = b'event: ping\ndata: {"type": "ping"}\n\n'
TOOL_JSON_CHUNK = 10  # characters of tool input JSON per input_json_delta
TOOL_CALLS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
SERVER_CALLS = frozenset({"server_tool_use", "mcp_tool_use"})
_EMPTY_TEXT = {"type": "text", "text": ""}


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One SSE event: `event: <type>\\ndata: <json>\\n\\n`."""
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"event: {event}\ndata: {payload}\n\n".encode()


@dataclass(slots=True)
class Step:
    """Bytes to write `at` seconds after the stream starts (or a pause of `pause` seconds)."""

    at: float
    data: bytes
    text: str | None = None  # the text of a text_delta, for stream_events_sent
    pause: float = 0.0


@dataclass
class TurnExtras:
    """What a tool turn adds to the message: server tool counts, container, result tokens."""

    searches: int = 0
    fetches: int = 0
    container: dict[str, Any] | None = None
    result_tokens: int = 0


@dataclass
class Rendered:
    """A scripted answer, ready to send either way."""

    message: dict[str, Any]  # the JSON Message (content and usage final)
    steps: list[Step] = field(default_factory=list)  # SSE, message_start included
    error: dict[str, Any] | None = None  # a mid-stream error payload, when the stream fails

    @property
    def duration(self) -> float:
        """Seconds the stream takes (what a non-streamed answer waits)."""
        last = max((s.at for s in self.steps), default=0.0)
        return last + sum(s.pause for s in self.steps)


def signature_for(thinking: str) -> str:
    """A deterministic stand-in for a thinking block's signature."""
    return "EqQB" + base64.b64encode(hashlib.sha256(thinking.encode()).digest()).decode()


def chunks(text: str, size: int) -> list[str]:
    """The text cut into pieces of `size` characters."""
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)]


class _Builder:
    """Accumulates content blocks and their SSE steps with pacing."""

    def __init__(self, ttft: float = 0.0, interval: float = 0.0) -> None:
        self.ttft, self.interval = ttft, interval
        self.steps: list[Step] = []
        self.content: list[dict[str, Any]] = []
        self.at = 0.0
        self.deltas = 0

    def start(self, block: dict[str, Any], final: dict[str, Any]) -> None:
        index = len(self.content)
        self.content.append(final)
        event = {"type": "content_block_start", "index": index, "content_block": block}
        self.steps.append(Step(self.at, sse("content_block_start", event)))
        if index == 0:
            self.steps.append(Step(self.at, PING))

    def delta(self, delta: dict[str, Any], text: str | None = None) -> None:
        event = {"type": "content_block_delta", "index": len(self.content) - 1, "delta": delta}
        self._paced(sse("content_block_delta", event), text)

    def _paced(self, data: bytes, text: str | None = None) -> None:
        self.at = self.ttft + self.deltas * self.interval
        self.deltas += 1
        self.steps.append(Step(self.at, data, text))

    def string_deltas(self, kind: str, name: str, pieces: list[str], is_text: bool) -> None:
        """Deltas carrying one string each, encoded from a template (the hot path)."""
        head = (
            'event: content_block_delta\ndata: {"type":"content_block_delta","index":'
            f'{len(self.content) - 1},"delta":{{"type":"{kind}","{name}":'
        )
        for piece in pieces:
            data = f"{head}{encode_basestring(piece)}}}}}\n\n".encode()
            self._paced(data, piece if is_text else None)

    def stop(self) -> None:
        event = {"type": "content_block_stop", "index": len(self.content) - 1}
        self.steps.append(Step(self.at, sse("content_block_stop", event)))

    def text_block(self, text: str, chunk_chars: int = 4) -> None:
        self.start({"type": "text", "text": ""}, {"type": "text", "text": text})
        self.string_deltas("text_delta", "text", chunks(text, chunk_chars), is_text=True)

    def thinking_block(self, thinking: str, chunk_chars: int) -> None:
        signature = signature_for(thinking)
        final = {"type": "thinking", "thinking": thinking, "signature": signature}
        self.start({"type": "thinking", "thinking": "", "signature": ""}, final)
        self.string_deltas("thinking_delta", "thinking", chunks(thinking, chunk_chars), False)
        self.delta({"type": "signature_delta", "signature": signature})
        self.stop()

    def any_block(self, block: dict[str, Any], chunk_chars: int) -> None:
        """Any content block as the API streams it: text (citations_delta before text_delta),
        tool calls (input as input_json_delta), thinking, result blocks whole."""
        kind = block["type"]
        if kind == "thinking":
            self.thinking_block(block["thinking"], chunk_chars)
            return
        if kind == "text":
            cited = "citations" in block
            head = {"citations": [], "type": "text", "text": ""} if cited else dict(_EMPTY_TEXT)
            self.start(head, block)
            for citation in block.get("citations") or []:
                self.delta({"type": "citations_delta", "citation": citation})
            self.string_deltas("text_delta", "text", chunks(block["text"], chunk_chars), True)
        elif kind in TOOL_CALLS:
            self.start({**block, "input": {}}, block)
            pieces = ["", *chunks(json.dumps(block["input"]), TOOL_JSON_CHUNK)]
            self.string_deltas("input_json_delta", "partial_json", pieces, is_text=False)
        else:
            self.start(block, block)
        self.stop()

    def tool_block(self, reply: ToolUseReply) -> str:
        tool_id = reply.tool_use_id or new_id("toolu_")
        head = {"type": "tool_use", "id": tool_id, "name": reply.name, "input": {}}
        self.start(head, {**head, "input": reply.input})
        encoded = json.dumps(reply.input)
        pieces = ["", *chunks(encoded, TOOL_JSON_CHUNK)]
        self.string_deltas("input_json_delta", "partial_json", pieces, is_text=False)
        self.stop()
        return encoded


def _tokens(*texts: str) -> int:
    return sum(math.ceil(len(t) / 4) for t in texts)


def _fit(reply: TextReply, max_tokens: int) -> tuple[str, str, str]:
    """Thinking, text and stop reason, cut at max_tokens like the model would stop."""
    thinking, text = reply.thinking or "", reply.text
    if reply.output_tokens is not None or _tokens(thinking, text) <= max_tokens:
        return thinking, text, reply.stop_reason
    budget = max_tokens * 4
    return thinking[:budget], text[: max(0, budget - len(thinking))], "max_tokens"


class Renderer:
    """Renders scripted answers for one request (model, usage and max_tokens known)."""

    def __init__(
        self, model: str, usage: CacheUsage, max_tokens: int, *, server_tools: bool = False
    ) -> None:
        self.model, self.usage, self.max_tokens = model, usage, max_tokens
        self.message_id = new_id("msg_")
        self.server_tools = server_tools  # usage reports server_tool_use (tools define some)
        self.extras = TurnExtras()

    def _message(self, content: list[dict[str, Any]], stop: str | None, out: int) -> dict[str, Any]:
        message: dict[str, Any] = {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": self.usage.as_usage(out),
        }
        if stop == "refusal":
            message["stop_details"] = {"type": "refusal", "category": None, "explanation": None}
        return message

    def _final_message(
        self, content: list[dict[str, Any]], stop: str | None, out: int
    ) -> dict[str, Any]:
        """The message as it ends: result tokens, server tool usage and container added."""
        message = self._message(content, stop, out)
        usage, extras = message["usage"], self.extras
        usage["input_tokens"] += extras.result_tokens
        if self.server_tools:
            usage["server_tool_use"] = {
                "web_search_requests": extras.searches,
                "web_fetch_requests": extras.fetches,
            }
        if extras.container is not None:
            message["container"] = extras.container
        return message

    def _start_step(self) -> Step:
        started = self._message([], None, 1)
        return Step(0.0, sse("message_start", {"type": "message_start", "message": started}))

    def _finish(self, builder: _Builder, stop: str, out: int) -> Rendered:
        message = self._final_message(builder.content, stop, out)
        delta: dict[str, Any] = {"stop_reason": stop, "stop_sequence": None}
        if "stop_details" in message:
            delta["stop_details"] = message["stop_details"]
        if "container" in message:
            delta["container"] = message["container"]
        usage = {
            k: v
            for k, v in message["usage"].items()
            if k.endswith("tokens") or k == "server_tool_use"
        }
        event = {"type": "message_delta", "delta": delta, "usage": usage}
        builder.steps.append(Step(builder.at, sse("message_delta", event)))
        builder.steps.append(Step(builder.at, sse("message_stop", {"type": "message_stop"})))
        return Rendered(message, [self._start_step(), *builder.steps])

    def text(self, reply: TextReply) -> Rendered:
        interval = (
            (reply.chunk_chars / 4) / reply.tokens_per_second if reply.tokens_per_second else 0.0
        )
        builder = _Builder(reply.ttft, interval)
        thinking, text, stop = _fit(reply, self.max_tokens)
        if reply.thinking is not None:
            builder.thinking_block(thinking, reply.chunk_chars)
        builder.text_block(text, reply.chunk_chars)
        builder.stop()
        out = reply.output_tokens if reply.output_tokens is not None else _tokens(thinking, text)
        return self._finish(builder, stop, max(0 if stop == "refusal" else 1, out))

    def tool_use(self, reply: ToolUseReply) -> Rendered:
        builder = _Builder()
        if reply.text_before:
            builder.text_block(reply.text_before)
            builder.stop()
        encoded = builder.tool_block(reply)
        return self._finish(builder, "tool_use", max(1, _tokens(reply.text_before, encoded)))

    def blocks(
        self,
        content: list[dict[str, Any]],
        stop: str,
        chunk_chars: int = 8,
        pauses: tuple[float, float] = (0.0, 0.0),
    ) -> Rendered:
        """Given content blocks (a tool turn, a replayed response), streamed as the API does;
        `pauses`: how long each server tool runs (after its call's block) and how long Claude
        takes to go on after its result."""
        builder = _Builder()
        for block in content:
            builder.any_block(block, chunk_chars)
            kind = block["type"]
            pause = pauses[0] if kind in SERVER_CALLS else 0.0
            pause = pauses[1] if kind.endswith("_tool_result") else pause
            if pause:
                builder.steps.append(Step(builder.at, b"", pause=pause))
        calls = [b["input"] for b in content if b["type"] in TOOL_CALLS]
        texts = [b.get("text") or b.get("thinking") or "" for b in content]
        out = max(1, _tokens(*texts, *(json.dumps(c) for c in calls)))
        return self._finish(builder, stop, out)

    def mid_stream_error(self, reply: MidStreamError) -> Rendered:
        builder = _Builder()
        builder.text_block(reply.text_before)
        payload = error_payload(reply.error_type, reply.message)
        builder.steps.append(Step(builder.at, sse("error", payload)))
        message = self._message(builder.content, None, _tokens(reply.text_before))
        return Rendered(message, [self._start_step(), *builder.steps], error=payload)

    def stall(self, reply: Stall) -> Rendered:
        builder = _Builder()
        builder.text_block(reply.text_before)
        builder.steps.append(Step(builder.at, b"", pause=reply.seconds))
        builder.stop()
        return self._finish(builder, "end_turn", max(1, _tokens(reply.text_before)))

    def prewarm(self) -> Rendered:
        """`max_tokens: 0`: no content, stop_reason max_tokens, no output tokens."""
        return Rendered(self._message([], "max_tokens", 0))

    def render(self, item: Scripted) -> Rendered:
        """Any non-HTTP-error scripted item."""
        if isinstance(item, TextReply):
            return self.text(item)
        if isinstance(item, ToolUseReply):
            return self.tool_use(item)
        if isinstance(item, MidStreamError):
            return self.mid_stream_error(item)
        if isinstance(item, Stall):
            return self.stall(item)
        raise TypeError(f"not renderable: {item!r}")
