"""The small interfaces the core talks through; adapters implement them."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Any, Protocol

from bot.conversation.messages import (
    AnswerDone,
    AnswerEvent,
    Attachments,
    ChatMessage,
    ChatRequest,
    Container,
    ContextMessage,
    FileRef,
    Question,
    ThreadKey,
    ThreadState,
    ToolActivity,
)
from bot.conversation.usage import AnswerTiming, BudgetVerdict, PlannedCall


class ThreadStore(Protocol):
    """Where conversations live between turns."""

    async def load(self, key: ThreadKey) -> ThreadState:
        """The thread's history and meta; an empty state for a new thread."""
        ...

    async def append_turn(
        self,
        key: ThreadKey,
        user: ChatMessage,
        assistant: ChatMessage,
        *,
        last_seen_ts: str,
        between: Sequence[ChatMessage] = (),
        drop_oldest: int = 0,
        container: Container | None = None,
    ) -> None:
        """Store one user turn and its answer together (with the tool calls and results
        `between` them, in order), let go of the `drop_oldest` oldest stored messages (they no
        longer fit any window), remember code execution's `container` when the answer used one,
        and refresh the thread's TTL."""
        ...

    async def set_tier(self, key: ThreadKey, tier: str) -> None:
        """Remember the model tier later turns of the thread use."""
        ...

    async def set_code(self, key: ThreadKey, repo: str, commit: str) -> None:
        """Mark the thread as about a repository, read at this commit."""
        ...


class ChatModel(Protocol):
    """A streaming model: text deltas, then one AnswerDone; raises ChatFailure."""

    def stream(self, request: ChatRequest) -> AsyncGenerator[AnswerEvent, None]:
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

    async def read(
        self, files: Sequence[FileRef], model_id: str, *, to_container: bool = False
    ) -> Attachments:
        """Blocks for the files that could be read (in order) and a notice for each that could
        not; never raises for a bad file. `to_container`: code execution is on, so data files
        (CSV, spreadsheets, archives…) go to its container rather than being read inline."""
        ...


class ResultFiles(Protocol):
    """Brings the files code execution made back into the conversation's thread."""

    async def bring_back(self, question: Question, file_ids: Sequence[str]) -> list[str]:
        """Post each file into the question's thread (images are shown inline), each at most
        once whatever happens; a sentence for each file that could not be. Never raises."""
        ...


class NoResultFiles:
    """Nowhere to bring files back to (code execution off, tests)."""

    async def bring_back(self, question: Question, file_ids: Sequence[str]) -> list[str]:
        """Nothing is brought back, nothing is said."""
        return []


class ReplySink(Protocol):
    """Where an answer is shown while it streams: one or more chat messages."""

    async def start(self, status: str) -> None:
        """Show a placeholder with a status line at once."""
        ...

    async def show(self, text: str) -> float:
        """Show the answer so far; may be skipped when the chat service is busy.

        Returns 0 when shown (or not worth retrying), else the seconds until it could be."""
        ...

    async def finish(self, text: str) -> None:
        """Show the final text; must land, waiting out rate limits."""
        ...

    async def activity(self, activity: ToolActivity, text: str) -> bool:
        """Show a tool call starting or ending in this sink's own way (a task in a native
        stream), after `text`, the answer so far, which it shows first. False: this sink has no
        such display, and the core shows the call as a status line of the live text instead."""
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
        """A cheap early refusal, before files are read: a budget already used up (answers in
        progress counted). Holds nothing; fails open."""
        ...

    async def reserve(self, question: Question, planned: PlannedCall) -> BudgetVerdict:
        """Whether the question may go to the model: atomically, its estimated cost fits what
        is left of the budgets (answers in progress counted) and the asker has room for one
        more answer in flight; if so the estimate is held until release(). Fails open."""
        ...

    async def release(self, question: Question, verdict: BudgetVerdict) -> None:
        """The answer ended: free what reserve() held (never raises)."""
        ...

    async def record(self, question: Question, done: AnswerDone) -> None:
        """Account one finished model call (never raises)."""
        ...

    def timed(self, timing: AnswerTiming) -> None:
        """Note how long an answer took to show."""
        ...


Progress = Callable[[str], Awaitable[None]]


class CodeWorkspace(Protocol):
    """One repository at one commit, ready to answer questions about."""

    @property
    def repo(self) -> str:
        """The repository's configured name."""
        ...

    @property
    def commit(self) -> str:
        """The commit read (full id)."""
        ...

    @property
    def max_tool_rounds(self) -> int:
        """How many tool rounds one answer may take."""
        ...

    @property
    def label(self) -> str:
        """How the answer names what it read, e.g. "`api` at `1a2b3c4d5e`"."""
        ...

    @property
    def system_blocks(self) -> tuple[str, ...]:
        """The repository's context for the system prompt (byte-stable for the commit)."""
        ...

    @property
    def tools(self) -> tuple[ChatMessage, ...]:
        """The tools the model may call (none when the whole repository is in the prompt)."""
        ...

    async def excerpts(self, question: str) -> str:
        """Parts of the repository picked for this question ("" when none are needed)."""
        ...

    def describe(self, name: str, tool_input: dict[str, Any]) -> str:
        """The status line while a tool runs, e.g. "Reading bot/client.py:40-120…"."""
        ...

    async def run_tool(self, name: str, tool_input: dict[str, Any]) -> tuple[str, bool]:
        """The tool's result text, and whether it is an error (never raises for bad input)."""
        ...

    def cite(self, text: str) -> str:
        """The answer with its `path:Lstart-Lend` citations checked and linked."""
        ...


class CodeRepos(Protocol):
    """The configured repositories: fetched, selected and rendered on demand."""

    async def open(self, repo: str, commit: str | None, progress: Progress) -> CodeWorkspace:
        """The repository at `commit` (None: the latest, fetched when stale); raises
        CodeUnavailable with a message for the user."""
        ...


class ThreadEraser(Protocol):
    """Carries out "forget this thread": deletes what the bot keeps of it."""

    async def forget(self, question: Question) -> str:
        """Delete the thread's stored history and what belongs to it (marks, in-progress
        records, files uploaded for it); the reply saying what went. Raises
        StorageUnavailable when the store cannot be reached."""
        ...


class Redactor(Protocol):
    """Replaces personal data in what a person wrote before it goes to the model."""

    async def redact(self, question: Question, message: ChatMessage) -> ChatMessage:
        """The user turn with emails, phone numbers and card numbers in its text replaced
        (per question, so a channel's profile can turn it on or off); never raises."""
        ...
