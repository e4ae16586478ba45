"""Scripted tool turns for the fake Claude: one assistant response made of parts (text, thinking,
server tool calls with their results, client tool calls), and replays of recorded streams.

    fake.enqueue(ToolTurn([
        Say("Let me look that up."),
        WebSearch("slack bolt python", [Hit("https://slack.dev/bolt-python", "Bolt for Python")]),
        Say("Bolt is Slack's framework.", cite=[Cite("https://slack.dev/bolt-python", "Bolt...")]),
    ]))

Each server part becomes a `server_tool_use` block (input streamed as input_json_delta) and its
result block (whole, in one content_block_start), shaped like ../shared/anthropic/server-tools/.
The fake enforces what the API does at run time: the tool must be in the request's `tools`,
`max_uses` is counted per response, domain filters apply, web_fetch only fetches URLs that appeared
earlier in the conversation (else a `url_not_in_prior_context` error result). A part with
`deferred=True` renders only its call; the next response in the conversation opens with its result
(after the client's tool_result message, or when a pause_turn is continued).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Cite:
    """A `web_search_result_location` citation (cited_text up to 150 characters)."""

    url: str
    cited_text: str
    title: str | None = None


@dataclass
class DocCite:
    """A `char_location` citation of a document (e.g. a web_fetch result with citations on)."""

    cited_text: str
    start: int = 0
    end: int | None = None  # default: start + len(cited_text)
    document_index: int = 0
    document_title: str | None = None


@dataclass
class Say:
    """A text block; with `cite`, it opens with "citations": [] and streams citations_delta
    events before its text_deltas."""

    text: str
    cite: list[Cite | DocCite] = field(default_factory=list)


@dataclass
class Think:
    """A thinking block (with its signature)."""

    thinking: str


@dataclass
class Hit:
    """One web_search_result."""

    url: str
    title: str
    page_age: str | None = None
    content: str = ""  # what the encrypted_content stands for


@dataclass
class WebSearch:
    """web_search: a server_tool_use {query} and its web_search_tool_result."""

    query: str
    hits: list[Hit] = field(default_factory=list)
    error: str | None = None  # an error_code: the result is a web_search_tool_result_error
    deferred: bool = False
    id: str | None = None


@dataclass
class WebFetch:
    """web_fetch: a server_tool_use {url} and its web_fetch_tool_result (a text or PDF document).
    The fake answers an error result instead when the API would (URL not in prior context, too
    long, not allowed by the domain filters, max_uses exceeded)."""

    url: str
    text: str = "Fetched page text."
    title: str | None = None
    pdf: bytes | None = None  # a PDF document instead of text
    error: str | None = None  # force an error_code (e.g. "url_not_accessible", "unavailable")
    deferred: bool = False
    id: str | None = None


@dataclass
class OutFile:
    """A file a command leaves in $OUTPUT_DIR: stored in the fake's Files API (downloadable)."""

    filename: str
    data: bytes
    mime_type: str = "application/octet-stream"


@dataclass
class Bash:
    """Code execution's bash_code_execution call and its bash_code_execution_tool_result."""

    command: str
    stdout: str = ""
    stderr: str = ""
    return_code: int = 0
    files: list[OutFile] = field(default_factory=list)
    error: str | None = None  # error_code: a bash_code_execution_tool_result_error
    deferred: bool = False
    id: str | None = None


@dataclass
class TextEdit:
    """Code execution's text_editor_code_execution call ("view", "create" or "str_replace")."""

    command: str
    path: str
    file_text: str | None = None  # create
    old_str: str | None = None  # str_replace
    new_str: str | None = None  # str_replace
    content: str = ""  # view: the file's text
    is_file_update: bool = False  # create: the file existed
    error: str | None = None  # error_code, e.g. "file_not_found"
    deferred: bool = False
    id: str | None = None


@dataclass
class CallTool:
    """A client tool_use block: the response stops with stop_reason "tool_use"."""

    name: str
    input: dict[str, Any]
    id: str | None = None


@dataclass
class McpCall:
    """MCP connector (beta): an mcp_tool_use block and its mcp_tool_result."""

    server: str
    name: str
    input: dict[str, Any]
    result: str = ""
    is_error: bool = False
    deferred: bool = False
    id: str | None = None


ServerPart = WebSearch | WebFetch | Bash | TextEdit | McpCall
Part = Say | Think | CallTool | ServerPart


@dataclass
class ToolTurn:
    """One response made of parts. stop_reason default: "tool_use" when a CallTool is in it,
    else "end_turn"; "pause_turn" pauses the turn (the client resends it as the final message)."""

    parts: list[Part]
    stop_reason: str | None = None
    chunk_chars: int = 8
    tool_seconds: float = 0.0  # how long each server tool runs: a pause before its result
    result_seconds: float = 0.0  # how long Claude takes to go on after a server tool's result


@dataclass
class RecordedReply:
    """Replays a recorded stream or response (../shared/anthropic/server-tools/*_recorded.txt).
    A stream file streams its events verbatim (non-streamed: their accumulated Message); a JSON
    response is sent as is (streamed: rendered into events)."""

    path: str | Path
