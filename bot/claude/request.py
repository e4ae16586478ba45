"""Building the Messages API call from a ChatRequest (pure): the cache breakpoints live here.

The prefix (system prompt, then the history in its stored form) is byte-stable from turn to turn.
Breakpoints: one on the system prompt when it alone is long enough to cache, one moving with the
newest turn. Below the model's minimum cacheable length no breakpoint is set at all.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bot.claude.catalog import ModelInfo
from bot.conversation.messages import ChatMessage, ChatRequest

EPHEMERAL: dict[str, str] = {"type": "ephemeral"}
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


def build_messages_call(request: ChatRequest, model: ModelInfo) -> dict[str, Any]:
    """Keyword arguments for client.messages.stream(...)."""
    system: list[dict[str, Any]] = [{"type": "text", "text": request.system}]
    messages = [api_message(message, request.model) for message in request.messages]
    system_tokens = estimate_tokens(request.system)
    total_tokens = system_tokens + estimate_tokens(messages)
    if system_tokens >= model.min_cacheable_tokens:
        system[0]["cache_control"] = dict(EPHEMERAL)
    if total_tokens >= model.min_cacheable_tokens and messages:
        messages[-1] = with_breakpoint_on_last_block(messages[-1])
    max_tokens = min(request.max_tokens, model.max_output)
    call: dict[str, Any] = {
        "model": request.model,
        "max_tokens": max_tokens,
        "system": system,
        "messages": messages,
        **thinking_params(request.thinking_effort, model, max_tokens),
    }
    if request.metadata_user:
        call["metadata"] = {"user_id": hashed_user_id(request.metadata_user)}
    return call


def count_breakpoints(call: dict[str, Any]) -> int:
    """How many cache_control markers a call carries (the API allows at most four)."""
    blocks = list(call.get("system") or [])
    for message in call["messages"]:
        blocks.extend(_content_blocks(message))
    return sum(1 for block in blocks if isinstance(block, dict) and "cache_control" in block)
