"""What the fake Claude refuses about tools, as the real API does (400 invalid_request_error): tool
definitions (server tool types and parameters, MCP toolsets) and tool blocks in the history; and
scripts the API could never answer (HTTP 500, recorded in `script_errors`)."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic import AsyncAnthropic

from testing.fakes.claude_script_tools import CallTool, Say, ToolTurn, WebFetch, WebSearch
from testing.fakes.claude_server import FakeClaude

MODEL = "claude-sonnet-4-6"
USER: Any = [{"role": "user", "content": "Hi"}]
SEARCH: Any = {"type": "web_search_20250305", "name": "web_search"}
FETCH: Any = {"type": "web_fetch_20250910", "name": "web_fetch"}
RUN: Any = {"name": "run_command", "input_schema": {"type": "object"}}
MEMORY: Any = {"type": "memory_20250818", "name": "memory"}
MCP_SERVER: Any = {"type": "url", "url": "https://mcp.example.com/sse", "name": "echo"}


def _call(name: str = "web_search", call_id: str = "srvtoolu_1") -> dict[str, Any]:
    return {"type": "server_tool_use", "id": call_id, "name": name, "input": {"query": "q"}}


def _result(kind: str = "web_search_tool_result", call_id: str = "srvtoolu_1") -> dict[str, Any]:
    return {"type": kind, "tool_use_id": call_id, "content": []}


def _history(*assistant: dict[str, Any], then: Any = "thanks") -> list[Any]:
    return [
        *USER,
        {"role": "assistant", "content": list(assistant)},
        {"role": "user", "content": then},
    ]


TOOL_CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "unknown tool type",
        {"tools": [{"type": "web_search_20990101", "name": "web_search"}]},
        "tools.0: Input tag 'web_search_20990101' found using 'type' does not match any of the "
        "expected tags: 'bash_20250124', ",
    ),
    (
        "server tool without name",
        {"tools": [{"type": "web_search_20250305"}]},
        "tools.0.web_search_20250305.name: Field required",
    ),
    (
        "server tool with another name",
        {"tools": [{"type": "web_fetch_20250910", "name": "fetch"}]},
        "tools.0.web_fetch_20250910.name: Input should be 'web_fetch'",
    ),
    (
        "param of a later version",
        {"tools": [{**FETCH, "use_cache": False}]},
        "tools.0.web_fetch_20250910.use_cache: Extra inputs are not permitted",
    ),
    (
        "allowed and blocked domains",
        {"tools": [{**SEARCH, "allowed_domains": ["a.com"], "blocked_domains": ["b.com"]}]},
        "allowed_domains and blocked_domains cannot be used together",
    ),
    (
        "domain with a scheme",
        {"tools": [{**FETCH, "allowed_domains": ["https://example.com"]}]},
        "tools.0.web_fetch_20250910.allowed_domains.0: Invalid domain 'https://example.com': "
        "domains must not include the HTTP/HTTPS scheme",
    ),
    (
        "wildcard in the domain",
        {"tools": [{**SEARCH, "blocked_domains": ["*.example.com"]}]},
        "wildcards (*) are only allowed in the path",
    ),
    (
        "user_location not approximate",
        {"tools": [{**SEARCH, "user_location": {"type": "exact", "city": "Paris"}}]},
        "tools.0.web_search_20250305.user_location.type: Input should be 'approximate'",
    ),
    (
        "max_uses zero",
        {"tools": [{**SEARCH, "max_uses": 0}]},
        "tools.0.web_search_20250305.max_uses: Input should be greater than 0",
    ),
    (
        "max_uses not an integer",
        {"tools": [{**FETCH, "max_uses": "5"}]},
        "tools.0.web_fetch_20250910.max_uses: Input should be a valid integer",
    ),
    (
        "unknown caller",
        {"tools": [{**SEARCH, "allowed_callers": ["anyone"]}]},
        "tools.0.web_search_20250305.allowed_callers.0: Input should be 'direct', ",
    ),
    (
        "dynamic filtering with an old code execution",
        {
            "tools": [
                {"type": "web_fetch_20260209", "name": "web_fetch"},
                {"type": "code_execution_20250825", "name": "code_execution"},
            ]
        },
        "tools.0.web_fetch_20260209: web_fetch_20260209 requires code_execution_20260120 or later",
    ),
    (
        "two web_search versions",
        {"tools": [SEARCH, {"type": "web_search_20260318", "name": "web_search"}]},
        "tools: Tool names must be unique.",
    ),
    (
        "client tool named like a server tool",
        {"tools": [SEARCH, {"name": "web_search", "input_schema": {"type": "object"}}]},
        "tools: Tool names must be unique.",
    ),
    (
        "client tool schema not an object",
        {"tools": [{"name": "run", "input_schema": {"type": "string"}}]},
        "tools.0.custom.input_schema.type: Input should be 'object'",
    ),
    (
        "memory tool with a description",
        {"tools": [{**MEMORY, "description": "notes"}]},
        "tools.0.memory_20250818.description: Extra inputs are not permitted",
    ),
    (
        "memory tool with another name",
        {"tools": [{**MEMORY, "name": "notes"}]},
        "tools.0.memory_20250818.name: Input should be 'memory'",
    ),
    (
        "memory tool and a client tool named memory",
        {"tools": [MEMORY, {"name": "memory", "input_schema": {"type": "object"}}]},
        "tools: Tool names must be unique.",
    ),
    (
        "mcp_toolset without the beta",
        {"tools": [{"type": "mcp_toolset", "mcp_server_name": "echo"}]},
        "tools.0: Input tag 'mcp_toolset' found using 'type' does not match any of the expected",
    ),
    (
        "mcp_servers without the beta",
        {"extra_body": {"mcp_servers": [MCP_SERVER]}},
        "mcp_servers: Extra inputs are not permitted",
    ),
]

HISTORY_CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "server_tool_use without its result",
        {"tools": [SEARCH], "messages": _history(_call())},
        "`web_search` tool use with id `srvtoolu_1` was found without a corresponding "
        "`web_search_tool_result` block",
    ),
    (
        "result for an unknown server call",
        {
            "tools": [SEARCH],
            "messages": _history(_call(), _result(), _result(call_id="srvtoolu_9")),
        },
        "messages.1.content.2: unexpected `tool_use_id` found in `web_search_tool_result` blocks: "
        "srvtoolu_9",
    ),
    (
        "result block of another tool",
        {"tools": [SEARCH], "messages": _history(_call(), _result("web_fetch_tool_result"))},
        "expected a `web_search_tool_result` block",
    ),
    (
        "unknown server tool name",
        {"tools": [SEARCH], "messages": _history(_call("web_browse"), _result())},
        "messages.1.content.0.server_tool_use.name: Input should be 'web_search', ",
    ),
    (
        "tool_use without tool_result",
        {
            "tools": [RUN],
            "messages": _history(
                {"type": "tool_use", "id": "toolu_1", "name": "run_command", "input": {}}
            ),
        },
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: "
        "toolu_1.",
    ),
    (
        "tool_result for an unknown id",
        {
            "tools": [RUN],
            "messages": _history(
                {"type": "text", "text": "ok"},
                then=[{"type": "tool_result", "tool_use_id": "toolu_9", "content": "x"}],
            ),
        },
        "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_9.",
    ),
    (
        "tool blocks without tools",
        {
            "messages": _history(
                {"type": "tool_use", "id": "toolu_1", "name": "run_command", "input": {}},
                then=[{"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"}],
            )
        },
        "Requests which include `tool_use` or `tool_result` blocks must define tools.",
    ),
    (
        "paused call whose tool is gone",
        {"tools": [RUN], "messages": [*USER, {"role": "assistant", "content": [_call()]}]},
        "`web_search` tool use with id `srvtoolu_1` is waiting for its result, but no "
        "`web_search` tool was provided",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [c[1:] for c in TOOL_CASES + HISTORY_CASES],
    ids=[c[0] for c in TOOL_CASES + HISTORY_CASES],
)
async def test_tool_rules(
    fake: FakeClaude, client: AsyncAnthropic, overrides: dict[str, Any], message: str
) -> None:
    """Each invalid tool definition or tool history is a 400 invalid_request_error."""
    kwargs: dict[str, Any] = {"model": MODEL, "max_tokens": 100, "messages": USER, **overrides}
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(**kwargs)
    error = caught.value.body["error"]  # type: ignore[index]
    assert error["type"] == "invalid_request_error"
    assert message in error["message"]
    assert fake.requests[-1].status == 400


async def test_valid_tool_histories_pass(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """A completed server call, domain filters with paths and every current tool type pass."""
    tools: Any = [
        {**SEARCH, "allowed_domains": ["example.com/blog/*"], "max_uses": 3},
        {**FETCH, "blocked_domains": ["private.example.com"], "citations": {"enabled": True}},
        {"type": "code_execution_20260120", "name": "code_execution"},
        RUN,
        MEMORY,
    ]
    await client.messages.create(
        model=MODEL, max_tokens=50, tools=tools, messages=_history(_call(), _result())
    )
    dynamic: Any = [{"type": "web_search_20260209", "name": "web_search"}]
    await client.messages.create(model=MODEL, max_tokens=50, tools=dynamic, messages=USER)
    assert [r.status for r in fake.message_requests()] == [200, 200]


async def test_dynamic_filtering_needs_programmatic_tool_calling(client: AsyncAnthropic) -> None:
    """On Haiku 4.5 a _20260209 web tool needs allowed_callers ["direct"]; with it, it passes."""
    tool: Any = {"type": "web_fetch_20260209", "name": "web_fetch"}
    kwargs: Any = {"model": "claude-haiku-4-5", "max_tokens": 50, "messages": USER}
    with pytest.raises(anthropic.BadRequestError, match='"allowed_callers": \\["direct"\\]'):
        await client.messages.create(tools=[tool], **kwargs)
    direct: Any = {**tool, "allowed_callers": ["direct"]}
    await client.messages.create(tools=[direct], **kwargs)


MCP_RULES: list[tuple[str, Any, Any, str]] = [
    (
        "toolset for an unknown server",
        [MCP_SERVER],
        [
            {"type": "mcp_toolset", "mcp_server_name": "echo"},
            {"type": "mcp_toolset", "mcp_server_name": "other"},
        ],
        "tools.1.mcp_toolset.mcp_server_name: MCP server 'other' is not defined in mcp_servers",
    ),
    (
        "server without a toolset",
        [MCP_SERVER],
        [RUN],
        "mcp_servers: MCP server 'echo' must be referenced by exactly one mcp_toolset",
    ),
    (
        "server over plain http",
        [{**MCP_SERVER, "url": "http://mcp.example.com/sse"}],
        [{"type": "mcp_toolset", "mcp_server_name": "echo"}],
        "mcp_servers.0.url: the MCP server URL must start with https://",
    ),
    (
        "two toolsets for one server",
        [MCP_SERVER],
        [{"type": "mcp_toolset", "mcp_server_name": "echo"}] * 2,
        "is referenced by more than one mcp_toolset",
    ),
]


@pytest.mark.parametrize(
    ("servers", "tools", "message"), [c[1:] for c in MCP_RULES], ids=[c[0] for c in MCP_RULES]
)
async def test_mcp_connector_rules(
    client: AsyncAnthropic, servers: Any, tools: Any, message: str
) -> None:
    """The MCP connector's validation rules (beta mcp-client-2025-11-20)."""
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.beta.messages.create(
            model=MODEL,
            max_tokens=50,
            messages=USER,
            mcp_servers=servers,
            tools=tools,
            betas=["mcp-client-2025-11-20"],
        )
    assert message in caught.value.body["error"]["message"]  # type: ignore[index]


