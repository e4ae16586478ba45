"""The fake Claude's server tools and tool turns, driven by the real anthropic SDK: scripted
ToolTurns parse into the SDK's typed blocks, streamed and non-streamed answers agree, the streams
follow the recorded ones in ../shared/anthropic/server-tools/, and recorded streams replay."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic import AsyncAnthropic
from anthropic.types import (
    BashCodeExecutionOutputBlock,
    BashCodeExecutionResultBlock,
    BashCodeExecutionToolResultBlock,
    CitationsWebSearchResultLocation,
    ContentBlock,
    DocumentBlock,
    Message,
    ServerToolUseBlock,
    TextBlock,
    TextEditorCodeExecutionCreateResultBlock,
    TextEditorCodeExecutionToolResultBlock,
    ToolUseBlock,
    WebFetchBlock,
    WebFetchToolResultBlock,
    WebFetchToolResultErrorBlock,
    WebSearchResultBlock,
    WebSearchToolResultBlock,
)
from anthropic.types.beta import BetaContentBlock, BetaMCPToolResultBlock, BetaMCPToolUseBlock
from pydantic import BaseModel

from testing.fakes.claude_recorded import accumulate, load
from testing.fakes.claude_script_tools import (
    Bash,
    CallTool,
    Cite,
    Hit,
    McpCall,
    OutFile,
    RecordedReply,
    Say,
    TextEdit,
    ToolTurn,
    WebFetch,
    WebSearch,
)
from testing.fakes.claude_server import FakeClaude, TextReply

RECORDED = Path(__file__).resolve().parents[2] / "shared" / "anthropic" / "server-tools"
MODEL = "claude-sonnet-4-6"  # no prefill: a paused turn must still be continuable
SEARCH: Any = {"type": "web_search_20250305", "name": "web_search"}
FETCH: Any = {"type": "web_fetch_20250910", "name": "web_fetch"}
CODE: Any = {"type": "code_execution_20250825", "name": "code_execution"}
RUN: Any = {"name": "run_command", "input_schema": {"type": "object"}}
PAGE = "https://docs.slack.dev/tools/bolt-python"
ASK: Any = [{"role": "user", "content": f"What does {PAGE} say about Bolt?"}]
MCP_BETA = "mcp-client-2025-11-20"
MCP_SERVERS: Any = [{"type": "url", "url": "https://mcp.example.com/sse", "name": "echo"}]
MCP_TOOLS: Any = [{"type": "mcp_toolset", "mcp_server_name": "echo"}]
_BLOCK_TYPES = typing.get_args(typing.get_args(ContentBlock)[0])
_BETA_BLOCK_TYPES = typing.get_args(typing.get_args(BetaContentBlock)[0])
_VOLATILE = frozenset({"retrieved_at", "expires_at", "file_id"})
pytestmark = pytest.mark.skipif(not RECORDED.is_dir(), reason="../shared is not present")


def _scrub(value: Any) -> Any:
    """A message dict without what differs between two renders (ids of files, times)."""
    if isinstance(value, dict):
        return {k: ("*" if k in _VOLATILE else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _shape(message: BaseModel) -> Any:
    data = _scrub(message.to_dict(exclude_none=True))  # type: ignore[attr-defined]
    data.pop("id")
    if "container" in data:
        data["container"]["id"] = "*"
    return data


def _as_recorded(message: BaseModel) -> dict[str, Any]:
    """The SDK message as JSON, without the null stop_details the SDK's accumulator sets."""
    data: dict[str, Any] = message.to_dict(mode="json")  # type: ignore[attr-defined]
    if data.get("stop_details", 0) is None:
        data.pop("stop_details")
    return data


def _without_null_stop_details(recorded: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in recorded.items() if not (k == "stop_details" and v is None)}


