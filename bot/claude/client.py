"""The ChatModel adapter over the official anthropic SDK: streaming, usage, errors mapped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx2
import structlog
from anthropic.lib.streaming import AsyncMessageStream
from tenacity import AsyncRetrying

from bot.claude.catalog import Tier, lookup
from bot.claude.cost import call_cost_usd
from bot.claude.request import build_messages_call
from bot.claude.retry import is_spend_limit, retry_policy
from bot.conversation.errors import ChatFailure, FailureKind
from bot.conversation.messages import (
    AnswerDone,
    AnswerEvent,
    ChatMessage,
    ChatRequest,
    StopReason,
    TextDelta,
    ThinkingDelta,
    Usage,
)

log = structlog.get_logger("bot.claude")

_STOP_REASONS = {
    "end_turn": StopReason.END,
    "stop_sequence": StopReason.END,
    "max_tokens": StopReason.MAX_TOKENS,
    "refusal": StopReason.REFUSAL,
    "tool_use": StopReason.TOOL_USE,
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

    async def stream(self, request: ChatRequest) -> AsyncIterator[AnswerEvent]:
        """Yield text deltas, then AnswerDone; raise ChatFailure on any API error."""
        model, known = lookup(request.model, self._tiers.get(request.model, "sonnet"))
        call = build_messages_call(request, model)
        started = time.monotonic()
        first_token_at: float | None = None
        try:
            async with await self._open(call) as stream:
                async for event in _watchdog(stream, self._stall_seconds):
                    if event.type == "text" and event.text:
                        if first_token_at is None:
                            first_token_at = time.monotonic()
                        yield TextDelta(event.text)
                    elif event.type == "thinking" and event.thinking:
                        yield ThinkingDelta(event.thinking)
                final = await stream.get_final_message()
                request_id = stream.request_id
        except anthropic.APIStatusError as exc:
            raise map_status_error(exc, request.model) from None
        except StreamStalled:
            log.warning("claude.stream_stalled", seconds=self._stall_seconds)
            raise ChatFailure(FailureKind.TIMEOUT, "stream stalled", model=request.model) from None
        except (anthropic.APITimeoutError, httpx2.TimeoutException):
            # a read timeout in the middle of a stream surfaces as the HTTP library's own error
            raise ChatFailure(FailureKind.TIMEOUT, model=request.model) from None
        except (anthropic.APIConnectionError, httpx2.TransportError):
            raise ChatFailure(FailureKind.CONNECTION, model=request.model) from None
        usage = usage_from(final.usage)
        cost = call_cost_usd(model, usage) if known else None
        log.info(
            "claude.call",
            model=request.model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            ttft_ms=None if first_token_at is None else round((first_token_at - started) * 1000),
            total_ms=round((time.monotonic() - started) * 1000),
            cost_usd=None if cost is None else round(cost, 6),
            stop_reason=final.stop_reason,
            request_id=request_id,
        )
        yield AnswerDone(
            message={"role": "assistant", "content": storable_blocks(final.content)},
            stop_reason=_STOP_REASONS.get(final.stop_reason or "", StopReason.OTHER),
            usage=usage,
            model=request.model,
            request_id=request_id,
            model_display=model.display_name,
        )

    async def _open(self, call: dict[str, Any]) -> AsyncMessageStream[Any]:
        """Open the stream, retrying what is worth retrying before any text has streamed."""
        async for attempt in AsyncRetrying(**retry_policy(self._max_retries)):  # type: ignore[arg-type]
            with attempt:
                return await self._client.messages.stream(**call).__aenter__()
        raise AssertionError("unreachable: tenacity reraises the last failure")


class StreamStalled(Exception):
    """No event arrived from Claude for longer than the stall limit."""


async def _watchdog(stream: AsyncMessageStream[Any], seconds: float) -> AsyncIterator[Any]:
    """The stream's events; StreamStalled when none arrives for `seconds`."""
    events = stream.__aiter__()
    while True:
        try:
            yield await asyncio.wait_for(events.__anext__(), seconds)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise StreamStalled from None


def usage_from(usage: anthropic.types.Usage) -> Usage:
    """The core's Usage from the SDK's."""
    write_5m = write_1h = 0
    if usage.cache_creation is not None:
        write_5m = usage.cache_creation.ephemeral_5m_input_tokens or 0
        write_1h = usage.cache_creation.ephemeral_1h_input_tokens or 0
    elif usage.cache_creation_input_tokens:
        write_5m = usage.cache_creation_input_tokens
    return Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_input_tokens or 0,
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
    )


def storable_blocks(content: list[Any]) -> list[ChatMessage]:
    """Content blocks as the API accepts them back in a later turn (thinking signatures kept)."""
    blocks: list[ChatMessage] = []
    for block in content:
        if block.type == "text":
            if block.text:
                blocks.append({"type": "text", "text": block.text})
        elif block.type == "thinking":
            blocks.append(
                {"type": "thinking", "thinking": block.thinking, "signature": block.signature}
            )
        elif block.type == "redacted_thinking":
            blocks.append({"type": "redacted_thinking", "data": block.data})
        elif block.type == "tool_use":
            blocks.append(
                {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
            )
    return blocks


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
