"""Values the core works with: questions, thread context, the stream of an answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# A message in Claude's Messages API format: {"role": "user"|"assistant", "content": [...]}.
ChatMessage = dict[str, Any]


@dataclass(frozen=True)
class ThreadKey:
    """Identifies one conversation: a Slack thread (or a DM's top level) in one workspace."""

    team: str
    channel: str
    thread_ts: str

    def __str__(self) -> str:
        return f"{self.team}:{self.channel}:{self.thread_ts}"


@dataclass(frozen=True)
class ContextMessage:
    """A message someone else posted in the thread since the bot's last turn."""

    ts: str
    author: str
    text: str


@dataclass(frozen=True)
class FileRef:
    """A file shared with a question, as the chat service describes it (not yet downloaded)."""

    id: str
    name: str = ""
    mimetype: str = ""
    filetype: str = ""  # the chat service's short type: "png", "pdf", "python", "zip" ...
    size: int | None = None
    url: str | None = None  # the download URL; None until resolved (e.g. a Slack Connect stub)
    unavailable: str | None = None  # why the file cannot be had at all (deleted, plan limit)
    workspace: str = ""  # the chat workspace it was shared in, when the bot serves several


@dataclass(frozen=True)
class Attachments:
    """The files of a question, ready for Claude: content blocks, and one notice per file that
    could not be used (said to the user in the final message and, briefly, to Claude)."""

    blocks: tuple[ChatMessage, ...] = ()
    notices: tuple[str, ...] = ()
    media_tokens: int = 0  # what the blocks' images and documents cost the model (estimated)


@dataclass(frozen=True)
class Question:
    """One user turn addressed to the bot, already stripped of Slack specifics."""

    key: ThreadKey
    user: str
    text: str
    ts: str
    is_direct_message: bool
    reply_thread_ts: str | None  # where the answer goes; None = top level of a DM
    event_id: str = ""
    files: tuple[FileRef, ...] = ()
    feature: str = "mention"  # for the usage ledger: mention, dm, ask-<tier>, ask-code, vision
    code_repo: str | None = None  # /ask-code: the repository the thread is about
    # Slack's proof that this person just asked (app_mention and DM message events carry it):
    # Slack search runs with it and returns only what they may see. None: no search.
    action_token: str | None = field(default=None, repr=False)
    context_channel: str | None = None  # the channel an assistant thread was opened from


@dataclass(frozen=True)
class Container:
    """Code execution's sandbox at Anthropic: its id and when it expires (seconds since the
    epoch, UTC). A thread keeps using one, so files and state carry over between turns."""

    id: str
    expires_at: float

    def usable(self, now: float) -> bool:
        """Whether it is worth sending again at `now` (wall-clock seconds since the epoch)."""
        return self.expires_at > now


@dataclass
class ThreadState:
    """What the store holds for a thread."""

    history: list[ChatMessage] = field(default_factory=list)
    last_seen_ts: str | None = None  # newest Slack message already folded into the history
    tier: str | None = None
    mode: str | None = None  # "code" for an /ask-code thread
    repo: str | None = None  # the repository of a code thread
    commit: str | None = None  # the commit its answers read
    trimmed: int = 0  # oldest messages the store has let go of (they no longer fit any window)
    container: Container | None = None  # code execution's container of the thread's last answer


class StopReason(StrEnum):
    """Why the model stopped, in the terms the core cares about."""

    END = "end_turn"
    MAX_TOKENS = "max_tokens"
    REFUSAL = "refusal"
    TOOL_USE = "tool_use"  # the model called tools and waits for their results
    PAUSE_TURN = "pause_turn"  # a long server-tool turn paused: send it back to continue
    OTHER = "other"


@dataclass(frozen=True)
class Usage:
    """Token counts of one model call, as the API reported them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    web_search_requests: int = 0  # server tools billed per use (usage.server_tool_use)
    web_fetch_requests: int = 0

    @property
    def cache_write_tokens(self) -> int:
        """All tokens written to the cache, whatever their TTL."""
        return self.cache_write_5m_tokens + self.cache_write_1h_tokens

    @property
    def prompt_tokens(self) -> int:
        """Every token of the prompt: uncached, written and read."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass(frozen=True)
class TextDelta:
    """A piece of answer text."""

    text: str


@dataclass(frozen=True)
class ThinkingDelta:
    """A piece of the model's thinking (shown only as a status unless asked for)."""

    text: str


@dataclass(frozen=True)
class AnswerDone:
    """The model finished; the full assistant message to store, and what it cost."""

    message: ChatMessage
    stop_reason: StopReason
    usage: Usage
    model: str
    request_id: str | None = None
    model_display: str = ""
    container: Container | None = None  # the code execution container the call used


class ToolState(StrEnum):
    """Where one tool call is."""

    STARTED = "started"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class ToolActivity:
    """A tool call started or ended: a server tool (reported by the model adapter as its blocks
    stream) or a client tool (reported by the agent loop). `text` says what it does, e.g.
    "Searching the web for “slack bolt”…"; `sources` are (title, url) pairs it read."""

    tool_id: str
    name: str
    state: ToolState
    text: str
    sources: tuple[tuple[str, str], ...] = ()


AnswerEvent = TextDelta | ThinkingDelta | ToolActivity | AnswerDone


@dataclass(frozen=True)
class ChatRequest:
    """A model call, in Claude's terms, built by the core and sent by an adapter."""

    model: str
    system: str
    messages: list[ChatMessage]
    max_tokens: int
    metadata_user: str | None = None
    thinking_effort: str | None = None  # None: no thinking; else "low" | "medium" | "high" ...
    # Blocks after the system prompt that stay the same for an hour or more (a repository's
    # context): the builder puts a 1-hour cache breakpoint on the last one.
    long_lived_system: tuple[str, ...] = ()
    tools: tuple[ChatMessage, ...] = ()  # tool definitions, in Claude's format
    tool_choice: str | None = None  # None: the API's default ("auto"); "none": answer now
    container: str | None = None  # code execution's container to reuse (None: a new one)
