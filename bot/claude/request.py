"""Building the Messages API call from a ChatRequest (pure): the cache breakpoints live here.

The prefix (system prompt, then the history in its stored form) is byte-stable from turn to turn.
Breakpoints, each only where the prefix up to it reaches the model's minimum cacheable length
(the tools, which come first, counted in):
- the system prompt (after the tools), so every thread with the same tools shares it;
- the end of the previous turn's request (its user message), where that request wrote its cache
  entry: the lookup hits exactly, however many blocks the new turn adds (the API looks back only
  20 blocks from a breakpoint);
- the newest turn's last block, which writes the entry the next turn reads.
That is at most 3 of the API's 4, all with the default 5-minute TTL.

A request with long-lived system blocks (an /ask-code repository) moves the system breakpoint to
the last of them, with the 1-hour TTL: the API wants every 1-hour breakpoint before any 5-minute
one, and the tools and the system prompt are inside that prefix anyway.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bot.claude.catalog import ModelInfo
from bot.claude.media import (
    FILES_BETA,
    keep_newest_images,
    uses_files_api,
    without_container_uploads,
)
from bot.conversation.messages import ChatMessage, ChatRequest

EPHEMERAL: dict[str, str] = {"type": "ephemeral"}
ONE_HOUR: dict[str, str] = {"type": "ephemeral", "ttl": "1h"}
MAX_BREAKPOINTS = 4


def estimate_tokens(value: object) -> int:
    """A cheap, deterministic token estimate: about four characters of JSON a token."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"))) // 4 + 1


def hashed_user_id(user: str) -> str:
    """An opaque id for Anthropic's metadata.user_id: no Slack id leaves the bot."""
    return hashlib.sha256(f"claude-slack-bot:{user}".encode()).hexdigest()[:32]


def _content_blocks(message: ChatMessage) -> list[dict[str, Any]]:
    content = message["content"]
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return list(content)


def with_breakpoint_on_last_block(message: ChatMessage) -> ChatMessage:
    """A copy of the message whose last content block carries a cache breakpoint."""
    blocks = [dict(block) for block in _content_blocks(message)]
    blocks[-1]["cache_control"] = dict(EPHEMERAL)
    return {"role": message["role"], "content": blocks}


BUDGET_BY_EFFORT = {"low": 2048, "medium": 8192, "high": 16_384, "xhigh": 24_576, "max": 32_768}
THINKING_BLOCKS = frozenset({"thinking", "redacted_thinking"})


def api_message(message: ChatMessage, model_id: str) -> ChatMessage:
    """A stored message as the API takes it: only role and content; thinking blocks kept only
    when the same model wrote them (a signature is valid for the model that made it)."""
    content = message["content"]
    written_by = message.get("model")
    if written_by is not None and written_by != model_id and isinstance(content, list):
        content = [block for block in content if block.get("type") not in THINKING_BLOCKS]
    return {"role": message["role"], "content": content}


def thinking_params(effort: str | None, model: ModelInfo, max_tokens: int) -> dict[str, Any]:
    """The thinking (and effort) arguments the model's generation accepts, or none."""
    if effort is None:
        return {}
    if model.thinking == "adaptive":
        return {"thinking": {"type": "adaptive"}, "output_config": {"effort": effort}}
    budget = min(BUDGET_BY_EFFORT.get(effort, 8192), max_tokens - 1)
    if budget < 1024:
        return {}  # too little room to think: answer without thinking
    return {"thinking": {"type": "enabled", "budget_tokens": budget}}


def previous_request_end(messages: list[ChatMessage]) -> int | None:
    """The index of the message the previous turn's request ended with: the user message
    before the last answer (None on a thread's first turn)."""
    if len(messages) >= 3 and messages[-2]["role"] == "assistant":
        return len(messages) - 3 if messages[-3]["role"] == "user" else None
    return None


def message_breakpoints(
    system_tokens: int, messages: list[ChatMessage], min_tokens: int
) -> list[int]:
    """Indexes of the messages whose last block gets a breakpoint (prefix long enough)."""
    candidates = [previous_request_end(messages), len(messages) - 1 if messages else None]
    chosen: list[int] = []
    for index in candidates:
        if index is None or index in chosen:
            continue
        if system_tokens + estimate_tokens(messages[: index + 1]) >= min_tokens:
            chosen.append(index)
    return chosen


def system_blocks(request: ChatRequest, model: ModelInfo) -> tuple[list[dict[str, Any]], int]:
    """The system prompt and the long-lived blocks, the last with a breakpoint when the prefix
    is long enough (1 hour when there are long-lived blocks); and the prefix's token estimate."""
    texts = [request.system, *request.long_lived_system]
    system: list[dict[str, Any]] = [{"type": "text", "text": text} for text in texts]
    tokens = estimate_tokens(request.system)
    if request.long_lived_system or request.tools:  # the cached prefix starts with the tools
        tokens = estimate_tokens([list(request.tools), texts])
    if tokens >= model.min_cacheable_tokens:
        system[-1]["cache_control"] = dict(ONE_HOUR if request.long_lived_system else EPHEMERAL)
    return system, tokens


def build_messages_call(request: ChatRequest, model: ModelInfo) -> dict[str, Any]:
    """Keyword arguments for client.messages.stream(...)."""
    system, system_tokens = system_blocks(request, model)
    messages = [api_message(message, request.model) for message in request.messages]
    messages = keep_newest_images(messages)
    code_execution = offers_code_execution(request)
    if not code_execution:
        messages = without_container_uploads(messages)
    for index in message_breakpoints(system_tokens, messages, model.min_cacheable_tokens):
        messages[index] = with_breakpoint_on_last_block(messages[index])
    max_tokens = min(request.max_tokens, model.max_output)
    call: dict[str, Any] = {
        "model": request.model,
        "max_tokens": max_tokens,
        "system": system,
        "messages": messages,
        **thinking_params(request.thinking_effort, model, max_tokens),
    }
    if request.tools:
        call["tools"] = [dict(tool) for tool in request.tools]
    if request.tool_choice:
        call["tool_choice"] = {"type": request.tool_choice}
    if request.container and code_execution:
        call["container"] = request.container
    if request.metadata_user:
        call["metadata"] = {"user_id": hashed_user_id(request.metadata_user)}
    if uses_files_api(messages):
        call["extra_headers"] = {"anthropic-beta": FILES_BETA}
    return call


def offers_code_execution(request: ChatRequest) -> bool:
    """Whether the request offers Anthropic's code execution tool (its containers, its files)."""
    return any(str(tool.get("type", "")).startswith("code_execution_") for tool in request.tools)


def count_breakpoints(call: dict[str, Any]) -> int:
    """How many cache_control markers a call carries (the API allows at most four)."""
    blocks = list(call.get("system") or [])
    for message in call["messages"]:
        blocks.extend(_content_blocks(message))
    return sum(1 for block in blocks if isinstance(block, dict) and "cache_control" in block)
