"""Running a scripted ToolTurn against one request: the content blocks the API would answer, the
stop reason, usage.server_tool_use counts and the code-execution container; and the state the fake
keeps between requests (deferred server calls, paused turns, containers).

A script that asks for something Claude could not do with this request (a tool the request does
not define, a deferred call with nothing to wait for) raises ScriptError: the fake answers HTTP 500
and records it in `FakeClaude.script_errors`, so the test fails loudly rather than passing on a
response the real API would never send.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from testing.fakes.claude_errors import ApiError, new_id
from testing.fakes.claude_files import FileStore
from testing.fakes.claude_script_tools import (
    Bash,
    CallTool,
    Cite,
    DocCite,
    McpCall,
    Part,
    Say,
    ServerPart,
    TextEdit,
    Think,
    ToolTurn,
    WebFetch,
    WebSearch,
)
from testing.fakes.claude_sse import signature_for
from testing.fakes.claude_tool_defs import DYNAMIC_WEB_TOOLS, ToolSet
from testing.fakes.claude_tool_memory import MEMORY_TYPE, memory_call_problem
from testing.fakes.claude_tool_web import (
    WEB_FETCH_ERRORS,
    WEB_SEARCH_ERRORS,
    encrypted,
    fetch_content,
    fetch_error,
    normalize,
    prior_context,
    search_content,
    urls_in,
)

CODE_ERRORS = frozenset({"invalid_tool_input", "unavailable", "too_many_requests"}) | {
    "execution_time_exceeded"
}
BASH_ERRORS = CODE_ERRORS | {"output_file_too_large"}
EDIT_ERRORS = CODE_ERRORS | {"file_not_found"}
RESULT_TYPE: dict[type, str] = {
    WebSearch: "web_search_tool_result",
    WebFetch: "web_fetch_tool_result",
    Bash: "bash_code_execution_tool_result",
    TextEdit: "text_editor_code_execution_tool_result",
}
CONTAINER_SECONDS = 3600
_CALLS = ("server_tool_use", "mcp_tool_use")  # the rolling expires_at the fake reports


class ScriptError(Exception):
    """A scripted reply the real API could never send for this request."""


@dataclass
class Continuation:
    """A request that continued a paused turn (its final message is the paused content)."""

    message_id: str | None  # the paused response it continues; None: no paused response matched
    as_is: bool  # the content was sent back unchanged


@dataclass
class ToolState:
    """What the fake remembers between requests."""

    deferred: dict[str, ServerPart] = field(default_factory=dict)  # call id -> part
    paused: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # message id -> content
    containers: dict[str, str] = field(default_factory=dict)  # container id -> expires_at
    # container id -> Files API ids put into it by container_upload blocks of requests that ran
    # code in it
    container_files: dict[str, list[str]] = field(default_factory=dict)
    continuations: list[Continuation] = field(default_factory=list)

    def container_of(self, body: dict[str, Any]) -> str | None:
        """The request's `container` id, checked; raises the 400 of an unknown one."""
        value = body.get("container")
        container_id = value.get("id") if isinstance(value, dict) else value
        if container_id is None:
            return None
        if not isinstance(container_id, str) or container_id not in self.containers:
            raise ApiError(
                400,
                "invalid_request_error",
                f"container: container '{container_id}' was not found or has expired; send the "
                "request without `container` to get a new one",
            )
        return container_id

    def note_continuation(self, messages: list[Any]) -> None:
        """Record whether a final assistant message resends a paused response as is."""
        if not messages or messages[-1].get("role") != "assistant":
            return
        sent = _normalized(messages[-1].get("content"))
        calls = {b.get("id") for b in sent if isinstance(b, dict) and b.get("type") in _CALLS}
        if not isinstance(sent, list) or not calls:
            return  # a prefill, not a paused server turn
        for message_id, content in self.paused.items():
            if calls & {b.get("id") for b in content if b.get("type") in _CALLS}:
                self.continuations.append(Continuation(message_id, sent == _normalized(content)))
                return
        self.continuations.append(Continuation(None, False))


