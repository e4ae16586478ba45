"""What a turn is given: its settings (from the bot's), the ports it talks to, and how it ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.conversation.agent import Approvals, LoopLimits, NoApprovals
from bot.conversation.errors import FailureKind
from bot.conversation.kit import NoServerTools, ServerTools
from bot.conversation.metering import Unmetered
from bot.conversation.ports import (
    AttachmentReader,
    ChatModel,
    Clock,
    CodeRepos,
    NoResultFiles,
    Redactor,
    ResultFiles,
    ThreadEraser,
    ThreadReader,
    ThreadStore,
    UsageGuard,
)
from bot.conversation.profiles import Profiles, StaticProfiles
from bot.conversation.throttle import EditPolicy
from bot.conversation.tools import ToolProvider


@dataclass(frozen=True)
class TurnSettings:
    """The knobs of a turn, taken from the bot's settings."""

    system_prompt: str
    max_tokens: int
    models_by_tier: dict[str, str]
    model_variables: dict[str, str]
    edit_policy: EditPolicy
    thinking_by_tier: dict[str, str | None]
    display_names: dict[str, str]
    show_thinking: bool = False
    # Tokens a request's input may use per tier (context window minus the answer's room, or the
    # operator's cap); a tier missing here has no limit.
    input_budget_by_tier: dict[str, int] = field(default_factory=dict)
    tool_limits: LoopLimits = field(default_factory=LoopLimits)  # rounds, time, timeouts, sizes

    @property
    def history_tokens(self) -> int | None:
        """The most any tier's window can send: a thread's stored history keeps no more (it may
        move to another tier). None: no limit."""
        return max(self.input_budget_by_tier.values(), default=None)


@dataclass(frozen=True)
class TurnDeps:
    """What a turn talks to."""

    store: ThreadStore
    model: ChatModel
    reader: ThreadReader
    clock: Clock
    settings: TurnSettings
    attachments: AttachmentReader | None = None  # None: shared files are not read
    usage: UsageGuard = field(default_factory=Unmetered)  # budgets, ledger, metrics
    code: CodeRepos | None = None  # None: /ask-code is not set up
    tools: tuple[ToolProvider, ...] = ()  # client tools (MCP servers, Slack search, …)
    server_tools: ServerTools = field(default_factory=NoServerTools)  # web search, fetch, code
    approvals: Approvals = field(default_factory=NoApprovals)  # for tools that change things
    profiles: Profiles = field(default_factory=StaticProfiles)  # each channel's own Claude
    result_files: ResultFiles = field(default_factory=NoResultFiles)  # code execution's files
    wall_clock: Callable[[], float] = time.time  # seconds since the epoch (container expiry)
    eraser: ThreadEraser | None = None  # "forget this thread"; None: passed to Claude
    redactor: Redactor | None = None  # personal data out of the user turn; None: off


@dataclass(frozen=True)
class TurnOutcome:
    """How a turn ended, for logs and tests."""

    answered: bool
    failure: FailureKind | None = None
    tier: str | None = None
