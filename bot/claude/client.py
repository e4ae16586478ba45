"""The ChatModel adapter over the official anthropic SDK: streaming, usage, errors mapped."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any, cast

import anthropic
import httpx2
import structlog
from anthropic import AsyncStream
from anthropic.types import RawMessageStreamEvent
from tenacity import AsyncRetrying

from bot.claude.accumulate import StreamedAnswer, merged_usage
from bot.claude.catalog import Tier, lookup
from bot.claude.cost import call_cost_usd
from bot.claude.request import build_messages_call
from bot.claude.retry import is_spend_limit, retry_policy
from bot.claude.sse import SseSplitter
from bot.conversation.errors import ChatFailure, FailureKind
from bot.conversation.messages import (
    AnswerDone,
    AnswerEvent,
    ChatRequest,
    Container,
    StopReason,
    TextDelta,
    Usage,
)

log = structlog.get_logger("bot.claude")

_STOP_REASONS = {
    "end_turn": StopReason.END,
    "stop_sequence": StopReason.END,
    "max_tokens": StopReason.MAX_TOKENS,
    "refusal": StopReason.REFUSAL,
    "tool_use": StopReason.TOOL_USE,
    "pause_turn": StopReason.PAUSE_TURN,
}


class AnthropicChatModel:
    """Streams answers from Claude through anthropic.AsyncAnthropic."""

    def __init__(
        self,
        client: anthropic.AsyncAnthropic,
        tiers: dict[str, Tier],
        max_retries: int,
        *,
        stall_seconds: float = 90.0,
    ) -> None:
        self._client = client  # built with max_retries=0: retries are ours (see retry.py)
        self._tiers = tiers  # model id -> tier, for ids the catalog does not know
        self._max_retries = max_retries
        self._stall_seconds = stall_seconds  # no event for this long: the stream is abandoned
        self._timeout = stream_timeout(client.timeout, stall_seconds)

    async def stream(self, request: ChatRequest) -> AsyncGenerator[AnswerEvent, None]:
        """Yield text deltas, then AnswerDone; raise ChatFailure on any API error."""
        model, known = lookup(request.model, self._tiers.get(request.model, "sonnet"))
        call = build_messages_call(request, model)
        started = time.monotonic()
        first_token_at: float | None = None
        answer = StreamedAnswer()
        try:
            stream = await self._open_container_or_new(call)
            async with stream:
                async for event in read_events(stream.response):
                    shown = answer.add(event)
                    if shown is None:
                        continue
                    if first_token_at is None and isinstance(shown, TextDelta):
                        first_token_at = time.monotonic()
                    yield shown
            request_id = stream.response.headers.get("request-id")
        except anthropic.APIStatusError as exc:
            raise map_status_error(exc, request.model) from None
        except (anthropic.APITimeoutError, httpx2.TimeoutException):
            # silence past the read timeout (BOT_CLAUDE_STALL_SECONDS) mid-stream surfaces as the
            # HTTP library's own error
            log.warning("claude.stream_stalled", seconds=self._stall_seconds)
            raise ChatFailure(FailureKind.TIMEOUT, model=request.model) from None
        except (anthropic.APIConnectionError, httpx2.TransportError):
            raise ChatFailure(FailureKind.CONNECTION, model=request.model) from None
        usage = merged_usage(answer.message_start_usage, answer.final_usage)
        cost = call_cost_usd(model, usage) if known else None
        stop = answer.stop_reason
        _log_call(request.model, usage, cost, stop, request_id, started, first_token_at)
        yield AnswerDone(
            message={"role": "assistant", "content": answer.content()},
            stop_reason=_STOP_REASONS.get(answer.stop_reason or "", StopReason.OTHER),
            usage=usage,
            model=request.model,
            request_id=request_id,
            model_display=model.display_name,
            container=container_from(answer.container),
        )

    async def _open_container_or_new(
        self, call: dict[str, Any]
    ) -> AsyncStream[RawMessageStreamEvent]:
        """Open the stream; a code execution container the API no longer has (expired, or
        unknown) is dropped and the call opened once more without it: a new one is made."""
        try:
            return await self._open(call)
        except anthropic.APIStatusError as exc:
            if "container" not in call or not container_gone(exc):
                raise
            log.info("claude.container_gone", status=exc.status_code, request_id=exc.request_id)
            return await self._open({k: v for k, v in call.items() if k != "container"})

    async def _open(self, call: dict[str, Any]) -> AsyncStream[RawMessageStreamEvent]:
        """Open the stream, retrying what is worth retrying before any text has streamed.

        Its read timeout is the stall limit: httpx raises when no byte (an event or Claude's
        pings) arrives for that long, at no cost per event."""
        timeout = self._timeout
        async for attempt in AsyncRetrying(**retry_policy(self._max_retries)):  # type: ignore[arg-type]
            with attempt:
                opened = await self._client.messages.create(**call, stream=True, timeout=timeout)
                return cast(AsyncStream[RawMessageStreamEvent], opened)
        raise AssertionError("unreachable: tenacity reraises the last failure")


async def read_events(response: httpx2.Response) -> AsyncGenerator[dict[str, Any], None]:
    """The stream's events as the JSON objects Claude sent, read once from the response bytes
    (the SDK opened the stream: its status, retries and errors are the SDK's); an `error` event
    raises the SDK's own APIStatusError, as its stream reader would."""
    splitter = SseSplitter()
    async for chunk in _body(response):
        for name, data in splitter.feed(chunk):
            event = _event(name, data, response)
            if event is not None:
                yield event
    for name, data in splitter.close():
        event = _event(name, data, response)
        if event is not None:
            yield event


async def _body(response: httpx2.Response) -> AsyncGenerator[bytes, None]:
    """The body's chunks; a failure to read it is a connection error (a timeout stays one),
    as the SDK's reader makes it."""
    chunks = response.aiter_bytes()
    while True:
        try:
            chunk = await anext(chunks, None)
        except httpx2.TimeoutException:
            raise
        except httpx2.HTTPError as err:
            raise anthropic.APIConnectionError(request=response.request) from err
        if chunk is None:
            return
        yield chunk


def _event(name: str, data: bytes, response: httpx2.Response) -> dict[str, Any] | None:
    """One event's JSON object; None for pings and nameless or empty events."""
    if name == "error":
        try:
            body: object = json.loads(data)
            message = f"{body}"
        except ValueError:
            body, message = data.decode(errors="replace"), data.decode(errors="replace")
        raise anthropic.APIStatusError(
            message or f"Error code: {response.status_code}", response=response, body=body
        )
    if not name or name == "ping" or not data:
        return None
    event = json.loads(data)
    return event if isinstance(event, dict) else None


def _log_call(
    model: str,
    usage: Usage,
    cost: float | None,
    stop_reason: str | None,
    request_id: str | None,
    started: float,
    first_token_at: float | None,
) -> None:
    """One line per Claude call: tokens, cost and timing (never the text)."""
    log.info(
        "claude.call",
        model=model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        web_searches=usage.web_search_requests,
        ttft_ms=None if first_token_at is None else round((first_token_at - started) * 1000),
        total_ms=round((time.monotonic() - started) * 1000),
        cost_usd=None if cost is None else round(cost, 6),
        stop_reason=stop_reason,
        request_id=request_id,
    )


def container_gone(exc: anthropic.APIStatusError) -> bool:
    """A refusal of the request's `container` (expired or unknown), not of anything else."""
    message = (exc.api_message or "").lower()
    return exc.status_code in (400, 404) and "container" in message


def container_from(raw: dict[str, Any] | None) -> Container | None:
    """The core's Container from the stream's `container` (expires_at as ISO 8601)."""
    if not raw or not isinstance(raw.get("id"), str):
        return None
    try:
        expires = datetime.fromisoformat(str(raw.get("expires_at"))).timestamp()
    except ValueError:
        expires = 0.0  # unknown: not reused, a new one is made next time
    return Container(raw["id"], expires)


def stream_timeout(client_timeout: object, stall_seconds: float) -> httpx2.Timeout:
    """The client's timeouts, with the read timeout (silence between bytes) at the stall limit."""
    if isinstance(client_timeout, httpx2.Timeout):
        return httpx2.Timeout(
            client_timeout.connect,
            read=stall_seconds,
            write=client_timeout.write,
            pool=client_timeout.pool,
        )
    seconds = float(client_timeout) if isinstance(client_timeout, int | float) else 120.0
    return httpx2.Timeout(seconds, read=stall_seconds)


def usage_from(usage: anthropic.types.Usage) -> Usage:
    """The core's Usage from the SDK's (a whole message's, e.g. a batch result's)."""
    return merged_usage(usage, None)


def map_status_error(exc: anthropic.APIStatusError, model: str) -> ChatFailure:
    """The core's failure for an API error (after the SDK's own retries)."""
    status = exc.status_code
    kind = (
        FailureKind.SPEND_LIMIT
        if is_spend_limit(exc)
        else _failure_kind(status, exc.type, exc.api_message or "")
    )
    return ChatFailure(
        kind,
        f"{exc.type or 'error'}: {exc.api_message or ''}".strip(),
        request_id=exc.request_id,
        status=status,
        model=model,
    )


def _failure_kind(status: int, error_type: str | None, message: str) -> FailureKind:
    if status == 200:
        return FailureKind.INTERRUPTED  # an `error` event in the middle of the stream
    if status == 529 or error_type == "overloaded_error":
        return FailureKind.OVERLOADED
    if status == 429:
        return FailureKind.RATE_LIMITED
    if status in (401, 403):
        return FailureKind.AUTH
    if status == 404:
        return FailureKind.MODEL_NOT_FOUND
    if status == 400 and "prompt is too long" in message.lower():
        return FailureKind.PROMPT_TOO_LONG
    if status in (400, 413, 422):
        return FailureKind.BAD_REQUEST
    return FailureKind.SERVER
