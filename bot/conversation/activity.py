"""What the thread says while a tool runs (pure): "Searching the web for “slack bolt”…",
"Reading docs.example.com…", "Running code…", "Using tickets › lookup_ticket…".

Server tools are described here from their name and input (the model adapter reports them);
client tools describe themselves (`Tool.describe`). The edit-in-place message shows the current
activity as a status line under the text so far; a native stream shows each call as a task.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from bot.conversation.messages import ToolActivity, ToolState

QUERY_CHARS = 80
FAILED_SUFFIX = " failed — carrying on…"
_SPACE = re.compile(r"\s+")

CODE_TOOLS = frozenset({"code_execution", "bash_code_execution", "text_editor_code_execution"})
TOOL_SEARCH = frozenset({"tool_search_tool_regex", "tool_search_tool_bm25"})


def shortened(text: str, limit: int) -> str:
    """One line of at most `limit` characters (cut with "…")."""
    line = _SPACE.sub(" ", text).strip()
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def host_of(url: str) -> str:
    """The host a URL names ("" when it names none)."""
    try:
        return urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""


def server_tool_text(name: str, tool_input: dict[str, Any]) -> str:
    """What a server tool call does, from its name and input."""
    if name == "web_search":
        query = shortened(str(tool_input.get("query") or ""), QUERY_CHARS)
        return f"Searching the web for “{query}”…" if query else "Searching the web…"
    if name == "web_fetch":
        host = host_of(str(tool_input.get("url") or ""))
        return f"Reading {host}…" if host else "Reading a web page…"
    if name in CODE_TOOLS:
        return "Running code…"
    if name in TOOL_SEARCH:
        return "Looking for tools…"
    return f"Using {name}…"


def failed_text(text: str) -> str:
    """ "Reading docs.example.com…" -> "Reading docs.example.com failed — carrying on…"."""
    return text.removesuffix("…") + FAILED_SUFFIX


def activity_line(activity: ToolActivity) -> str:
    """The activity as a status line of the live message (a failed call says so)."""
    text = failed_text(activity.text) if activity.state is ToolState.FAILED else activity.text
    return f"_{text}_"


__all__ = ["activity_line", "failed_text", "host_of", "server_tool_text", "shortened"]
