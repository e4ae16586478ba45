"""What the fake Claude answers: scripted replies, the FIFO that holds them, recorded requests.
Tool turns (server tools, client tool calls) and recorded replays: claude_script_tools.py."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from testing.fakes.claude_script_tools import RecordedReply, ToolTurn


@dataclass
class TextReply:
    """A streamed (or JSON) text answer, optionally after a thinking block."""

    text: str = "Hello from the fake Claude."
    thinking: str | None = None  # emitted first as a thinking block (+ signature_delta) when set
    ttft: float = 0.0  # seconds before the first content delta
    tokens_per_second: float | None = None  # None: as fast as possible; ~4 chars a token
    chunk_chars: int = 4
    stop_reason: str = "end_turn"  # e.g. "max_tokens", "refusal"
    output_tokens: int | None = None  # default: derived from the text length


@dataclass
class ToolUseReply:
    """The assistant calls a tool (input streamed as input_json_delta chunks)."""

    name: str
    input: dict[str, Any]
    text_before: str = ""
    tool_use_id: str | None = None


@dataclass
class HttpError:
    """An HTTP error answer (JSON error body, `request-id`, optional `retry-after`)."""

    status: int  # 400, 401, 403, 404, 429, 500, 529 ...
    error_type: str  # invalid_request_error, rate_limit_error, overloaded_error, api_error ...
    message: str = ""
    retry_after: float | None = None  # sets the `retry-after` header when given


@dataclass
class MidStreamError:
    """Streams text_before, then an SSE `error` event, then ends the response."""

    text_before: str = "Partial answer"
    error_type: str = "overloaded_error"
    message: str = "Overloaded"


@dataclass
class Stall:
    """Streams text_before, then sends nothing for `seconds` (connection kept open)."""

    text_before: str = ""
    seconds: float = 60.0


Scripted = TextReply | ToolUseReply | HttpError | MidStreamError | Stall | ToolTurn | RecordedReply
Responder = Callable[[dict[str, Any]], Scripted]


@dataclass
class RecordedRequest:
    """One request the fake received, and what it answered."""

    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]
    at: float  # time.monotonic() on arrival
    status: int
    usage: dict[str, Any] | None  # the usage the fake reported, when it answered a message
    method: str = "POST"
    request_id: str = ""


@dataclass
class ScriptQueue:
    """FIFO of scripted replies; items enqueued with a model serve only that model, first."""

    general: deque[Scripted] = field(default_factory=deque)
    by_model: dict[str, deque[Scripted]] = field(default_factory=dict)

    def push(self, items: tuple[Scripted, ...], model: str | None) -> None:
        """Append items to the model's queue, or to the general one."""
        if model is None:
            self.general.extend(items)
        else:
            self.by_model.setdefault(model, deque()).extend(items)

    def pop(self, model: str) -> Scripted | None:
        """The next item for this model, or None when nothing is queued for it."""
        queue = self.by_model.get(model)
        if queue:
            return queue.popleft()
        if self.general:
            return self.general.popleft()
        return None

    def __len__(self) -> int:
        return len(self.general) + sum(len(q) for q in self.by_model.values())


def last_user_text(body: dict[str, Any]) -> str:
    """The text of the last user message (text blocks joined), or ""."""
    for message in reversed(body.get("messages") or []):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            texts = [
                b.get("text", "")
                for b in content
                if isinstance(b, dict) and b.get("type") == "text"
            ]
            return " ".join(t for t in texts if isinstance(t, str))
    return ""


def echo_reply(body: dict[str, Any]) -> Scripted:
    """The default responder: a deterministic echo of the last user text."""
    return TextReply(f"You said: {last_user_text(body)[:200]}")