def _untyped(value: Any, path: str = "") -> list[str]:
    """Paths where the SDK left a tagged object as a plain dict (an unknown type)."""
    if isinstance(value, BaseModel):
        fields = [n for n in type(value).model_fields if n != "input"]
        return [p for n in fields for p in _untyped(getattr(value, n), f"{path}.{n}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _untyped(v, f"{path}.{i}")]
    return [path] if isinstance(value, dict) and "type" in value else []


def _assert_typed(message: BaseModel, beta: bool = False) -> None:
    kinds = _BETA_BLOCK_TYPES if beta else _BLOCK_TYPES
    content = message.content  # type: ignore[attr-defined]
    assert all(isinstance(b, kinds) for b in content), [type(b) for b in content]
    assert _untyped(message) == []


async def _both(client: AsyncAnthropic, fake: FakeClaude, turn: Any, **kwargs: Any) -> Message:
    """The turn streamed and created; the two agree; the created Message."""
    kwargs = {"model": MODEL, "max_tokens": 1000, "messages": ASK, **kwargs}
    fake.enqueue(turn, turn)
    async with client.messages.stream(**kwargs) as stream:
        streamed = await stream.get_final_message()
    created: Message = await client.messages.create(**kwargs)
    assert _shape(streamed) == _shape(created)
    _assert_typed(streamed)
    _assert_typed(created)
    assert fake.script_errors == []
    return created


async def _raw_events(fake: FakeClaude, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The SSE data payloads of one streamed answer."""
    headers = {"x-api-key": fake.api_key, "anthropic-version": "2023-06-01"}
    payload = {"model": MODEL, "max_tokens": 1000, "stream": True, **body}
    async with httpx2.AsyncClient() as http:
        response = await http.post(f"{fake.url}/v1/messages", json=payload, headers=headers)
    lines = response.text.splitlines()
    return [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: ")]


def _grammar(events: list[dict[str, Any]]) -> set[tuple[str, bool, tuple[str, ...]]]:
    """Per block: its type, whether it opens with "citations": [], its delta types in order."""
    blocks: dict[int, tuple[str, bool, list[str]]] = {}
    for event in events:
        if event["type"] == "content_block_start":
            block = event["content_block"]
            blocks[event["index"]] = (block["type"], "citations" in block, [])
        elif event["type"] == "content_block_delta":
            deltas = blocks[event["index"]][2]
            if not deltas or deltas[-1] != event["delta"]["type"]:
                deltas.append(event["delta"]["type"])
    return {(kind, cited, tuple(deltas)) for kind, cited, deltas in blocks.values()}


def _recorded_grammar(name: str) -> set[tuple[str, bool, tuple[str, ...]]]:
    return _grammar([json.loads(line) for line in load(RECORDED / name).lines])


# --- scripted replies ---------------------------------------------------------------------------

SEARCH_TURN = ToolTurn(
    [
        Say("Let me search."),
        WebSearch("bolt python", [Hit(PAGE, "Bolt for Python", "2 days ago")], id="srvtoolu_s1"),
        Say("Bolt is Slack's framework.", cite=[Cite(PAGE, "Bolt is a framework", "Bolt")]),
    ]
)


async def test_web_search_turn_parses_into_typed_blocks(
    fake: FakeClaude, client: AsyncAnthropic
) -> None:
    """A web search turn: typed call, results and cited text; usage counts one search."""
    message = await _both(client, fake, SEARCH_TURN, tools=[SEARCH])
    call, result, cited = message.content[1:]
    assert isinstance(call, ServerToolUseBlock)
    assert call.input == {"query": "bolt python"}
    assert isinstance(result, WebSearchToolResultBlock)
    assert result.tool_use_id == call.id
    assert isinstance(result.content, list)
    assert isinstance(result.content[0], WebSearchResultBlock)
    assert result.content[0].page_age == "2 days ago"
    assert isinstance(cited, TextBlock)
    assert cited.citations
    assert isinstance(cited.citations[0], CitationsWebSearchResultLocation)
    assert message.usage.server_tool_use is not None
    assert message.usage.server_tool_use.web_search_requests == 1
    assert message.usage.server_tool_use.web_fetch_requests == 0


async def test_web_search_stream_follows_the_recording(fake: FakeClaude) -> None:
    """Cited text opens with "citations": [] and streams citations_delta before text_delta;
    results come whole; message_delta (not message_start) carries usage.server_tool_use."""
    fake.enqueue(SEARCH_TURN)
    events = await _raw_events(fake, {"messages": ASK, "tools": [SEARCH]})
    assert _grammar(events) <= _recorded_grammar("web_search_stream_recorded.txt")
    assert ("text", True, ("citations_delta", "text_delta")) in _grammar(events)
    starts = [e["content_block"] for e in events if e["type"] == "content_block_start"]
    assert list(starts[3]) == ["citations", "type", "text"]  # the recording's key order
    inputs = [e["delta"] for e in events if e.get("delta", {}).get("type") == "input_json_delta"]
    assert inputs[0]["partial_json"] == ""  # as recorded: the first input delta is empty
    assert "server_tool_use" not in events[0]["message"]["usage"]
    delta = next(e for e in events if e["type"] == "message_delta")
    assert delta["usage"]["server_tool_use"] == {"web_search_requests": 1, "web_fetch_requests": 0}


async def test_web_fetch_turn_and_its_error_result(
    fake: FakeClaude, client: AsyncAnthropic
) -> None:
    """A fetch of a URL the user gave returns the page as a document; a scripted error returns
    web_fetch_tool_result_error; both count as fetch requests."""
    turn = ToolTurn(
        [
            WebFetch(PAGE, "Bolt is a framework.", title="Bolt", id="srvtoolu_f1"),
            WebFetch(PAGE, error="unavailable", id="srvtoolu_f2"),
            Say("The page says Bolt is a framework."),
        ]
    )
    message = await _both(client, fake, turn, tools=[FETCH])
    fetched, failed = message.content[1], message.content[3]
    assert isinstance(fetched, WebFetchToolResultBlock)
    assert isinstance(fetched.content, WebFetchBlock)
    assert fetched.content.url == PAGE
    assert isinstance(fetched.content.content, DocumentBlock)
    assert fetched.content.content.title == "Bolt"
    assert isinstance(failed, WebFetchToolResultBlock)
    assert isinstance(failed.content, WebFetchToolResultErrorBlock)
    assert failed.content.error_code == "unavailable"
    assert message.usage.server_tool_use is not None
    assert message.usage.server_tool_use.web_fetch_requests == 2
    fake.enqueue(turn)
    events = await _raw_events(fake, {"messages": ASK, "tools": [FETCH]})
    assert _grammar(events) <= _recorded_grammar("web_fetch_stream_recorded.txt")


async def _fetch_codes(
    client: AsyncAnthropic, fake: FakeClaude, *parts: Any, **kw: Any
) -> list[str]:
    """The error_code of each web fetch result ("" for a fetched page)."""
    fake.enqueue(ToolTurn([*parts, Say("Done.")]))
    kwargs = {"model": MODEL, "max_tokens": 1000, "messages": ASK, "tools": [FETCH], **kw}
    message = await client.messages.create(**kwargs)
    results = [b for b in message.content if isinstance(b, WebFetchToolResultBlock)]
    return [getattr(r.content, "error_code", "") for r in results]


async def test_web_fetch_only_fetches_urls_from_the_prior_context(
    fake: FakeClaude, client: AsyncAnthropic
) -> None:
    """URLs the user gave, earlier results and client tool results are fetchable; a URL only in
    the system prompt or Claude's own text is answered with url_not_in_prior_context."""
    other = "https://example.org/other"
    assert await _fetch_codes(client, fake, WebFetch(PAGE), WebFetch(other)) == [
        "",
        "url_not_in_prior_context",
    ]
    assert await _fetch_codes(client, fake, WebFetch(other), system=f"See {other}") == [
        "url_not_in_prior_context"
    ]
    linked = WebFetch(PAGE, text=f"Related: {other}.")
    assert await _fetch_codes(client, fake, linked, WebFetch(other)) == ["", ""]
    history: Any = [
        *ASK,
        {"role": "assistant", "content": [{"type": "text", "text": f"Maybe {other}?"}]},
        {"role": "user", "content": "Fetch it."},
    ]
    assert await _fetch_codes(client, fake, WebFetch(other), messages=history) == [
        "url_not_in_prior_context"
    ]
    tool_turn: Any = [
        *ASK,
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "run_command", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": f"see <{other}|there>"}
            ],
        },
    ]
    codes = await _fetch_codes(
        client, fake, WebFetch(other), messages=tool_turn, tools=[FETCH, RUN]
    )
    assert codes == [""]


async def test_web_fetch_limits_and_domain_filters(
    fake: FakeClaude, client: AsyncAnthropic
) -> None:
    """max_uses, blocked_domains, URL length and scheme are enforced as error results."""
    limited = {**FETCH, "max_uses": 1}
    assert await _fetch_codes(client, fake, WebFetch(PAGE), WebFetch(PAGE), tools=[limited]) == [
        "",
        "max_uses_exceeded",
    ]
    blocked = {**FETCH, "blocked_domains": ["slack.dev"]}
    assert await _fetch_codes(client, fake, WebFetch(PAGE), tools=[blocked]) == ["url_not_allowed"]
    allowed = {**FETCH, "allowed_domains": ["docs.slack.dev"]}
    assert await _fetch_codes(client, fake, WebFetch(PAGE), tools=[allowed]) == [""]
    long_url = "https://example.org/" + "a" * 250
    ask: Any = [{"role": "user", "content": f"{long_url} and ftp://example.org/x"}]
    codes = await _fetch_codes(
        client, fake, WebFetch(long_url), WebFetch("ftp://example.org/x"), messages=ask
    )
    assert codes == ["url_too_long", "invalid_tool_input"]


async def test_code_execution_turn_and_its_file_download(
    fake: FakeClaude, client: AsyncAnthropic
) -> None:
    """Code execution: text editor and bash results typed, a container on the message, and the
    output file downloadable through the Files API (an uploaded file is not)."""
    turn = ToolTurn(
        [
            TextEdit("create", "/tmp/fib.py", file_text="print(55)", id="srvtoolu_e1"),
            Bash(
                "python /tmp/fib.py",
                stdout="55\n",
                files=[OutFile("fib.csv", b"n,fib\n10,55\n", "text/csv")],
                id="srvtoolu_b1",
            ),
            Say("The 10th Fibonacci number is 55."),
        ]
    )
    message = await _both(client, fake, turn, tools=[CODE])
    edit, ran = message.content[1], message.content[3]
    assert isinstance(edit, TextEditorCodeExecutionToolResultBlock)
    assert isinstance(edit.content, TextEditorCodeExecutionCreateResultBlock)
    assert isinstance(ran, BashCodeExecutionToolResultBlock)
    assert isinstance(ran.content, BashCodeExecutionResultBlock)
    assert ran.content.stdout == "55\n"
    output = ran.content.content[0]
    assert isinstance(output, BashCodeExecutionOutputBlock)
    assert message.container is not None
    assert message.container.id.startswith("container_")
    meta = await client.beta.files.retrieve_metadata(output.file_id, betas=["files-api-2025-04-14"])
    assert meta.downloadable is True
    assert meta.filename == "fib.csv"
    download = await client.beta.files.download(output.file_id, betas=["files-api-2025-04-14"])
    assert await download.read() == b"n,fib\n10,55\n"
    uploaded = await client.beta.files.upload(
        file=("a.txt", b"hi", "text/plain"), betas=["files-api-2025-04-14"]
    )
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.beta.files.download(uploaded.id, betas=["files-api-2025-04-14"])
    assert caught.value.error_code == "file_not_downloadable"
    fake.enqueue(TextReply("Same container."))
    kwargs: Any = {"model": MODEL, "max_tokens": 100, "messages": ASK, "tools": [CODE]}
    await client.messages.create(container=message.container.id, **kwargs)
    with pytest.raises(anthropic.BadRequestError, match="was not found or has expired"):
        await client.messages.create(container="container_gone", **kwargs)


async def test_container_upload_needs_code_execution_the_files_beta_and_a_file(
    fake: FakeClaude, client: AsyncAnthropic
) -> None:
    """A container_upload block is refused (400) without the Files API beta, for an unknown
    file, with an extra field, and without a code execution tool; with all of them the request
    is answered and the file is in the container the code ran in."""
    beta = ["files-api-2025-04-14"]
    uploaded = await client.beta.files.upload(file=("d.csv", b"a,b\n1,2\n", "text/csv"), betas=beta)
    upload: Any = {"type": "container_upload", "file_id": uploaded.id}
    ask: Any = [{"role": "user", "content": [{"type": "text", "text": "plot it"}, upload]}]
    headers = {"anthropic-beta": beta[0]}
    kwargs: Any = {"model": MODEL, "max_tokens": 100}
    with pytest.raises(anthropic.BadRequestError, match="files-api-2025-04-14"):
        await client.messages.create(messages=ask, tools=[CODE], **kwargs)
    unknown: Any = [{"role": "user", "content": [{**upload, "file_id": "file_nope"}]}]
    with pytest.raises(anthropic.BadRequestError, match="File not found"):
        await client.messages.create(
            messages=unknown, tools=[CODE], extra_headers=headers, **kwargs
        )
    extra: Any = [{"role": "user", "content": [{**upload, "path": "/tmp/x"}]}]
    with pytest.raises(anthropic.BadRequestError, match="Extra inputs"):
        await client.messages.create(messages=extra, tools=[CODE], extra_headers=headers, **kwargs)
    with pytest.raises(anthropic.BadRequestError, match="require the code execution tool"):
        await client.messages.create(messages=ask, tools=[RUN], extra_headers=headers, **kwargs)
    fake.enqueue(ToolTurn([Bash("python plot.py", stdout="ok"), Say("Plotted.")]))
    message = await client.messages.create(
        messages=ask, tools=[CODE], extra_headers=headers, **kwargs
    )
    assert message.container is not None
    assert fake.tool_state.container_files[message.container.id] == [uploaded.id]


async def test_pause_turn_continuation_round_trips(
    fake: FakeClaude, client: AsyncAnthropic
) -> None:
    """A pause_turn response ending in an open call is resent as is (final assistant message,
    on a model without prefill); the continuation opens with that call's result."""
    fake.enqueue(
        ToolTurn(
            [WebSearch("bolt", [Hit(PAGE, "Bolt")]), WebSearch("bolt docs", deferred=True)],
            stop_reason="pause_turn",
        ),
        TextReply("Both searches agree."),
    )
    kwargs: Any = {"model": MODEL, "max_tokens": 1000, "tools": [SEARCH]}
    paused = await client.messages.create(messages=ASK, **kwargs)
    assert paused.stop_reason == "pause_turn"
    open_call = paused.content[-1]
    assert isinstance(open_call, ServerToolUseBlock)
    resumed_history = [*ASK, {"role": "assistant", "content": paused.content}]
    async with client.messages.stream(messages=resumed_history, **kwargs) as stream:
        resumed = await stream.get_final_message()
    first = resumed.content[0]
    assert isinstance(first, WebSearchToolResultBlock)
    assert first.tool_use_id == open_call.id
    assert resumed.content[1].text == "Both searches agree."  # type: ignore[union-attr]
    assert resumed.stop_reason == "end_turn"
    assert fake.tool_state.continuations[-1].message_id == paused.id
    assert fake.tool_state.continuations[-1].as_is is True
    edited = [b.to_dict() for b in paused.content]
    edited[0]["input"] = {"query": "edited"}
    fake.enqueue(TextReply("Edited."))
    await client.messages.create(
        messages=[*ASK, {"role": "assistant", "content": edited}], **kwargs
    )
    assert fake.tool_state.continuations[-1].as_is is False  # accepted, but not resent as is
    with pytest.raises(anthropic.BadRequestError, match="but no `web_search` tool was provided"):
        await client.messages.create(
            model=MODEL, max_tokens=100, messages=resumed_history, tools=[RUN]
        )


async def test_server_and_client_tool_in_one_turn(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """A fetch alongside a client tool: stop_reason tool_use, the fetch without its result; the
    reply to a tool_result-only message opens with the fetch result; a text after the results
    ends the turn and is refused."""
    fake.enqueue(
        ToolTurn(
            [
                Say("I'll fetch the page and check your system."),
                WebFetch(PAGE, "Bolt page.", deferred=True),
                CallTool("run_command", {"command": "uname -a"}),
            ]
        ),
        TextReply("The page and your Linux box agree."),
    )
    tools: Any = [FETCH, RUN]
    first = await client.messages.create(model=MODEL, max_tokens=500, messages=ASK, tools=tools)
    assert first.stop_reason == "tool_use"
    assert [b.type for b in first.content] == ["text", "server_tool_use", "tool_use"]
    call, client_call = first.content[1], first.content[2]
    assert isinstance(call, ServerToolUseBlock)
    assert isinstance(client_call, ToolUseBlock)
    answered: Any = {"type": "tool_result", "tool_use_id": client_call.id, "content": "Linux"}
    history: Any = [*ASK, {"role": "assistant", "content": first.content}]
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(
            model=MODEL,
            max_tokens=500,
            tools=tools,
            messages=[
                *history,
                {"role": "user", "content": [answered, {"type": "text", "text": "and?"}]},
            ],
        )
    assert caught.value.body["error"]["message"] == (  # type: ignore[index]
        f"`web_fetch` tool use with id `{call.id}` was found without a corresponding "
        "`web_fetch_tool_result` block"
    )
    second = await client.messages.create(
        model=MODEL,
        max_tokens=500,
        tools=tools,
        messages=[*history, {"role": "user", "content": [answered]}],
    )
    result = second.content[0]
    assert isinstance(result, WebFetchToolResultBlock)
    assert result.tool_use_id == call.id
    assert isinstance(result.content, WebFetchBlock)  # the URL was in the user's message
    assert second.content[1].text == "The page and your Linux box agree."  # type: ignore[union-attr]
    full = [
        *history,
        {"role": "user", "content": [answered]},
        {"role": "assistant", "content": second.content},
        {"role": "user", "content": "ok"},
    ]
    fake.enqueue(TextReply("Later turn."))
    later = await client.messages.create(model=MODEL, max_tokens=50, tools=tools, messages=full)
    assert later.content[0].text == "Later turn."  # type: ignore[union-attr]


async def test_usage_reports_server_tool_use_only_with_server_tools(
    fake: FakeClaude, client: AsyncAnthropic
) -> None:
    """With a server tool defined every answer reports server_tool_use (zeros included), as the
    recordings do; a request without server tools keeps the plain usage."""
    fake.enqueue(TextReply("No search needed."), TextReply("Plain."))
    with_tools = await client.messages.create(
        model=MODEL, max_tokens=50, messages=ASK, tools=[SEARCH]
    )
    assert with_tools.usage.server_tool_use is not None
    assert with_tools.usage.server_tool_use.web_search_requests == 0
    plain = await client.messages.create(model=MODEL, max_tokens=50, messages=ASK)
    assert plain.usage.server_tool_use is None


async def test_mcp_connector_turn(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """An MCP call (beta) parses into BetaMCPToolUseBlock and BetaMCPToolResultBlock."""
    turn = ToolTurn(
        [McpCall("echo", "echo", {"message": "hi"}, "Tool echo: hi"), Say("It echoed.")]
    )
    fake.enqueue(turn)
    message = await client.beta.messages.create(
        model=MODEL,
        max_tokens=200,
        messages=ASK,
        mcp_servers=MCP_SERVERS,
        tools=MCP_TOOLS,
        betas=[MCP_BETA],
    )
    _assert_typed(message, beta=True)
    use, result = message.content[0], message.content[1]
    assert isinstance(use, BetaMCPToolUseBlock)
    assert use.server_name == "echo"
    assert isinstance(result, BetaMCPToolResultBlock)
    assert result.tool_use_id == use.id


# --- recorded replays -----------------------------------------------------------------------------

STREAMS = sorted(p.name for p in RECORDED.glob("*_stream_recorded.txt"))
RESPONSES = sorted(p.name for p in RECORDED.glob("*_response_recorded.txt"))


def _beta_kwargs(name: str) -> dict[str, Any]:
    if name.startswith("mcp"):
        return {"mcp_servers": MCP_SERVERS, "tools": MCP_TOOLS, "betas": [MCP_BETA]}
    return {"tools": [SEARCH, FETCH], "betas": []}


@pytest.mark.parametrize("name", STREAMS)
async def test_recorded_stream_replays(fake: FakeClaude, client: AsyncAnthropic, name: str) -> None:
    """A recorded stream replays verbatim; the SDK accumulates exactly the recorded message into
    typed blocks; the non-streamed answer is that same message."""
    kwargs: Any = {"model": MODEL, "max_tokens": 1000, "messages": ASK, **_beta_kwargs(name)}
    fake.enqueue(RecordedReply(RECORDED / name), RecordedReply(RECORDED / name))
    async with client.beta.messages.stream(**kwargs) as stream:
        streamed = await stream.get_final_message()
    created = await client.beta.messages.create(**kwargs)
    expected = _without_null_stop_details(accumulate(load(RECORDED / name).lines))
    assert _as_recorded(streamed) == expected
    assert _as_recorded(created) == expected
    _assert_typed(streamed, beta=True)
    if not name.startswith("mcp"):
        kwargs.pop("betas")
        fake.enqueue(RecordedReply(RECORDED / name))
        async with client.messages.stream(**kwargs) as plain:
            _assert_typed(await plain.get_final_message())


@pytest.mark.parametrize("name", RESPONSES)
async def test_recorded_response_replays(
    fake: FakeClaude, client: AsyncAnthropic, name: str
) -> None:
    """A recorded JSON response is answered as is; streamed, it accumulates to the same content."""
    kwargs: Any = {"model": MODEL, "max_tokens": 1000, "messages": ASK, **_beta_kwargs(name)}
    fake.enqueue(RecordedReply(RECORDED / name), RecordedReply(RECORDED / name))
    created = await client.beta.messages.create(**kwargs)
    recorded = load(RECORDED / name).response
    assert recorded is not None
    assert _as_recorded(created) == _without_null_stop_details(recorded)
    async with client.beta.messages.stream(**kwargs) as stream:
        streamed = await stream.get_final_message()
    assert streamed.to_dict()["content"] == recorded["content"]
    assert streamed.stop_reason == recorded["stop_reason"]
    assert (
        _as_recorded(streamed)["usage"]["server_tool_use"] == recorded["usage"]["server_tool_use"]
    )
    _assert_typed(streamed, beta=True)
