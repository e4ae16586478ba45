"""The Claude adapter (raw stream events put back together by bot/claude/accumulate.py) against
the fake Claude, checked against what the SDK's own MessageStream makes of the same stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import pytest
from anthropic import AsyncAnthropic

from bot.claude.catalog import lookup
from bot.claude.client import AnthropicChatModel, usage_from
from bot.claude.request import build_messages_call
from bot.conversation.errors import ChatFailure, FailureKind
from bot.conversation.messages import AnswerDone, ChatRequest, TextDelta, ThinkingDelta
from testing.fakes.claude_script_tools import Bash, Say, ToolTurn
from testing.fakes.claude_server import FakeClaude, MidStreamError, Stall, TextReply, ToolUseReply

MODEL = "claude-opus-4-7"
QUESTION = [{"role": "user", "content": [{"type": "text", "text": "Hi there"}]}]
CODE = {"type": "code_execution_20260521", "name": "code_execution"}


@pytest.fixture(params=["httpx", "aiohttp"])
async def client(fake: FakeClaude, request: pytest.FixtureRequest) -> AsyncIterator[AsyncAnthropic]:
    """The real SDK pointed at the fake, without retries, over each transport the bot offers
    (BOT_CLAUDE_TRANSPORT)."""
    http = anthropic.DefaultAioHttpClient() if request.param == "aiohttp" else None
    async with AsyncAnthropic(
        base_url=fake.url, api_key=fake.api_key, max_retries=0, http_client=http
    ) as sdk:
        yield sdk


def request(**extra: Any) -> ChatRequest:
    """A one-question request to the test model."""
    return ChatRequest(model=MODEL, system="Be brief.", messages=QUESTION, max_tokens=2000, **extra)


async def collect(model: AnthropicChatModel, req: ChatRequest) -> list[Any]:
    """Every event the adapter yields."""
    return [event async for event in model.stream(req)]


async def sdk_final(client: AsyncAnthropic, **call: Any) -> Any:
    """The SDK MessageStream's final message for the same call."""
    async with client.messages.stream(**call) as stream:
        return await stream.get_final_message()


def sdk_blocks(message: Any) -> list[dict[str, Any]]:
    """The SDK message's content in stored form."""
    return [block.to_dict(exclude_none=True) for block in message.content]


async def test_text_and_thinking_match_the_sdk_message_stream(
    fake: FakeClaude, client: AsyncAnthropic
) -> None:
    """Thinking and text deltas arrive in order, and the final content, stop reason and usage
    equal what the SDK's MessageStream builds from the same stream."""
    reply = TextReply("The answer is four.", thinking="Two and two.", chunk_chars=3)
    fake.enqueue(reply, reply)
    model = AnthropicChatModel(client, {}, max_retries=0)
    req = request(thinking_effort="low")
    events = await collect(model, req)
    thinking = "".join(e.text for e in events if isinstance(e, ThinkingDelta))
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    done = events[-1]
    assert isinstance(done, AnswerDone)
    assert (thinking, text) == ("Two and two.", "The answer is four.")
    reference = await sdk_final(client, **build_messages_call(req, lookup(MODEL, "opus")[0]))
    assert done.message["content"] == sdk_blocks(reference)
    assert done.usage == usage_from(reference.usage)
    assert done.request_id


async def test_tool_use_input_is_parsed_from_its_json_deltas(
    fake: FakeClaude, client: AsyncAnthropic
) -> None:
    """A tool call's input, streamed as partial JSON, is stored as the parsed object."""
    tool_input = {"path": "bot/claude/client.py", "lines": [1, 40], "why": "a “quoted” reason"}
    fake.enqueue(ToolUseReply("read_file", tool_input, text_before="Let me look."))
    tool = {
        "name": "read_file",
        "description": "Read a file.",
        "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}},
    }
    model = AnthropicChatModel(client, {}, max_retries=0)
    done = (await collect(model, request(tools=(tool,))))[-1]
    assert isinstance(done, AnswerDone)
    text, call = done.message["content"]
    assert text == {"type": "text", "text": "Let me look."}
    assert (call["type"], call["name"], call["input"]) == ("tool_use", "read_file", tool_input)
    assert call["id"].startswith("toolu_")