SCRIPT_ERRORS: list[tuple[str, Any, Any, str]] = [
    ("search without the tool", ToolTurn([WebSearch("q")]), [FETCH], "defines no `web_search`"),
    ("undefined client tool", ToolTurn([CallTool("deploy", {})]), [RUN], "CallTool('deploy')"),
    (
        "deferred call with nothing to wait for",
        ToolTurn([WebFetch("https://example.com", deferred=True), Say("x")]),
        [FETCH],
        "a deferred call needs a CallTool",
    ),
    (
        "dynamic tool called directly",
        ToolTurn([WebSearch("q")]),
        [{"type": "web_search_20260209", "name": "web_search"}],
        'set "allowed_callers": ["direct"]',
    ),
    ("unknown error code", ToolTurn([WebSearch("q", error="oops")]), [SEARCH], "error='oops'"),
    (
        "memory call with an unknown command",
        ToolTurn([CallTool("memory", {"command": "chmod", "path": "/memories"})]),
        [MEMORY],
        "memory: unknown command 'chmod'",
    ),
    (
        "memory create without its text",
        ToolTurn([CallTool("memory", {"command": "create", "path": "/memories/a.md"})]),
        [MEMORY],
        "memory.create: file_text must be a str",
    ),
    (
        "memory view with an extra field",
        ToolTurn([CallTool("memory", {"command": "view", "path": "/memories", "depth": 3})]),
        [MEMORY],
        "memory.view: unexpected fields ['depth']",
    ),
]


