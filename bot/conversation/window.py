"""Fitting a thread into the model's context: oldest exchanges drop out first (pure).

A turn's messages must fit the input budget (the model's context window minus the answer's
room, or the operator's cap). Whole exchanges are dropped from the oldest end, so the kept history
still starts with a user turn and every tool_use keeps its tool_result. A new message that alone
does not fit is refused before Claude is called, never sent to fail with a 400.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.conversation.messages import ChatMessage

CHARS_PER_TOKEN = 3.5  # conservative: real text averages nearer 4 characters a token


def estimate_tokens(value: object) -> int:
    """A cheap, conservative token estimate of a message (or anything JSON)."""
    return int(len(json.dumps(value, ensure_ascii=False)) / CHARS_PER_TOKEN) + 1


@dataclass(frozen=True)
class Window:
    """The messages to send, and how many stored messages were left out."""

    messages: list[ChatMessage]
    dropped: int


def starts_a_turn(message: ChatMessage) -> bool:
    """A user message that is not a tool result: a place the history may begin."""
    if message.get("role") != "user":
        return False
    content = message.get("content")
    if isinstance(content, list):
        return not any(block.get("type") == "tool_result" for block in content)
    return True


def fit(
    history: list[ChatMessage], new_turn: ChatMessage, system: str, budget: int | None
) -> Window | None:
    """The newest history that fits the budget with the new turn; None if the turn alone can't."""
    if budget is None:
        return Window([*history, new_turn], 0)
    fixed = estimate_tokens(system) + estimate_tokens(new_turn)
    if fixed > budget:
        return None
    sizes = [estimate_tokens(message) for message in history]
    total = fixed + sum(sizes)
    start = 0
    while total > budget and start < len(history):
        total -= sizes[start]
        start += 1
        while start < len(history) and not starts_a_turn(history[start]):
            total -= sizes[start]
            start += 1
    return Window([*history[start:], new_turn], start)


def outgrown_notice(dropped: int) -> str:
    """What the user is told when old messages no longer fit."""
    return (
        f"This thread outgrew what I can read at once, so I no longer see its {dropped} "
        "oldest messages. Start a new thread to begin fresh."
    )


def too_long_notice(tokens: int, budget: int) -> str:
    """What the user is told when their message alone is over the budget."""
    return (
        f"Your message is too long for me to read at once (about {tokens:,} tokens; "
        f"the limit here is {budget:,}). Attach it as a file, or send a shorter part."
    )