async def test_a_silent_stream_is_abandoned_after_the_stall_limit(
    fake: FakeClaude, client: AsyncAnthropic
) -> None:
    """No byte for longer than stall_seconds mid-stream ends in a TIMEOUT failure, after the
    text that did arrive."""
    fake.enqueue(Stall(text_before="I was saying", seconds=30))
    model = AnthropicChatModel(client, {}, max_retries=0, stall_seconds=0.5)
    seen: list[str] = []

    async def read_all() -> None:
        async for event in model.stream(request()):
            if isinstance(event, TextDelta):
                seen.append(event.text)

    with pytest.raises(ChatFailure) as failure:
        await read_all()
    assert failure.value.kind is FailureKind.TIMEOUT
    assert "".join(seen) == "I was saying"


async def test_a_container_the_api_no_longer_has_is_dropped_and_the_call_opened_again(
    fake: FakeClaude, client: AsyncAnthropic
) -> None:
    """A request naming a container the API refuses (expired, unknown: a 400) is sent once
    more without it; code runs in a new container, which the answer reports (id and expiry)."""
    fake.enqueue(ToolTurn([Bash("python -c 'print(1)'", stdout="1\n"), Say("One.")]))
    model = AnthropicChatModel(client, {}, max_retries=0)
    events = await collect(model, request(tools=(CODE,), container="container_gone"))
    done = events[-1]
    assert isinstance(done, AnswerDone)
    assert done.container is not None
    assert done.container.id in fake.tool_state.containers
    assert done.container.id != "container_gone"
    first, second = fake.message_requests()
    assert (first.status, first.body["container"]) == (400, "container_gone")
    assert second.status == 200
    assert "container" not in second.body


async def test_an_error_event_mid_stream_is_the_sdks_error_after_the_text_so_far(
    fake: FakeClaude, client: AsyncAnthropic
) -> None:
    """An `error` event after some text (Claude overloaded mid-answer) ends the stream as an
    INTERRUPTED failure carrying the error's type and message, after the text that arrived."""
    fake.enqueue(MidStreamError("The first half", "overloaded_error", "Overloaded"))
    model = AnthropicChatModel(client, {}, max_retries=0)
    seen: list[str] = []

    async def read() -> None:
        async for event in model.stream(request()):
            if isinstance(event, TextDelta):
                seen.append(event.text)

    with pytest.raises(ChatFailure) as failure:
        await read()
    assert "".join(seen) == "The first half"
    assert failure.value.kind is FailureKind.INTERRUPTED
    assert "overloaded_error: Overloaded" in str(failure.value)


EVENTS = [
    {"type": "message_start", "message": {"id": "m1", "type": "message", "role": "assistant",
     "model": MODEL, "content": [], "stop_reason": None, "usage": {"input_tokens": 3,
     "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Half"}},
]  # fmt: skip


async def _cut_off(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A server that starts a streamed answer, then drops the connection mid-body."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    for event in EVENTS:
        data = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    await writer.drain()
    writer.transport.abort()


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_a_connection_dropped_mid_stream_is_a_connection_failure(transport: str) -> None:
    """A stream whose connection drops mid-body (over either transport) ends as a CONNECTION
    failure after the text that arrived, never as an unexpected exception."""
    server = await asyncio.start_server(_cut_off, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    http = anthropic.DefaultAioHttpClient() if transport == "aiohttp" else None
    seen: list[str] = []
    async with (
        server,
        AsyncAnthropic(
            base_url=f"http://127.0.0.1:{port}", api_key="k", max_retries=0, http_client=http
        ) as sdk,
    ):
        model = AnthropicChatModel(sdk, {}, max_retries=0)

        async def read() -> None:
            async for event in model.stream(request()):
                if isinstance(event, TextDelta):
                    seen.append(event.text)

        with pytest.raises(ChatFailure) as failure:
            await read()
    assert seen == ["Half"]
    assert failure.value.kind is FailureKind.CONNECTION
