"""Replaying recorded Claude streams and responses (../shared/anthropic/server-tools/*_recorded.txt:
a comment header ending "# ---- END-OF-HEADER ----", then either one SSE `data:` payload per line
or a JSON Message). A stream is sent verbatim, each line as `event: <type>` / `data: <line>`; the
non-streamed answer to a stream file is the Message its events accumulate to. A JSON response is
answered as is; streamed, its content is rendered into events with the fake's own id and usage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testing.fakes.claude_sse import Rendered, Renderer, Step, TurnExtras

HEADER_END = "# ---- END-OF-HEADER ----"


@dataclass
class Recording:
    """A recorded stream (raw payload lines) or a recorded JSON response."""

    lines: list[str]
    response: dict[str, Any] | None


def load(path: str | Path) -> Recording:
    """Read a *_recorded.txt file."""
    text = Path(path).read_text(encoding="utf-8")
    if HEADER_END in text:
        text = text.split(HEADER_END, 1)[1]
    body = text.strip()
    if body.startswith("{\n") or not body.startswith('{"type":"message_start"'):
        return Recording([], json.loads(body))
    return Recording([line for line in body.splitlines() if line.strip()], None)


def _apply_delta(
    block: dict[str, Any], delta: dict[str, Any], buffers: dict[int, str], i: int
) -> None:
    kind = delta["type"]
    if kind == "text_delta":
        block["text"] = block.get("text", "") + delta["text"]
    elif kind == "citations_delta":
        block.setdefault("citations", []).append(delta["citation"])
    elif kind == "input_json_delta":
        buffers[i] = buffers.get(i, "") + delta["partial_json"]
    elif kind == "thinking_delta":
        block["thinking"] = block.get("thinking", "") + delta["thinking"]
    elif kind == "signature_delta":
        block["signature"] = delta["signature"]


def accumulate(lines: list[str]) -> dict[str, Any]:
    """The Message a recorded stream builds."""
    message: dict[str, Any] = {}
    buffers: dict[int, str] = {}
    for line in lines:
        event = json.loads(line)
        kind = event["type"]
        if kind == "message_start":
            message = dict(event["message"])
            message["content"] = []
        elif kind == "content_block_start":
            message["content"].append(dict(event["content_block"]))
        elif kind == "content_block_delta":
            index = event["index"]
            _apply_delta(message["content"][index], event["delta"], buffers, index)
        elif kind == "content_block_stop" and buffers.get(event["index"]):
            message["content"][event["index"]]["input"] = json.loads(buffers[event["index"]])
        elif kind == "message_delta":
            message.update({k: v for k, v in event["delta"].items()})
            message["usage"] = {**message["usage"], **event["usage"]}
    return message


def render(renderer: Renderer, recording: Recording) -> Rendered:
    """The recording, ready to send streamed or not."""
    if recording.response is not None:
        response = recording.response
        usage = response.get("usage") or {}
        server = usage.get("server_tool_use") or {}
        renderer.server_tools = "server_tool_use" in usage
        renderer.extras = TurnExtras(
            searches=int(server.get("web_search_requests", 0)),
            fetches=int(server.get("web_fetch_requests", 0)),
            container=response.get("container"),
        )
        streamed = renderer.blocks(response["content"], str(response.get("stop_reason")))
        return Rendered(response, streamed.steps)  # not streamed: the recording itself
    steps = [
        Step(0.0, f"event: {json.loads(line)['type']}\ndata: {line}\n\n".encode())
        for line in recording.lines
    ]
    return Rendered(accumulate(recording.lines), steps)
