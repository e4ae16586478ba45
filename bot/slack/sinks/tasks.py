"""The `chunks` of Slack's streaming methods (pure): answer text as `markdown_text` chunks and
tool calls as `task_update` chunks (../shared/slack/methods/chunks.md).

A task is one tool call: its id, a title ("Searching the web for “slack bolt”"), and a status —
`in_progress` while it runs, then `complete` or `error`; a finished search or fetch names the
pages it read as `sources` where they fit. Slack limits "chunk sizes for task_update and
plan_update" to 256 characters; read strictly (the whole chunk, as compact JSON), a title is cut
and sources are left out rather than the chunk refused.
"""

from __future__ import annotations

import json
from typing import Any

from bot.conversation.activity import shortened
from bot.conversation.messages import ToolActivity, ToolState

Chunk = dict[str, Any]
MAX_TASK_CHUNK = 256
TITLE_CHARS = 120
TASK_STATUS = {
    ToolState.STARTED: "in_progress",
    ToolState.DONE: "complete",
    ToolState.FAILED: "error",
}


def text_chunks(text: str) -> list[Chunk]:
    """Answer text as the `chunks` of a streaming call (how Slack's own SDK streams text)."""
    return [{"type": "markdown_text", "text": text}]


def task_title(text: str) -> str:
    """A task's title from the activity's text: one short line, without the trailing "…" (the
    task's status shows whether it still runs)."""
    return shortened(text, TITLE_CHARS).removesuffix("…").rstrip() or "Using a tool"


def chunk_size(chunk: Chunk) -> int:
    """A chunk's size as Slack's limit counts it (read strictly: compact JSON)."""
    return len(json.dumps(chunk, ensure_ascii=False, separators=(",", ":")))


def task_chunk(activity: ToolActivity, title: str) -> Chunk:
    """The task_update of one tool call, within MAX_TASK_CHUNK characters."""
    chunk: Chunk = {
        "type": "task_update",
        "id": activity.tool_id[:64] or "tool",
        "title": title,
        "status": TASK_STATUS[activity.state],
    }
    while chunk_size(chunk) > MAX_TASK_CHUNK and len(chunk["title"]) > 10:
        chunk["title"] = chunk["title"][: len(chunk["title"]) - 10].rstrip() + "…"
    sources: list[Chunk] = []
    for name, url in activity.sources:
        source = {"type": "url", "text": name, "url": url}
        if chunk_size({**chunk, "sources": [*sources, source]}) > MAX_TASK_CHUNK:
            break
        sources.append(source)
    if sources:
        chunk["sources"] = sources
    return chunk
