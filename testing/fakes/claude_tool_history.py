"""Tool blocks in the message history: server tool calls and their result blocks, MCP calls, and
client tool blocks without tool definitions.

Rules (../shared/anthropic/server-tools/server_tools_docs.txt): a `server_tool_use` is answered by
its result block in the same assistant turn, paired by `tool_use_id`; a call made alongside a
client `tool_use` stays open (stop_reason tool_use) and is answered at the start of the next
assistant turn, after a user message of only `tool_result` blocks; a paused turn (pause_turn) may
end with an open call, and is continued by resending it as the final message; the tool an open
call waits for must still be defined. Wording from the docs: "`web_fetch` tool use with id `…` was
found without a corresponding `web_fetch_tool_result` block", "... but no `web_fetch` tool was
provided" (the message's end only); from public reports: "Requests which include `tool_use` or
`tool_result` blocks must define tools."; made up here: the rest.
"""

from __future__ import annotations

from typing import Any

from testing.fakes.claude_errors import invalid
from testing.fakes.claude_tool_defs import ToolSet
from testing.fakes.claude_validate_messages import Located, merged_turns

#: The result block type answering each server tool name.
RESULT_OF: dict[str, str] = {
    "web_search": "web_search_tool_result",
    "web_fetch": "web_fetch_tool_result",
    "code_execution": "code_execution_tool_result",
    "bash_code_execution": "bash_code_execution_tool_result",
    "text_editor_code_execution": "text_editor_code_execution_tool_result",
    "tool_search_tool_regex": "tool_search_tool_result",
    "tool_search_tool_bm25": "tool_search_tool_result",
}
#: The tool definition that must be present for a call of each server tool name.
DEFINED_BY: dict[str, str] = {
    "bash_code_execution": "code_execution",
    "text_editor_code_execution": "code_execution",
}
RESULT_TYPES = frozenset({*RESULT_OF.values(), "mcp_tool_result"})
CALL_TYPES = frozenset({"server_tool_use", "mcp_tool_use"})
_NAMES = ", ".join(f"'{n}'" for n in RESULT_OF)

Open = dict[str, Located]  # call id -> the call block, in order


def _require(block: dict[str, Any], where: str, name: str, kind: type) -> None:
    if name not in block:
        raise invalid(f"{where}.{name}: Field required")
    if not isinstance(block[name], kind):
        raise invalid(f"{where}.{name}: Input should be a valid {kind.__name__}")


def _check_shape(block: dict[str, Any], where: str) -> None:
    kind = block["type"]
    if kind == "server_tool_use":
        _require(block, where, "id", str)
        _require(block, where, "input", dict)
        if block.get("name") not in RESULT_OF:
            raise invalid(f"{where}.server_tool_use.name: Input should be {_NAMES}")
    elif kind == "mcp_tool_use":
        for name in ("id", "name", "server_name"):
            _require(block, where, name, str)
        _require(block, where, "input", dict)
    else:
        _require(block, where, "tool_use_id", str)
        if "content" not in block:
            raise invalid(f"{where}.content: Field required")


def _result_name(call: dict[str, Any]) -> str:
    return "mcp_tool_result" if call["type"] == "mcp_tool_use" else RESULT_OF[call["name"]]


def _missing(call: Located) -> Exception:
    _, _, block = call
    name = block.get("name")
    return invalid(
        f"`{name}` tool use with id `{block.get('id')}` was found without a corresponding "
        f"`{_result_name(block)}` block"
    )


def _answer(open_calls: Open, item: Located) -> None:
    i, j, block = item
    tool_use_id = block["tool_use_id"]
    call = open_calls.pop(tool_use_id, None)
    if call is None:
        raise invalid(
            f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `{block['type']}` "
            f"blocks: {tool_use_id}. Each `{block['type']}` block must follow the server tool "
            "use block with that id in the same assistant turn."
        )
    expected = _result_name(call[2])
    if block["type"] != expected:
        raise invalid(
            f"messages.{i}.content.{j}: `{block['type']}` block answers `{call[2].get('name')}` "
            f"tool use `{tool_use_id}`; expected a `{expected}` block"
        )


def _walk_assistant(blocks: list[Located], carried: Open) -> Open:
    """Pair calls and results in one assistant turn; the calls left open."""
    open_calls = dict(carried)
    for item in blocks:
        i, j, block = item
        kind = block.get("type")
        if kind in CALL_TYPES:
            _check_shape(block, f"messages.{i}.content.{j}")
            open_calls[block["id"]] = item
        elif kind in RESULT_TYPES:
            _check_shape(block, f"messages.{i}.content.{j}")
            _answer(open_calls, item)
    return open_calls


def _only_results(blocks: list[Located]) -> bool:
    return bool(blocks) and all(b.get("type") == "tool_result" for _, _, b in blocks)


def _check_defined(waiting: list[dict[str, Any]], tools: ToolSet) -> None:
    for call in waiting:
        if call["type"] == "mcp_tool_use":
            needed, present = str(call["server_name"]), call["server_name"] in tools.mcp_servers
            label = f"`{needed}` MCP server"
        else:
            needed = DEFINED_BY.get(call["name"], call["name"])
            present, label = needed in tools.server, f"`{needed}` tool"
        if not present:
            raise invalid(
                f"`{call.get('name')}` tool use with id `{call['id']}` is waiting for its result, "
                f"but no {label} was provided"
            )


def _uses_client_tools(messages: list[Any]) -> bool:
    return any(
        isinstance(b, dict) and b.get("type") in ("tool_use", "tool_result")
        for m in messages
        if isinstance(m.get("content"), list)
        for b in m["content"]
    )


def validate_tool_history(messages: list[Any], tools: ToolSet) -> list[dict[str, Any]]:
    """Check tool blocks across the history; returns the server/MCP calls still waiting for
    their results (the continuation the response must start by answering)."""
    if not tools.names and _uses_client_tools(messages):
        raise invalid(
            "Requests which include `tool_use` or `tool_result` blocks must define tools."
        )
    turns = merged_turns(messages)
    carried: Open = {}
    for t, (role, blocks) in enumerate(turns):
        if role != "assistant":
            continue
        open_calls = _walk_assistant(blocks, carried)
        carried = {}
        if not open_calls:
            continue
        last = t == len(turns) - 1
        then_results = t + 1 < len(turns) and _only_results(turns[t + 1][1])
        if last or (then_results and t + 2 == len(turns)):
            waiting = [block for _, _, block in open_calls.values()]
            _check_defined(waiting, tools)
            return waiting
        if not then_results:
            raise _missing(next(iter(open_calls.values())))
        carried = open_calls
    return []
