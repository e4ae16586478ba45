"""The small interfaces the core talks through; adapters implement them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from bot.conversation.messages import (
    AnswerDone,
    AnswerEvent,
    Attachments,
    ChatMessage,
    ChatRequest,
    ContextMessage,
    FileRef,
    Question,
    ThreadKey,
    ThreadState,
)
from bot.conversation.usage import AnswerTiming, BudgetVerdict


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


class AttachmentReader(Protocol):
    """Turns the files shared with a question into content blocks for the model."""

    async def read(self, files: Sequence[FileRef], model_id: str) -> Attachments:
        """Blocks for the files that could be read (in order) and a notice for each that could
        not; never raises for a bad file."""
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

    @property
    def shown(self) -> str:
        """The text most recently shown (placeholder, status or answer so far)."""
        ...


class Clock(Protocol):
    """Monotonic time and sleeping, replaceable in tests."""

    def now(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait this long."""
        ...


class UsageGuard(Protocol):
    """Cost control around model calls: budgets before, the ledger and metrics after."""

    async def check(self, question: Question) -> BudgetVerdict:
        """Whether the question may go to the model (cheap; fails open)."""
        ...

    async def record(self, question: Question, done: AnswerDone) -> None:
        """Account one finished model call (never raises)."""
        ...

    def timed(self, timing: AnswerTiming) -> None:
        """Note how long an answer took to show."""
        ...
