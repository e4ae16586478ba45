"""Tests of the fake Claude (testing/fakes/claude_server.py), driven by the real anthropic SDK."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic import AsyncAnthropic

from testing.fakes.claude_prompt import total_tokens
from testing.fakes.claude_server import (
    FakeClaude,
    HttpError,
    MidStreamError,
    Stall,
    TextReply,
    ToolUseReply,
)

SSE_DIR = Path(__file__).resolve().parents[2] / "shared" / "anthropic" / "sse"
MODEL = "claude-sonnet-4-6"  # budgets, adaptive, sampling allowed; cache minimum 1024 tokens
USER: Any = [{"role": "user", "content": "Hi"}]
BIG = "You are a careful assistant that answers in Slack threads. " * 100  # ~1500 tokens
TOOLS: Any = [{"name": "get_weather", "input_schema": {"type": "object"}}]


# The fixtures `fake` and `client` come from tests/claude_fixtures.py.


def _headers(fake: FakeClaude, **extra: str) -> dict[str, str]:
    return {"x-api-key": fake.api_key, "anthropic-version": "2023-06-01", **extra}


async def _raw_post(fake: FakeClaude, body: dict[str, Any], **headers: str) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.post(f"{fake.url}/v1/messages", json=body, headers=headers)


async def _drain(sdk: AsyncAnthropic, received: list[str]) -> None:
    """Stream one answer to the end, keeping the text pieces as they arrive."""
    async with sdk.messages.stream(model=MODEL, max_tokens=50, messages=USER) as stream:
        async for piece in stream.text_stream:
            received.append(piece)


def _events(raw: str) -> list[str]:
    return [line[len("event: ") :] for line in raw.splitlines() if line.startswith("event: ")]


def _cc(ttl: str | None = None) -> dict[str, str]:
    return {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}


def _text(text: str, ttl: str | None = None, cached: bool = False) -> Any:
    """A text block, with a cache breakpoint when cached or given a ttl."""
    block: dict[str, Any] = {"type": "text", "text": text}
    if cached or ttl:
        block["cache_control"] = _cc(ttl)
    return block


# --- streaming and the wire shape ------------------------------------------------------------


async def test_text_stream_round_trip(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """messages.stream() yields the scripted text and a final message with usage and model."""
    fake.enqueue(TextReply("Hello there, Slack!"))
    async with client.messages.stream(model=MODEL, max_tokens=100, messages=USER) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_message()
    assert text == "Hello there, Slack!"
    assert final.model == MODEL
    assert final.id.startswith("msg_")
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 5
    assert final.usage.input_tokens == total_tokens({"messages": USER})
    assert "".join(t for _, t in fake.stream_events_sent) == text
    recorded = fake.message_requests()[0]
    assert recorded.status == 200
    assert recorded.body["stream"] is True
    assert recorded.usage is not None
    assert recorded.usage["output_tokens"] == 5


async def test_stream_bytes_follow_the_transcripts(fake: FakeClaude) -> None:
    """The raw SSE has the transcripts' framing, event order, headers and message_start fields."""
    fake.enqueue(TextReply("Hello there!"))
    response = await _raw_post(
        fake, {"model": MODEL, "max_tokens": 50, "stream": True, "messages": USER}, **_headers(fake)
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["request-id"].startswith("req_")
    assert response.text.startswith("event: message_start\ndata: {")
    assert 'event: ping\ndata: {"type": "ping"}\n\n' in response.text
    events = _events(response.text)
    if SSE_DIR.is_dir():
        assert events == _events((SSE_DIR / "basic_response.txt").read_text())
    else:
        assert events[:3] == ["message_start", "content_block_start", "ping"]
    start = response.text.split("\n")[1]
    for key in (
        '"cache_creation_input_tokens"',
        '"ephemeral_5m_input_tokens"',
        '"stop_reason":null',
    ):
        assert key in start


async def test_non_stream_call_returns_a_message(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """A non-streamed create() gets a JSON Message with the same content and usage shape."""
    fake.enqueue(TextReply("Plain answer", thinking="Hmm."))
    message = await client.messages.create(model=MODEL, max_tokens=100, messages=USER)
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[1].text == "Plain answer"  # type: ignore[union-attr]
    assert message.usage.cache_creation is not None
    assert message.usage.output_tokens == 4
    assert fake.message_requests()[0].body.get("stream") is None


async def test_default_responder_echoes(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """With nothing queued the fake echoes the last user text; a custom default replaces it."""
    message = await client.messages.create(model=MODEL, max_tokens=100, messages=USER)
    assert message.content[0].text == "You said: Hi"  # type: ignore[union-attr]
    async with (
        FakeClaude(default=lambda body: TextReply(body["model"])) as other,
        AsyncAnthropic(base_url=other.url, api_key=other.api_key) as sdk,
    ):
        again = await sdk.messages.create(model=MODEL, max_tokens=100, messages=USER)
    assert again.content[0].text == MODEL  # type: ignore[union-attr]


async def test_enqueue_for_a_model(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """Items enqueued with model= serve only that model; the general FIFO serves the rest."""
    fake.enqueue(TextReply("general"))
    fake.enqueue(TextReply("for haiku"), model="claude-haiku-4-5")
    sonnet = await client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    haiku = await client.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=USER)
    assert sonnet.content[0].text == "general"  # type: ignore[union-attr]
    assert haiku.content[0].text == "for haiku"  # type: ignore[union-attr]


async def test_pacing_ttft_and_tokens_per_second(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """ttft delays the first delta; tokens_per_second spaces the rest (4 chars a token), on a
    schedule from the request (a late first delta under load lets the rest catch up)."""
    fake.enqueue(TextReply("x" * 40, ttft=0.1, tokens_per_second=200))  # 10 deltas, 5 ms apart
    async with client.messages.stream(model=MODEL, max_tokens=100, messages=USER) as stream:
        await stream.until_done()
    start = fake.message_requests()[0].at
    times = [t for t, _ in fake.stream_events_sent]
    assert len(times) == 10
    assert times[0] - start >= 0.1
    assert times[-1] - start >= 0.1 + 9 * 0.005


async def test_streams_sent_per_request_is_opt_in() -> None:
    """record_streams=True keeps each stream's (time, delta text) under its request-id; off by
    default, and the global stream_events_sent is unchanged either way."""
    async with (
        FakeClaude(record_streams=True) as recording,
        FakeClaude() as plain,
    ):
        for server in (recording, plain):
            server.enqueue(TextReply("first answer", chunk_chars=3), TextReply("second one"))
            async with AsyncAnthropic(base_url=server.url, api_key=server.api_key) as sdk:
                for _ in range(2):
                    async with sdk.messages.stream(
                        model=MODEL, max_tokens=50, messages=USER
                    ) as stream:
                        await stream.until_done()
        ids = [r.request_id for r in recording.message_requests()]
        assert list(recording.streams_sent) == ids
        texts = ["".join(t for _, t in recording.streams_sent[i]) for i in ids]
        assert texts == ["first answer", "second one"]
        assert [t for _, t in recording.streams_sent[ids[0]]] == ["fir", "st ", "ans", "wer"]
        times = [at for at, _ in recording.streams_sent[ids[0]]]
        assert times == sorted(times)
        assert plain.streams_sent == {}
        assert "".join(t for _, t in plain.stream_events_sent) == "first answersecond one"


async def test_max_tokens_cuts_the_text(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """A text longer than max_tokens (4 chars a token) stops at max_tokens, like the model."""
    fake.enqueue(TextReply("y" * 100))
    message = await client.messages.create(model=MODEL, max_tokens=5, messages=USER)
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 5
    assert message.content[0].text == "y" * 20  # type: ignore[union-attr]


async def test_refusal_has_stop_details(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """stop_reason "refusal" comes with refusal stop_details, as in the refusal transcript."""
    fake.enqueue(TextReply("", stop_reason="refusal"))
    async with client.messages.stream(model=MODEL, max_tokens=50, messages=USER) as stream:
        final = await stream.get_final_message()
    assert final.stop_reason == "refusal"
    assert final.stop_details is not None
    assert final.stop_details.type == "refusal"


async def test_tool_use_stream_is_parsed(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """A ToolUseReply streams text, then a tool_use block whose input_json_deltas parse back."""
    arguments = {"location": "Paris, France", "days": [1, 2, 3]}
    fake.enqueue(
        ToolUseReply("get_weather", arguments, text_before="Checking.", tool_use_id="toolu_1")
    )
    async with client.messages.stream(
        model=MODEL,
        max_tokens=200,
        tools=TOOLS,
        messages=USER,
    ) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_message()
    assert final.stop_reason == "tool_use"
    tool = final.content[1]
    assert tool.type == "tool_use"
    assert tool.id == "toolu_1"
    assert tool.input == arguments
    assert kinds.count("input_json") > 2


async def test_thinking_block_with_signature(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """TextReply(thinking=...) streams a thinking block and its signature before the text."""
    fake.enqueue(TextReply("21.", thinking="1071 = 2 x 462 + 147 ..."))
    async with client.messages.stream(
        model=MODEL,
        max_tokens=4000,
        thinking={"type": "enabled", "budget_tokens": 2000},
        messages=USER,
    ) as stream:
        final = await stream.get_final_message()
    thinking, text = final.content
    assert thinking.type == "thinking"
    assert thinking.thinking == "1071 = 2 x 462 + 147 ..."
    assert thinking.signature.startswith("EqQB")
    assert text.type == "text"
    assert text.text == "21."


# --- errors -----------------------------------------------------------------------------------


async def test_error_body_shape_and_headers(fake: FakeClaude) -> None:
    """An HttpError answers the API's error body with request_id, request-id and retry-after."""
    fake.enqueue(HttpError(429, "rate_limit_error", "slow down", retry_after=7))
    response = await _raw_post(
        fake, {"model": MODEL, "max_tokens": 5, "messages": USER}, **_headers(fake)
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json() == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow down"},
        "request_id": response.headers["request-id"],
    }


@pytest.mark.parametrize(
    ("status", "error_type", "exception"),
    [
        (529, "overloaded_error", anthropic.OverloadedError),
        (429, "rate_limit_error", anthropic.RateLimitError),
        (500, "api_error", anthropic.InternalServerError),
        (403, "permission_error", anthropic.PermissionDeniedError),
    ],
)
async def test_http_errors_raise_the_sdk_classes(
    fake: FakeClaude,
    client: AsyncAnthropic,
    status: int,
    error_type: str,
    exception: type[anthropic.APIStatusError],
) -> None:
    """With max_retries=0 each scripted HTTP error raises the SDK's class for that status."""
    fake.enqueue(HttpError(status, error_type))
    with pytest.raises(exception) as caught:
        await client.messages.create(model=MODEL, max_tokens=5, messages=USER)
    assert caught.value.status_code == status
    assert caught.value.request_id == fake.requests[-1].request_id


@pytest.mark.parametrize(
    ("status", "error_type", "retry_after"),
    [(529, "overloaded_error", 0.05), (429, "rate_limit_error", 0.1)],
)
async def test_retry_after_is_honoured_by_the_sdk(
    fake: FakeClaude, status: int, error_type: str, retry_after: float
) -> None:
    """The SDK retries 429/529 after `retry-after` (not its own 0.375 s+ backoff)."""
    fake.enqueue(HttpError(status, error_type, retry_after=retry_after), TextReply("ok"))
    async with AsyncAnthropic(base_url=fake.url, api_key=fake.api_key, max_retries=2) as sdk:
        message = await sdk.messages.create(model=MODEL, max_tokens=5, messages=USER)
    assert message.content[0].text == "ok"  # type: ignore[union-attr]
    first, second = fake.message_requests()
    assert (first.status, second.status) == (status, 200)
    assert retry_after <= second.at - first.at < 0.3


async def test_mid_stream_error_raises_api_status_error(fake: FakeClaude) -> None:
    """An SSE `error` event raises APIStatusError (status 200, the event as body); no retry."""
    fake.enqueue(MidStreamError(text_before="Partial answer"))
    received: list[str] = []
    async with AsyncAnthropic(base_url=fake.url, api_key=fake.api_key, max_retries=2) as sdk:
        with pytest.raises(anthropic.APIStatusError) as caught:
            await _drain(sdk, received)
    assert type(caught.value) is anthropic.APIStatusError
    assert caught.value.status_code == 200
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    assert "".join(received) == "Partial answer"
    assert len(fake.message_requests()) == 1


async def test_mid_stream_error_without_streaming(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """Scripted for a non-streamed call, a MidStreamError answers its HTTP status (529 here)."""
    fake.enqueue(MidStreamError())
    with pytest.raises(anthropic.OverloadedError):
        await client.messages.create(model=MODEL, max_tokens=50, messages=USER)


async def test_stall_keeps_the_connection_open(fake: FakeClaude) -> None:
    """A Stall sends its text then nothing: the client's read timeout fires (the SDK's typed
    APITimeoutError from anthropic 2.17 on, the raw httpx2 ReadTimeout before)."""
    fake.enqueue(Stall(text_before="wait", seconds=30))
    received: list[str] = []
    began = time.monotonic()
    async with AsyncAnthropic(
        base_url=fake.url, api_key=fake.api_key, max_retries=0, timeout=0.3
    ) as sdk:
        with pytest.raises((anthropic.APITimeoutError, httpx2.ReadTimeout)):
            await _drain(sdk, received)
    assert received == ["wait"]
    assert time.monotonic() - began < 2


async def test_stop_cuts_open_streams(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """stop() ends a stalled stream at once instead of waiting for it (a typed
    APIConnectionError from anthropic 2.17 on, the raw httpx2 TransportError before)."""
    fake.enqueue(Stall(seconds=60))
    async with client.messages.stream(model=MODEL, max_tokens=50, messages=USER) as stream:
        began = time.monotonic()
        await fake.stop()
        with pytest.raises((anthropic.APIConnectionError, httpx2.TransportError)):
            await stream.until_done()
    assert time.monotonic() - began < 2


async def test_unknown_route_is_404(fake: FakeClaude) -> None:
    """A path the API lacks answers 404 not_found_error."""
    async with httpx2.AsyncClient() as http:
        response = await http.post(f"{fake.url}/v1/complete", json={}, headers=_headers(fake))
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"


# --- auth and headers -------------------------------------------------------------------------


async def test_sdk_api_key_is_sent_as_bearer(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """SDK 2.x sends api_key as `Authorization: Bearer`, which the fake accepts."""
    await client.messages.create(model=MODEL, max_tokens=5, messages=USER)
    assert fake.requests[-1].headers["authorization"] == f"Bearer {fake.api_key}"


async def test_auth_token_and_x_api_key_are_accepted(fake: FakeClaude) -> None:
    """AsyncAnthropic(auth_token=...) and a raw x-api-key header both authenticate."""
    async with AsyncAnthropic(base_url=fake.url, auth_token=fake.api_key) as sdk:
        await sdk.messages.create(model=MODEL, max_tokens=5, messages=USER)
    response = await _raw_post(
        fake, {"model": MODEL, "max_tokens": 5, "messages": USER}, **_headers(fake)
    )
    assert response.status_code == 200
    assert [r.status for r in fake.requests] == [200, 200]


async def test_wrong_key_is_401(fake: FakeClaude) -> None:
    """A wrong key answers 401 authentication_error (AuthenticationError in the SDK)."""
    async with AsyncAnthropic(base_url=fake.url, api_key="sk-ant-wrong", max_retries=0) as sdk:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            await sdk.messages.create(model=MODEL, max_tokens=5, messages=USER)
    assert caught.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    missing = await _raw_post(fake, {"model": MODEL, "max_tokens": 5, "messages": USER})
    assert missing.status_code == 401


async def test_anthropic_version_header_is_required(fake: FakeClaude) -> None:
    """Without `anthropic-version` the request is a 400 invalid_request_error."""
    response = await _raw_post(
        fake, {"model": MODEL, "max_tokens": 5, "messages": USER}, **{"x-api-key": fake.api_key}
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "anthropic-version: header is required"


# --- validation -------------------------------------------------------------------------------

_TOOL_USE = {
    "role": "assistant",
    "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}],
}
_RESULT_9 = {
    "role": "user",
    "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "x"}],
}
_FIVE = [_text(c, cached=True) for c in "abcde"]

VALIDATION_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown field", {"extra_body": {"foo": 1}}, "foo: Extra inputs are not permitted"),
    ("empty messages", {"messages": []}, "messages: at least one message is required"),
    (
        "max_tokens over cap",
        {"max_tokens": 100_000},
        (
            "max_tokens: 100000 > 64000, which is the maximum allowed number of output tokens for "
            "claude-sonnet-4-6"
        ),
    ),
    (
        "max_tokens negative",
        {"max_tokens": -1},
        "max_tokens: Input should be greater than or equal to 0",
    ),
    (
        "stream not bool",
        {"extra_body": {"stream": "yes"}},
        "stream: Input should be a valid boolean",
    ),
    (
        "system role on an older model",
        {"messages": [*USER, {"role": "system", "content": "be brief"}]},
        (
            'messages: Unexpected role "system". The Messages API accepts a top-level `system` '
            "parameter"
        ),
    ),
    (
        "bad role",
        {"messages": [{"role": "tool", "content": "x"}]},
        "messages.0.role: Input should be 'user', 'assistant' or 'system'",
    ),
    (
        "empty text block",
        {"messages": [{"role": "user", "content": [_text("")]}]},
        "messages: text content blocks must be non-empty",
    ),
    (
        "whitespace text block",
        {"messages": [{"role": "user", "content": [_text("  ")]}]},
        "messages: text content blocks must contain non-whitespace text",
    ),
    (
        "empty content",
        {"messages": [{"role": "user", "content": ""}]},
        (
            "messages.0: all messages must have non-empty content except for the optional final "
            "assistant message"
        ),
    ),
    (
        "unknown block type",
        {"messages": [{"role": "user", "content": [{"type": "video"}]}]},
        (
            "messages.0.content.0: Input tag 'video' found using 'type' does not match any of the "
            "expected tags"
        ),
    ),
    (
        "bad image media type",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {
                                "type": "base64",
                                "media_type": "image/tiff",
                                "data": "AAAA",
                            },
                        }
                    ],
                }
            ]
        },
        (
            "messages.0.content.0.source.base64.media_type: Input should be 'image/jpeg', "
            "'image/png', 'image/gif' or 'image/webp'"
        ),
    ),
    (
        "tool_use without result",
        {"tools": TOOLS, "messages": [*USER, _TOOL_USE, {"role": "user", "content": "no result"}]},
        (
            "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: "
            "toolu_1. Each `tool_use` block must have a corresponding `tool_result` block in the "
            "next message."
        ),
    ),
    (
        "orphan tool_result",
        {"tools": TOOLS, "messages": [*USER, {"role": "assistant", "content": "ok"}, _RESULT_9]},
        (
            "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: "
            "toolu_9. Each `tool_result` block must have a corresponding `tool_use` block in the "
            "previous message."
        ),
    ),
    (
        "tool_result after text",
        {
            "tools": TOOLS,
            "messages": [
                *USER,
                _TOOL_USE,
                {
                    "role": "user",
                    "content": [_text("first"), {"type": "tool_result", "tool_use_id": "toolu_1"}],
                },
            ],
        },
        # server-tools docs: content before the results fails with the client tool error
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after",
    ),
    (
        "prefill",
        {"messages": [*USER, {"role": "assistant", "content": "The answer is"}]},
        (
            "This model does not support assistant message prefill. The conversation must end "
            "with a user message."
        ),
    ),
    (
        "system not text",
        {"system": [{"type": "image", "text": "x"}]},
        "system.0.type: Input should be 'text'",
    ),
    ("empty system text", {"system": [_text("")]}, "system: text content blocks must be non-empty"),
    ("temperature range", {"extra_body": {"temperature": 1.5}}, "temperature: range: 0..1"),
    (
        "temperature with top_p",
        {"extra_body": {"temperature": 0.5, "top_p": 0.9}},
        "`temperature` and `top_p` cannot both be specified for this model. Please use only one.",
    ),
    (
        "thinking type",
        {"thinking": {"type": "sometimes"}},
        (
            "thinking: Input tag 'sometimes' found using 'type' does not match any of the expected "
            "tags"
        ),
    ),
    (
        "thinking budget too small",
        {"thinking": {"type": "enabled", "budget_tokens": 500}},
        "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
    ),
    (
        "budget not under max_tokens",
        {"max_tokens": 2000, "thinking": {"type": "enabled", "budget_tokens": 2000}},
        "`max_tokens` must be greater than `thinking.budget_tokens`",
    ),
    (
        "tool_choice without tools",
        {"tool_choice": {"type": "auto"}},
        "tool_choice: tool_choice may only be specified while providing tools.",
    ),
    (
        "five cache_control blocks",
        {"messages": [{"role": "user", "content": _FIVE}]},
        "A maximum of 4 blocks with cache_control may be provided. Found 5.",
    ),
    (
        "automatic caching counts",
        {
            "cache_control": _cc(),
            "messages": [{"role": "user", "content": [*_FIVE[:4], _text("f")]}],
        },
        "A maximum of 4 blocks with cache_control may be provided. Found 5.",
    ),
    (
        "1h after 5m",
        {
            "system": [_text("a", cached=True)],
            "messages": [{"role": "user", "content": [_text("b", ttl="1h")]}],
        },
        (
            "messages.0.content.0.cache_control.ttl: a ttl='1h' cache_control block must not come "
            "after a ttl='5m' cache_control block. Note that blocks are processed in the following "
            "order: `tools`, `system`, `messages`."
        ),
    ),
    (
        "bad ttl",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "text",
                            "text": "a",
                            "cache_control": {"type": "ephemeral", "ttl": "2h"},
                        }
                    ],
                }
            ]
        },
        "messages.0.content.0.cache_control.ttl: Input should be '5m' or '1h'",
    ),
    (
        "max_tokens 0 with stream",
        {"max_tokens": 0, "extra_body": {"stream": True}},
        "max_tokens: 0 is not allowed with `stream: true`",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [c[1:] for c in VALIDATION_CASES],
    ids=[c[0] for c in VALIDATION_CASES],
)
async def test_validation_rules(
    fake: FakeClaude, client: AsyncAnthropic, overrides: dict[str, Any], message: str
) -> None:
    """Each invalid request is a 400 invalid_request_error in the API's wording."""
    kwargs: dict[str, Any] = {"model": MODEL, "max_tokens": 100, "messages": USER, "timeout": 10}
    kwargs.update(overrides)  # an explicit timeout keeps the SDK's own max_tokens guard away
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(**kwargs)
    error = caught.value.body["error"]  # type: ignore[index]
    assert error["type"] == "invalid_request_error"
    assert message in error["message"]
    assert fake.requests[-1].status == 400
    assert fake.requests[-1].usage is None


async def test_unknown_model_is_404(client: AsyncAnthropic) -> None:
    """A non-Claude id is 404 not_found_error "model: <id>"; so is one outside known_models."""
    with pytest.raises(anthropic.NotFoundError) as caught:
        await client.messages.create(model="gpt-5", max_tokens=5, messages=USER)
    assert caught.value.body["error"]["message"] == "model: gpt-5"  # type: ignore[index]
    async with (
        FakeClaude(known_models={"claude-haiku-4-5"}) as strict,
        AsyncAnthropic(base_url=strict.url, api_key=strict.api_key, max_retries=0) as sdk,
    ):
        await sdk.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=USER)
        with pytest.raises(anthropic.NotFoundError):
            await sdk.messages.create(model=MODEL, max_tokens=5, messages=USER)


MODEL_RULE_CASES: list[tuple[str, str, dict[str, Any], str | None]] = [
    (
        "opus-5-5 temperature",
        "claude-opus-5-5",
        {"extra_body": {"temperature": 0.5}},
        "`temperature` is deprecated for this model.",
    ),
    (
        "opus-5-5 top_k",
        "claude-opus-5-5",
        {"extra_body": {"top_k": 5}},
        "`top_k` is deprecated for this model.",
    ),
    (
        "opus-5-5 forced tool",
        "claude-opus-5-5",
        {"tools": TOOLS, "tool_choice": {"type": "any"}},
        'tool_choice: type "tool" and "any" are not supported for this model.',
    ),
    (
        "sonnet-5-5 named tool",
        "claude-sonnet-5-5",
        {"tools": TOOLS, "tool_choice": {"type": "tool", "name": "get_weather"}},
        'tool_choice: type "tool" and "any" are not supported for this model.',
    ),
    (
        "opus-5-5 budget",
        "claude-opus-5-5",
        {"max_tokens": 4000, "thinking": {"type": "enabled", "budget_tokens": 2000}},
        '"thinking.type.enabled" is not supported for this model.',
    ),
    (
        "opus-5-5 disabled",
        "claude-opus-5-5",
        {"thinking": {"type": "disabled"}},
        '"thinking.type.disabled" is not supported for this model.',
    ),
    (
        "sonnet-5-5 disabled",
        "claude-sonnet-5-5",
        {"thinking": {"type": "disabled"}},
        'To turn thinking off on this model, send "thinking": {"type": "between_tools"}',
    ),
    (
        "sonnet-5-5 prefill",
        "claude-sonnet-5-5",
        {"messages": [*USER, {"role": "assistant", "content": "So"}]},
        "does not support assistant message prefill",
    ),
    (
        "haiku-5-5 budget",
        "claude-haiku-5-5",
        {"max_tokens": 4000, "thinking": {"type": "enabled", "budget_tokens": 2000}},
        '"thinking.type.enabled" is not supported for this model.',
    ),
    (
        "haiku-4-5 adaptive",
        "claude-haiku-4-5",
        {"thinking": {"type": "adaptive"}},
        "adaptive thinking is not supported on this model",
    ),
    (
        "opus-5-5 system message first",
        "claude-opus-5-5",
        {"messages": [{"role": "system", "content": "x"}, *USER]},
        "messages.0: a system message must follow a user message",
    ),
    (
        "haiku-4-5 effort",
        "claude-haiku-4-5",
        {"output_config": {"effort": "low"}},
        "This model does not support the effort parameter.",
    ),
    (
        "sonnet-4-6 xhigh",
        "claude-sonnet-4-6",
        {"output_config": {"effort": "xhigh"}},
        "output_config.effort: Input should be 'low', 'medium', 'high' or 'max'",
    ),
    ("opus-5-5 adaptive ok", "claude-opus-5-5", {"thinking": {"type": "adaptive"}}, None),
    ("opus-5-5 default sampling ok", "claude-opus-5-5", {"extra_body": {"temperature": 1}}, None),
    (
        "opus-5-5 auto tool ok",
        "claude-opus-5-5",
        {"tools": TOOLS, "tool_choice": {"type": "auto"}},
        None,
    ),
    (
        "opus-5-5 system message ok",
        "claude-opus-5-5",
        {"messages": [*USER, {"role": "system", "content": "be brief"}]},
        None,
    ),
    (
        "sonnet-5-5 between_tools ok",
        "claude-sonnet-5-5",
        {"thinking": {"type": "between_tools"}},
        None,
    ),
    (
        "haiku-5-5 forced tool ok",
        "claude-haiku-5-5",
        {"tools": TOOLS, "tool_choice": {"type": "any"}},
        None,
    ),
    (
        "sonnet-4-6 budget ok",
        "claude-sonnet-4-6",
        {"max_tokens": 4000, "thinking": {"type": "enabled", "budget_tokens": 2000}},
        None,
    ),
    ("haiku-4-5 temperature ok", "claude-haiku-4-5", {"extra_body": {"temperature": 0.2}}, None),
    (
        "haiku-4-5 prefill ok",
        "claude-haiku-4-5",
        {"messages": [*USER, {"role": "assistant", "content": "So"}]},
        None,
    ),
    (
        "opus-4-7 forced tool ok",
        "claude-opus-4-7",
        {"tools": TOOLS, "tool_choice": {"type": "any"}},
        None,
    ),
]


@pytest.mark.parametrize(
    ("model", "overrides", "message"),
    [c[1:] for c in MODEL_RULE_CASES],
    ids=[c[0] for c in MODEL_RULE_CASES],
)
async def test_model_specific_rules(
    client: AsyncAnthropic, model: str, overrides: dict[str, Any], message: str | None
) -> None:
    """The model table: Opus/Sonnet 5.5 reject sampling, forced tools, budgets; older accept."""
    kwargs: dict[str, Any] = {"model": model, "max_tokens": 100, "messages": USER, **overrides}
    if message is None:
        reply = await client.messages.create(**kwargs)
        assert reply.model == model
        return
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(**kwargs)
    assert message in caught.value.body["error"]["message"]  # type: ignore[index]


# --- count_tokens, models, pre-warm -----------------------------------------------------------


async def test_count_tokens_matches_usage(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """count_tokens answers the same estimate a message request reports as its input."""
    system = [_text(BIG, cached=True)]
    counted = await client.messages.count_tokens(model=MODEL, system=system, messages=USER)
    reply = await client.messages.create(model=MODEL, max_tokens=5, system=system, messages=USER)
    usage = reply.usage
    spent = (
        usage.input_tokens
        + (usage.cache_creation_input_tokens or 0)
        + (usage.cache_read_input_tokens or 0)
    )
    assert counted.input_tokens == spent > 1024
    with pytest.raises(anthropic.BadRequestError):
        await client.messages.count_tokens(
            model="claude-sonnet-5-5",
            tools=TOOLS,
            tool_choice={"type": "any"},
            messages=USER,
        )


async def test_models_list(client: AsyncAnthropic) -> None:
    """GET /v1/models lists the model table through the SDK's pager."""
    ids = [model.id async for model in client.models.list()]
    assert "claude-opus-5-5" in ids
    assert "claude-haiku-4-5" in ids


async def test_prewarm_writes_the_cache(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """max_tokens=0 returns no content, stop_reason max_tokens, and writes the cache."""
    system = [_text(BIG, ttl="1h")]
    warm = await client.messages.create(model=MODEL, max_tokens=0, system=system, messages=USER)
    assert warm.content == []
    assert warm.stop_reason == "max_tokens"
    assert warm.usage.output_tokens == 0
    assert warm.usage.cache_creation is not None
    assert warm.usage.cache_creation.ephemeral_1h_input_tokens == total_tokens(
        {"system": system, "messages": []}
    )
    real = await client.messages.create(model=MODEL, max_tokens=50, system=system, messages=USER)
    assert real.usage.cache_read_input_tokens == warm.usage.cache_creation_input_tokens


async def test_wait_for_requests(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """wait_for_requests returns once n requests are recorded, and times out otherwise."""
    await client.messages.create(model=MODEL, max_tokens=5, messages=USER)
    await fake.wait_for_requests(1, timeout=1)
    with pytest.raises(TimeoutError):
        await fake.wait_for_requests(2, timeout=0.05)


# --- the prompt cache -------------------------------------------------------------------------


def _turn(n: int, ttl: str | None = None) -> list[dict[str, Any]]:
    """A conversation of n user turns; the newest user text carries a cache breakpoint."""
    messages: list[dict[str, Any]] = []
    for i in range(n):
        last = i == n - 1
        messages.append({"role": "user", "content": [_text(f"question {i}", ttl=ttl, cached=last)]})
        if not last:
            messages.append({"role": "assistant", "content": f"answer {i}"})
    return messages


async def _usage(
    client: AsyncAnthropic, model: str = MODEL, **kwargs: Any
) -> anthropic.types.Usage:
    message = await client.messages.create(model=model, max_tokens=20, **kwargs)
    usage: anthropic.types.Usage = message.usage
    return usage


async def test_identical_prefix_is_read_from_cache(client: AsyncAnthropic) -> None:
    """A second request with the same marked prefix reads what the first wrote."""
    system = [_text(BIG, cached=True)]
    first = await _usage(client, system=system, messages=USER)
    second = await _usage(client, system=system, messages=[{"role": "user", "content": "Other"}])
    assert first.cache_read_input_tokens == 0
    assert first.cache_creation_input_tokens == total_tokens({"system": system})
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0
    assert first.input_tokens == total_tokens({"messages": USER})


async def test_moving_breakpoint_reads_previous_turn(
    fake: FakeClaude, client: AsyncAnthropic
) -> None:
    """System (1h) + newest-turn (5m) breakpoints: turn 2 reads turn 1, writes only the new part."""
    system = [_text(BIG, ttl="1h")]
    one = await _usage(client, system=system, messages=_turn(1))
    two = await _usage(client, system=system, messages=_turn(2))
    sys_tokens = total_tokens({"system": system})
    assert one.cache_creation is not None
    assert two.cache_creation is not None
    assert one.cache_creation.ephemeral_1h_input_tokens == sys_tokens
    assert one.cache_creation.ephemeral_5m_input_tokens == total_tokens({"messages": _turn(1)})
    assert two.cache_read_input_tokens == total_tokens({"system": system, "messages": _turn(1)})
    new_part = total_tokens({"system": system, "messages": _turn(2)}) - (
        two.cache_read_input_tokens or 0
    )
    assert two.cache_creation.ephemeral_5m_input_tokens == new_part
    assert new_part > 0
    assert two.cache_creation.ephemeral_1h_input_tokens == 0
    assert two.input_tokens == 0
    assert fake.message_requests()[1].usage == two.model_dump(exclude_none=True)


async def test_prefix_below_minimum_is_not_cached(client: AsyncAnthropic) -> None:
    """A marked prefix shorter than the model's minimum (1024 here) is neither written nor read."""
    system = [_text("Short system prompt.", cached=True)]
    for _ in range(2):
        usage = await _usage(client, system=system, messages=USER)
        assert usage.cache_creation_input_tokens == 0
        assert usage.cache_read_input_tokens == 0
        assert usage.input_tokens == total_tokens({"system": system, "messages": USER})


async def test_entries_expire_after_their_ttl(fake: FakeClaude, client: AsyncAnthropic) -> None:
    """5m entries expire after 5 minutes unused, 1h entries survive; a read refreshes the TTL."""
    system = [_text(BIG, ttl="1h")]
    await _usage(client, system=system, messages=_turn(1))
    fake.cache.advance(200)
    assert (await _usage(client, system=system, messages=_turn(1))).cache_creation_input_tokens == 0
    fake.cache.advance(200)  # 400 s after the write, 200 s after the refreshing read
    assert (await _usage(client, system=system, messages=_turn(1))).cache_creation_input_tokens == 0
    fake.cache.advance(301)
    later = await _usage(client, system=system, messages=_turn(1))
    assert later.cache_read_input_tokens == total_tokens({"system": system})
    assert later.cache_creation_input_tokens == total_tokens({"messages": _turn(1)})
    fake.cache.advance(3601)
    assert (await _usage(client, system=system, messages=_turn(1))).cache_read_input_tokens == 0


async def test_injected_clock_expires_entries() -> None:
    """FakeClaude(clock=...) drives expiry, and cache.clear() forgets everything."""
    now = [1000.0]
    async with (
        FakeClaude(clock=lambda: now[0]) as fake,
        AsyncAnthropic(base_url=fake.url, api_key=fake.api_key) as sdk,
    ):
        system = [_text(BIG, cached=True)]
        await _usage(sdk, system=system, messages=USER)
        now[0] += 299
        assert (await _usage(sdk, system=system, messages=USER)).cache_read_input_tokens
        now[0] += 301
        assert (await _usage(sdk, system=system, messages=USER)).cache_read_input_tokens == 0
        assert fake.cache.live_entries()
        fake.cache.clear()
        assert fake.cache.live_entries() == []


async def test_automatic_caching_moves_forward(client: AsyncAnthropic) -> None:
    """Top-level cache_control marks the last block: each turn reads the previous one."""
    system = BIG
    plain = [
        {
            "role": m["role"],
            "content": str(m["content"][0]["text"]) if m["role"] == "user" else m["content"],
        }
        for m in _turn(2)
    ]
    one = await _usage(client, system=system, messages=plain[:1], cache_control=_cc())
    two = await _usage(client, system=system, messages=plain, cache_control=_cc())
    assert one.cache_creation_input_tokens == total_tokens(
        {"system": system, "messages": plain[:1]}
    )
    assert two.cache_read_input_tokens == one.cache_creation_input_tokens
    assert two.input_tokens == 0


async def test_lookback_is_twenty_blocks(client: AsyncAnthropic) -> None:
    """A breakpoint more than 20 blocks past the last write misses; within 20 it hits."""
    system = [_text(BIG, cached=True)]
    base = [_text(f"part {i}") for i in range(3)]
    await _usage(
        client,
        system=system,
        messages=[{"role": "user", "content": [*base[:-1], _text("part 2", cached=True)]}],
    )
    near = [*base, *[_text(f"more {i}") for i in range(18)], _text("end", cached=True)]
    far = [*base, *[_text(f"more {i}") for i in range(25)], _text("end", cached=True)]
    hit = await _usage(client, system=[_text(BIG)], messages=[{"role": "user", "content": near}])
    miss = await _usage(client, system=[_text(BIG)], messages=[{"role": "user", "content": far}])
    assert hit.cache_read_input_tokens == total_tokens(
        {"system": system, "messages": [{"role": "user", "content": base}]}
    )
    assert miss.cache_read_input_tokens == 0


async def test_cache_is_per_model_and_tool_choice_salts_messages(client: AsyncAnthropic) -> None:
    """Another model misses; a changed tool_choice keeps the system entry but not messages."""
    system = [_text(BIG, cached=True)]
    kwargs: dict[str, Any] = {"system": system, "tools": TOOLS, "messages": _turn(1)}
    await _usage(client, tool_choice={"type": "auto"}, **kwargs)
    other_model = await _usage(
        client, model="claude-opus-4-8", tool_choice={"type": "auto"}, **kwargs
    )
    assert other_model.cache_read_input_tokens == 0
    changed = await _usage(client, tool_choice={"type": "none"}, **kwargs)
    assert changed.cache_read_input_tokens == total_tokens({"tools": TOOLS, "system": system})
    assert changed.cache_creation_input_tokens == total_tokens({"messages": _turn(1)})
