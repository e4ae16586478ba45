"""Fitting a thread into the model's context, and keeping its stored history bounded (pure).

A turn's messages must fit the input budget (the model's context window minus the answer's
room, or the operator's cap). Whole exchanges are dropped from the oldest end, so the kept history
still starts with a user turn and every tool_use keeps its tool_result. A new message that alone
does not fit is refused before Claude is called, never sent to fail with a 400.

Images and documents referenced by id (Files API) are a few bytes of JSON but cost the model
real tokens: the reader records that cost on the user message (`media_tokens`, never sent), and
every estimate here counts it. The stored history keeps no more than any window could ever send
(the largest tier's budget), nor more than HISTORY_MAX_MESSAGES or HISTORY_MAX_BYTES: what falls
out of it is trimmed by whole exchanges too, so a long-lived thread (a DM's top level) stays small.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.conversation.messages import ChatMessage, ChatRequest

CHARS_PER_TOKEN = 3.5  # conservative: real text averages nearer 4 characters a token
MEDIA_TOKENS = "media_tokens"  # on a stored user message: its images' and documents' token cost
# Messages stored before that cost was recorded: a conservative guess per block referenced by id.
LEGACY_IMAGE_TOKENS = 1_600  # the most an image costs at 1.15 megapixels (w × h / 750)
LEGACY_DOCUMENT_TOKENS = 15_000  # a PDF of unknown length: about 5 pages at 3,000 tokens a page
HISTORY_MAX_MESSAGES = 2_000  # a thread keeps at most this many messages (1,000 exchanges) ...
HISTORY_MAX_BYTES = 2 * 1024 * 1024  # ... and at most this much JSON


def _compact(value: object) -> str:
    """JSON as the store keeps it (compact, UTF-8 characters unescaped)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def estimate_tokens(value: object) -> int:
    """A cheap, conservative token estimate of a message (or anything JSON)."""
    return int(len(_compact(value)) / CHARS_PER_TOKEN) + 1


def _blocks(message: ChatMessage) -> list[Any]:
    content = message.get("content")
    return content if isinstance(content, list) else []


def _legacy_media_tokens(block: Any) -> int:
    if not isinstance(block, dict):
        return 0
    source = block.get("source")
    if not isinstance(source, dict) or source.get("type") != "file":
        return 0  # inline text documents are counted by their JSON
    if block.get("type") == "image":
        return LEGACY_IMAGE_TOKENS
    return LEGACY_DOCUMENT_TOKENS if block.get("type") == "document" else 0


def media_tokens(message: ChatMessage) -> int:
    """What the message's images and documents cost the model beyond their JSON."""
    recorded = message.get(MEDIA_TOKENS)
    if isinstance(recorded, int):
        return recorded
    return sum(_legacy_media_tokens(block) for block in _blocks(message))


def message_tokens(message: ChatMessage) -> int:
    """The token estimate of a message, its images and documents at their real cost."""
    return estimate_tokens(message) + media_tokens(message)


class Sizes:
    """Each message's token estimate and stored size, measured once (one JSON encoding) however
    often a turn asks: fitting each tier, the cost estimate, the trim. Keyed by identity, so
    for one turn's messages only (they are kept alive here, and nobody changes them)."""

    def __init__(self) -> None:
        self._known: dict[int, tuple[ChatMessage, int, int]] = {}

    def _measure(self, message: ChatMessage) -> tuple[ChatMessage, int, int]:
        known = self._known.get(id(message))
        if known is None:
            text = _compact(message)
            tokens = int(len(text) / CHARS_PER_TOKEN) + 1 + media_tokens(message)
            known = (message, tokens, len(text.encode()))
            self._known[id(message)] = known
        return known

    def tokens(self, message: ChatMessage) -> int:
        """The message's token estimate, its images and documents at their real cost."""
        return self._measure(message)[1]

    def stored_bytes(self, message: ChatMessage) -> int:
        """The message's size as the store keeps it (compact UTF-8 JSON)."""
        return self._measure(message)[2]


def request_tokens(request: ChatRequest, sizes: Sizes | None = None) -> int:
    """The input token estimate of a whole request: system, long-lived blocks, tools, messages."""
    count = (sizes or Sizes()).tokens
    total = estimate_tokens(request.system)
    if request.long_lived_system:
        total += estimate_tokens(list(request.long_lived_system))
    if request.tools:
        total += estimate_tokens(list(request.tools))
    return total + sum(count(message) for message in request.messages)


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
    history: list[ChatMessage],
    new_turn: ChatMessage,
    system: str,
    budget: int | None,
    measured: Sizes | None = None,
) -> Window | None:
    """The newest history that fits the budget with the new turn; None if the turn alone can't."""
    if budget is None:
        return Window([*history, new_turn], 0)
    count = (measured or Sizes()).tokens
    fixed = estimate_tokens(system) + count(new_turn)
    if fixed > budget:
        return None
    sizes = [count(message) for message in history]
    total = fixed + sum(sizes)
    start = 0
    while total > budget and start < len(history):
        total -= sizes[start]
        start += 1
        while start < len(history) and not starts_a_turn(history[start]):
            total -= sizes[start]
            start += 1
    return Window([*history[start:], new_turn], start)


def stored_bytes(message: ChatMessage) -> int:
    """The message's size as the store keeps it (compact UTF-8 JSON)."""
    return len(_compact(message).encode())


def stale_prefix(
    messages: Sequence[ChatMessage],
    max_tokens: int | None,
    *,
    max_messages: int = HISTORY_MAX_MESSAGES,
    max_bytes: int = HISTORY_MAX_BYTES,
    measured: Sizes | None = None,
) -> int:
    """How many of the oldest messages a stored history can drop: the rest is the longest run
    of newest whole exchanges within max_tokens (what the largest window could ever send; None:
    no limit), max_messages and max_bytes. The newest exchange is always kept."""
    sizes = measured or Sizes()
    tokens = size = 0
    keep_from: int | None = None
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        tokens += sizes.tokens(message)
        size += sizes.stored_bytes(message)
        count = len(messages) - index
        within = (
            (max_tokens is None or tokens <= max_tokens)
            and count <= max_messages
            and size <= max_bytes
        )
        if starts_a_turn(message):
            if within or keep_from is None:
                keep_from = index
            if not within:
                break
    return keep_from or 0


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