@pytest.mark.parametrize(
    ("turn", "tools", "message"), [c[1:] for c in SCRIPT_ERRORS], ids=[c[0] for c in SCRIPT_ERRORS]
)
async def test_impossible_scripts_fail_loudly(
    fake: FakeClaude, client: AsyncAnthropic, turn: Any, tools: Any, message: str
) -> None:
    """A script the real API could not answer is a 500 and lands in fake.script_errors."""
    fake.enqueue(turn)
    with pytest.raises(anthropic.InternalServerError, match="fake Claude script error"):
        await client.messages.create(model=MODEL, max_tokens=50, messages=USER, tools=tools)
    assert len(fake.script_errors) == 1
    assert message in fake.script_errors[0]


async def test_a_memory_call_round_trips(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """The memory tool is offered as its type, Claude's call is a tool_use named memory with a
    valid command, and its tool_result is accepted on the next request."""
    view = {"command": "view", "path": "/memories"}
    fake.enqueue(ToolTurn([CallTool("memory", view, id="toolu_m1")]))
    first = await client.messages.create(model=MODEL, max_tokens=50, tools=[MEMORY], messages=USER)
    (call,) = [b for b in first.content if b.type == "tool_use"]
    assert (call.name, call.input) == ("memory", view)
    result: Any = [{"type": "tool_result", "tool_use_id": "toolu_m1", "content": "(empty)"}]
    messages: Any = [*USER, {"role": "assistant", "content": [call.model_dump()]}]
    await client.messages.create(
        model=MODEL,
        max_tokens=50,
        tools=[MEMORY],
        messages=[*messages, {"role": "user", "content": result}],
    )
    assert [r.status for r in fake.message_requests()] == [200, 200]
