"""Server tool calls as they stream, read as the core's ToolActivity (pure).

A `server_tool_use` block is complete at its `content_block_stop` (its input — the query, the
URL — streamed as JSON deltas); its result block arrives whole in one `content_block_start`:
an `…_tool_result` whose `content` is an `…_error` object (or an `mcp_tool_result` with
`is_error`) means the call failed.
"""

from __future__ import annotations

import json
from typing import Any

from bot.conversation.activity import host_of, server_tool_text, shortened
from bot.conversation.messages import ToolActivity, ToolState

CALL_BLOCKS = frozenset({"server_tool_use", "mcp_tool_use"})
MAX_SOURCES = 5
TITLE_CHARS = 80


def call_started(start: dict[str, Any], input_json: str) -> ToolActivity | None:
    """The activity of a finished server tool call block (None for any other block)."""
    if start.get("type") not in CALL_BLOCKS:
        return None
    try:
        tool_input = json.loads(input_json) if input_json.strip() else start.get("input") or {}
    except ValueError:
        tool_input = {}
    name = str(start.get("name") or "")
    if start.get("type") == "mcp_tool_use":
        text = f"Using {start.get('server_name') or 'MCP'} › {name}…"
    else:
        text = server_tool_text(name, tool_input if isinstance(tool_input, dict) else {})
    return ToolActivity(str(start.get("id") or ""), name, ToolState.STARTED, text)


def result_arrived(block: dict[str, Any], calls: dict[str, ToolActivity]) -> ToolActivity | None:
    """The activity of a server tool's result block (None for any other block): done or
    failed, with the pages it read; named after its call when that streamed earlier."""
    kind = str(block.get("type") or "")
    if not kind.endswith("_tool_result"):
        return None
    tool_id = str(block.get("tool_use_id") or "")
    call = calls.get(tool_id)
    name = call.name if call is not None else kind.removesuffix("_tool_result")
    text = call.text if call is not None else server_tool_text(name, {})
    content = block.get("content")
    failed = bool(block.get("is_error")) or (
        isinstance(content, dict) and str(content.get("type") or "").endswith("_error")
    )
    state = ToolState.FAILED if failed else ToolState.DONE
    return ToolActivity(tool_id, name, state, text, () if failed else sources_of(content))


def sources_of(content: Any) -> tuple[tuple[str, str], ...]:
    """(title, url) of the pages a result read: search hits, or the fetched page."""
    items = content if isinstance(content, list) else [content]
    found: list[tuple[str, str]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        url = str(item.get("url") or "")
        if not url.startswith(("https://", "http://")):
            continue
        document = item.get("content")
        title = item.get("title") or (isinstance(document, dict) and document.get("title"))
        found.append((shortened(str(title or host_of(url) or url), TITLE_CHARS), url))
        if len(found) == MAX_SOURCES:
            break
    return tuple(found)
