"""The `chunks` argument of chat.startStream / appendStream / stopStream, checked strictly
against ../shared/slack/methods/chunks.md:

- `markdown_text` {text}; `task_update` {id, title, status, details?, output?, sources?} with
  status one of pending, in_progress, complete, error and sources a list of {type: "url", text,
  url}; `plan_update` {title}; `blocks` {blocks: at most 50 Block Kit blocks}.
- "The character limit for chunk sizes for task_update and plan_update is 256 characters": read
  strictly, the whole chunk as compact JSON.
- Any other type, a missing or mistyped field, or a key the docs do not name is `invalid_chunks`
  (with a message saying which chunk and why, as Slack's `response_metadata` does).

Helpers for tests read back what a streaming call carried: its text and its task updates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .slack_models import JsonDict, SlackError

CHUNK_TYPES = frozenset({"markdown_text", "task_update", "plan_update", "blocks"})
TASK_STATUSES = frozenset({"pending", "in_progress", "complete", "error"})
MAX_TASK_CHUNK = 256
MAX_CHUNK_BLOCKS = 50
_KEYS = {
    "markdown_text": frozenset({"type", "text"}),
    "task_update": frozenset({"type", "id", "title", "status", "details", "output", "sources"}),
    "plan_update": frozenset({"type", "title"}),
    "blocks": frozenset({"type", "blocks"}),
}


def _size(chunk: JsonDict) -> int:
    return len(json.dumps(chunk, ensure_ascii=False, separators=(",", ":")))


def _is_text(value: Any, *, required: bool = True) -> bool:
    if value is None:
        return not required
    return isinstance(value, str) and (bool(value.strip()) or not required)


def _source_problem(source: Any) -> str | None:
    if not isinstance(source, dict) or source.get("type") != "url":
        return "a source must be {type: url, text, url}"
    if set(source) - {"type", "text", "url"}:
        return f"unknown source keys {sorted(set(source) - {'type', 'text', 'url'})}"
    url = source.get("url")
    if not _is_text(source.get("text")) or not isinstance(url, str):
        return "a source needs text and url"
    if not url.startswith(("https://", "http://")):
        return f"source url {url!r:.60} is not a web address"
    return None


def _task_problem(chunk: JsonDict) -> str | None:
    if not _is_text(chunk.get("id")) or not _is_text(chunk.get("title")):
        return "task_update needs a non-empty id and title"
    if chunk.get("status") not in TASK_STATUSES:
        return f"task_update status {chunk.get('status')!r} is not one of {sorted(TASK_STATUSES)}"
    for key in ("details", "output"):
        if not _is_text(chunk.get(key), required=False):
            return f"task_update {key} must be a string"
    sources = chunk.get("sources")
    if sources is not None:
        if not isinstance(sources, list):
            return "task_update sources must be a list"
        for source in sources:
            problem = _source_problem(source)
            if problem:
                return problem
    return None


def chunk_problem(chunk: Any) -> str | None:
    """Why Slack would refuse this chunk (None when it is fine)."""
    if not isinstance(chunk, dict) or chunk.get("type") not in CHUNK_TYPES:
        kind = chunk.get("type") if isinstance(chunk, dict) else type(chunk).__name__
        return f"unknown chunk type {kind!r}"
    kind = chunk["type"]
    extra = set(chunk) - _KEYS[kind]
    if extra:
        return f"{kind} has unknown keys {sorted(extra)}"
    if kind == "markdown_text":
        return None if isinstance(chunk.get("text"), str) else "markdown_text needs text"
    if kind == "blocks":
        blocks = chunk.get("blocks")
        if not isinstance(blocks, list) or not 0 < len(blocks) <= MAX_CHUNK_BLOCKS:
            return f"blocks needs 1 to {MAX_CHUNK_BLOCKS} blocks"
        return None
    problem = _task_problem(chunk) if kind == "task_update" else None
    if kind == "plan_update" and not _is_text(chunk.get("title")):
        problem = "plan_update needs a title"
    if problem is None and _size(chunk) > MAX_TASK_CHUNK:
        problem = f"{kind} is {_size(chunk)} characters (limit {MAX_TASK_CHUNK})"
    return problem


def check_chunks(chunks: Any, code: str) -> list[JsonDict]:
    """The chunks, or SlackError(code) naming the first bad one."""
    if not isinstance(chunks, list) or not chunks:
        raise SlackError(code, response_metadata={"messages": ["chunks must be a non-empty list"]})
    for index, chunk in enumerate(chunks):
        problem = chunk_problem(chunk)
        if problem:
            message = f"[ERROR] {problem} [json-pointer:/chunks/{index}]"
            raise SlackError(code, response_metadata={"messages": [message]})
    return list(chunks)


def chunks_text(chunks: list[JsonDict] | None) -> str:
    return "".join(c["text"] for c in chunks or [] if c["type"] == "markdown_text")


def chunks_blocks(chunks: list[JsonDict] | None) -> list[JsonDict]:
    out: list[JsonDict] = []
    for chunk in chunks or []:
        if chunk["type"] == "blocks":
            out.extend(chunk["blocks"])
    return out


def _arg_chunks(args: Mapping[str, Any]) -> list[JsonDict]:
    chunks = args.get("chunks")
    if isinstance(chunks, str):
        chunks = json.loads(chunks)
    return [c for c in chunks or [] if isinstance(c, dict)]


def stream_text(args: Mapping[str, Any]) -> str:
    """The text a streaming call added: its markdown_text, then its markdown_text chunks."""
    text = args.get("markdown_text")
    return (text if isinstance(text, str) else "") + chunks_text(_arg_chunks(args))


def task_updates(args: Mapping[str, Any]) -> list[JsonDict]:
    """The task_update chunks a streaming call carried, in order."""
    return [c for c in _arg_chunks(args) if c.get("type") == "task_update"]