def _normalized(value: Any) -> Any:
    """JSON without null members (what the SDK leaves out or sends as null)."""
    if isinstance(value, dict):
        return {k: _normalized(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


@dataclass
class TurnOutcome:
    """The response a ToolTurn makes for one request."""

    content: list[dict[str, Any]]
    stop_reason: str
    searches: int = 0
    fetches: int = 0
    container: dict[str, Any] | None = None
    result_tokens: int = 0  # result blocks count as input tokens of the turn


def _part_from_call(call: dict[str, Any]) -> ServerPart:
    """A part answering a waiting call the fake did not script (history built elsewhere)."""
    given, name = call.get("input") or {}, call.get("name")
    if call["type"] == "mcp_tool_use":
        return McpCall(str(call["server_name"]), str(name), given, id=call["id"])
    if name == "web_search":
        return WebSearch(str(given.get("query", "")), id=call["id"])
    if name == "web_fetch":
        return WebFetch(str(given.get("url", "")), id=call["id"])
    if name == "bash_code_execution":
        return Bash(str(given.get("command", "")), id=call["id"])
    if name == "text_editor_code_execution":
        command, path = str(given.get("command", "view")), str(given.get("path", ""))
        return TextEdit(command, path, id=call["id"])
    raise ScriptError(f"the fake cannot answer a waiting `{name}` call ({call['id']})")


class TurnRunner:
    """Turns scripted parts into content blocks for one request."""

    def __init__(
        self,
        body: dict[str, Any],
        tools: ToolSet,
        files: FileStore,
        state: ToolState,
        waiting: list[dict[str, Any]],
    ) -> None:
        self.body, self.tools, self.files, self.state = body, tools, files, state
        self.waiting = waiting
        self.known = prior_context(body.get("messages") or [])
        self.out = TurnOutcome([], "end_turn")
        self.uses: dict[str, int] = {}
        self.container_id: str | None = state.container_of(body)

    def run(self, turn: ToolTurn) -> TurnOutcome:
        """The response: waiting calls answered first, then the parts."""
        for call in self.waiting:
            waited = self.state.deferred.pop(call["id"], None) or _part_from_call(call)
            self.out.content.append(self._result(waited, call["id"]))
        calls_client = any(isinstance(p, CallTool) for p in turn.parts)
        stop = turn.stop_reason or ("tool_use" if calls_client else "end_turn")
        if stop == "pause_turn" and calls_client:
            raise ScriptError("a pause_turn response cannot call a client tool")
        for part in turn.parts:
            self._part(part, may_defer=calls_client or stop == "pause_turn")
        self.out.stop_reason = stop
        return self.out

    def _part(self, part: Part, *, may_defer: bool) -> None:
        if isinstance(part, Say):
            self.out.content.append(_text(part))
        elif isinstance(part, Think):
            sig = signature_for(part.thinking)
            self.out.content.append(
                {"type": "thinking", "thinking": part.thinking, "signature": sig}
            )
        elif isinstance(part, CallTool):
            if part.name not in self.tools.client:
                raise ScriptError(f"CallTool({part.name!r}): the request defines no such tool")
            if self.tools.client[part.name].get("type") == MEMORY_TYPE:
                problem = memory_call_problem(part.input)
                if problem is not None:
                    raise ScriptError(f"CallTool({part.name!r}): {problem}")
            tool_id = part.id or new_id("toolu_")
            block = {"type": "tool_use", "id": tool_id, "name": part.name, "input": part.input}
            self.out.content.append(block)
        else:
            self._server(part, may_defer)

    def _server(self, part: ServerPart, may_defer: bool) -> None:
        call = self._call(part)
        self.out.content.append(call)
        if part.deferred:
            if not may_defer:
                raise ScriptError(
                    "a deferred call needs a CallTool in the same turn or stop_reason pause_turn"
                )
            self.state.deferred[call["id"]] = part
            return
        self.out.content.append(self._result(part, call["id"]))

    def _call(self, part: ServerPart) -> dict[str, Any]:
        if isinstance(part, McpCall):
            if part.server not in self.tools.mcp_servers:
                raise ScriptError(f"McpCall: the request defines no MCP server {part.server!r}")
            call_id = part.id or new_id("mcptoolu_")
            return {
                "type": "mcp_tool_use",
                "id": call_id,
                "name": part.name,
                "input": part.input,
                "server_name": part.server,
            }
        name, given = _call_input(part)
        tool = self._tool(name, "code_execution" if name.endswith("code_execution") else name)
        call_id = part.id or new_id("srvtoolu_")
        block: dict[str, Any] = {"type": "server_tool_use", "id": call_id, "name": name}
        block["input"] = given
        if tool["type"] in DYNAMIC_WEB_TOOLS:
            block["caller"] = {"type": "direct"}
        return block

    def _tool(self, call_name: str, tool_name: str) -> dict[str, Any]:
        tool = self.tools.server.get(tool_name)
        if tool is None:
            raise ScriptError(f"{call_name}: the request defines no `{tool_name}` tool")
        if tool_name == "code_execution" and str(tool["type"]) < "code_execution_20250825":
            raise ScriptError(f"{call_name} needs code_execution_20250825 or later")
        if tool_name != "code_execution" and "direct" not in self.tools.callers(tool_name):
            raise ScriptError(
                f"{call_name}: {tool['type']} is not callable directly with these "
                'allowed_callers (set "allowed_callers": ["direct"] on the tool)'
            )
        return tool

    def _over_limit(self, name: str) -> bool:
        self.uses[name] = self.uses.get(name, 0) + 1
        limit = self.tools.server[name].get("max_uses")
        return isinstance(limit, int) and self.uses[name] > limit

    def _result(self, part: ServerPart, call_id: str) -> dict[str, Any]:
        if isinstance(part, McpCall):
            text = [{"type": "text", "text": part.result}] if part.result else []
            block = {"type": "mcp_tool_result", "tool_use_id": call_id, "is_error": part.is_error}
            block["content"] = text
        else:
            kind = RESULT_TYPE[type(part)]
            block = {"type": kind, "tool_use_id": call_id, "content": self._content(part)}
        self.out.result_tokens += math.ceil(len(json.dumps(block)) / 4)
        return block

    def _content(self, part: WebSearch | WebFetch | Bash | TextEdit) -> Any:
        if isinstance(part, WebSearch):
            return self._search(part)
        if isinstance(part, WebFetch):
            return self._fetch(part)
        self._use_container()
        if isinstance(part, Bash):
            return self._bash(part)
        return _edit_result(part)

    def _search(self, part: WebSearch) -> Any:
        _check_code(part.error, WEB_SEARCH_ERRORS, "WebSearch")
        error = "max_uses_exceeded" if self._over_limit("web_search") else part.error
        if error:
            return {"type": "web_search_tool_result_error", "error_code": error}
        self.out.searches += 1  # a failed search is not billed
        results = search_content(part, self.tools.server["web_search"])
        self.known |= {normalize(r["url"]) for r in results}
        return results

    def _fetch(self, part: WebFetch) -> Any:
        _check_code(part.error, WEB_FETCH_ERRORS, "WebFetch")
        tool = self.tools.server["web_fetch"]
        error = fetch_error(part, tool, self.known, self._over_limit("web_fetch"))
        self.out.fetches += 1  # failed fetches count too (recorded error response)
        if error:
            return {"type": "web_fetch_tool_result_error", "error_code": error}
        self.known |= {normalize(part.url)} | urls_in(part.text)
        return fetch_content(part, tool)

    def _bash(self, part: Bash) -> Any:
        _check_code(part.error, BASH_ERRORS, "Bash")
        if part.error:
            return {"type": "bash_code_execution_tool_result_error", "error_code": part.error}
        outputs = [
            {"type": "bash_code_execution_output", "file_id": self.files.add_generated(*f).id}
            for f in ((o.filename, o.data, o.mime_type) for o in part.files)
        ]
        return {
            "type": "bash_code_execution_result",
            "stdout": part.stdout,
            "stderr": part.stderr,
            "return_code": part.return_code,
            "content": outputs,
        }

    def _use_container(self) -> None:
        if self.container_id is None:
            self.container_id = new_id("container_")
        expires = time.strftime(
            "%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(time.time() + CONTAINER_SECONDS)
        )
        self.state.containers[self.container_id] = expires
        self.out.container = {"id": self.container_id, "expires_at": expires}
        files = self.state.container_files.setdefault(self.container_id, [])
        for message in self.body.get("messages") or []:
            content = message.get("content") if isinstance(message, dict) else None
            for block in content if isinstance(content, list) else []:
                is_upload = isinstance(block, dict) and block.get("type") == "container_upload"
                if is_upload and block["file_id"] not in files:
                    files.append(block["file_id"])


def _check_code(code: str | None, known: frozenset[str], what: str) -> None:
    if code is not None and code not in known:
        raise ScriptError(f"{what}(error={code!r}): not an error code the API uses")


def _call_input(part: WebSearch | WebFetch | Bash | TextEdit) -> tuple[str, dict[str, Any]]:
    if isinstance(part, WebSearch):
        return "web_search", {"query": part.query}
    if isinstance(part, WebFetch):
        return "web_fetch", {"url": part.url}
    if isinstance(part, Bash):
        return "bash_code_execution", {"command": part.command}
    given: dict[str, Any] = {"command": part.command, "path": part.path}
    extra = {"file_text": part.file_text, "old_str": part.old_str, "new_str": part.new_str}
    given.update({k: v for k, v in extra.items() if v is not None})
    return "text_editor_code_execution", given


def _edit_result(part: TextEdit) -> dict[str, Any]:
    _check_code(part.error, EDIT_ERRORS, "TextEdit")
    if part.error:
        kind = "text_editor_code_execution_tool_result_error"
        return {"type": kind, "error_code": part.error, "error_message": None}
    if part.command == "create":
        kind = "text_editor_code_execution_create_result"
        return {"type": kind, "is_file_update": part.is_file_update}
    if part.command == "str_replace":
        old, new = (part.old_str or "").splitlines(), (part.new_str or "").splitlines()
        return {
            "type": "text_editor_code_execution_str_replace_result",
            "old_start": 1,
            "old_lines": len(old),
            "new_start": 1,
            "new_lines": len(new),
            "lines": [f"-{line}" for line in old] + [f"+{line}" for line in new],
        }
    if part.command != "view":
        raise ScriptError(f"TextEdit(command={part.command!r}): view, create or str_replace")
    lines = len(part.content.splitlines())
    return {
        "type": "text_editor_code_execution_view_result",
        "file_type": "text",
        "content": part.content,
        "num_lines": lines,
        "start_line": 1,
        "total_lines": lines,
    }


def _citation(cite: Cite | DocCite) -> dict[str, Any]:
    if isinstance(cite, Cite):
        return {
            "type": "web_search_result_location",
            "cited_text": cite.cited_text[:150],
            "url": cite.url,
            "title": cite.title,
            "encrypted_index": encrypted(cite.url, cite.cited_text),
        }
    end = cite.end if cite.end is not None else cite.start + len(cite.cited_text)
    return {
        "type": "char_location",
        "cited_text": cite.cited_text,
        "document_index": cite.document_index,
        "document_title": cite.document_title,
        "start_char_index": cite.start,
        "end_char_index": end,
    }


def _text(part: Say) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": part.text}
    if part.cite:
        block["citations"] = [_citation(c) for c in part.cite]
    return block
