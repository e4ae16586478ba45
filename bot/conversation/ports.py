"""The small interfaces the core talks through; adapters implement them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from bot.conversation.messages import (
    AnswerEvent,
    ChatMessage,
    ChatRequest,
    ContextMessage,
    ThreadKey,
    ThreadState,
)


class ThreadStore(Protocol):
    """Where conversations live between turns."""

    async def load(self, key: ThreadKey) -> ThreadState:
        """The thread's history and meta; an empty state for a new thread."""
        ...

    async def append_turn(
        self, key: ThreadKey, user: ChatMessage, assistant: ChatMessage, *, last_seen_ts: str
    ) -> None:
        """Store one user turn and its answer together, and refresh the thread's TTL."""
        ...

    async def set_tier(self, key: ThreadKey, tier: str) -> None:
        """Remember the model tier later turns of the thread use."""
        ...


class ChatModel(Protocol):
    """A streaming model: text deltas, then one AnswerDone; raises ChatFailure."""

    def stream(self, request: ChatRequest) -> AsyncIterator[AnswerEvent]:
        """Start the call and yield its events."""
        ...


class ThreadReader(Protocol):
    """Reads what other people said in a thread."""

    async def messages_between(
        self, key: ThreadKey, after_ts: str | None, before_ts: str
    ) -> list[ContextMessage]:
        """Human messages after after_ts (None: from the root) and before before_ts."""
        ...


class ReplySink(Protocol):
    """Where an answer is shown while it streams: one or more chat messages."""

    async def start(self, status: str) -> None:
        """Show a placeholder with a status line at once."""
        ...

    async def show(self, text: str) -> None:
        """Show the answer so far; may be skipped when the chat service is busy."""
        ...

    async def finish(self, text: str) -> None:
        """Show the final text; must land, waiting out rate limits."""
        ...


class Clock(Protocol):
    """Monotonic time and sleeping, replaceable in tests."""

    def now(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait this long."""
        ...
