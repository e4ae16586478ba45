"""One answer's model calls: each streamed into the reply sink through one coalescer, run by the
agent loop over the answer's kit, with every tool call shown while it runs, and what tools it
used.

The live message is the answer so far — the text of every call, earlier tool rounds included,
a paragraph apart — and, while a tool runs, a status line under it ("Searching the web for
“…”…"), replaced by the text that follows. A sink with its own display of tools (a native
stream's tasks) shows them there instead. Status lines are interim text like any other: they go
through the same coalescer, so tools never cost an edit beyond its rate.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.conversation.activity import activity_line
from bot.conversation.agent import Approver, Attempt, LoopLimits, LoopOutcome, ToolRunner, converse
from bot.conversation.display import (
    SERVER_TOOL_NOUNS,
    joined,
    live_text,
    paragraph_break,
    thinking_status,
)
from bot.conversation.errors import ChatFailure
from bot.conversation.kit import AnswerKit
from bot.conversation.messages import (
    AnswerDone,
    ChatMessage,
    ChatRequest,
    StopReason,
    TextDelta,
    ThinkingDelta,
    ToolActivity,
)
from bot.conversation.ports import ChatModel, Clock, ReplySink
from bot.conversation.throttle import Coalescer, EditPolicy


@dataclass(frozen=True)
class Caller:
    """What one answer's calls need: the model, where they are shown, the loop's limits, how a
    call's cost is recorded and who approves tools that change things."""

    model: ChatModel
    clock: Clock
    sink: ReplySink
    started: float
    edit_policy: EditPolicy
    show_thinking: bool
    limits: LoopLimits
    record: Callable[[AnswerDone], Awaitable[None]]
    approver: Approver


@dataclass(frozen=True)
class Answered:
    """The answer's last call, the tool rounds before it, the tools it used (by noun), and the
    text its earlier tool rounds showed (`lead`, "" when none)."""

    attempt: Attempt
    exchange: list[ChatMessage]
    used: dict[str, int]
    lead: str = ""

    @property
    def text(self) -> str:
        """Everything the answer's calls wrote."""
        return joined(self.lead, self.attempt.text)


class Live:
    """What the live message shows while the answer is written (see the module docstring)."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller
        self.coalescer = Coalescer(
            caller.sink.show, caller.clock, caller.edit_policy, render=self._render
        )
        self.before = ""  # the text of the answer's earlier calls
        self.lead = ""  # the text of the calls before the last tool round
        self.attempt = Attempt()  # the call streaming now
        self.line = ""  # the tool call running now, as a status line ("" when none shows)
        self.after_tool = False  # a server tool ran since this call's last text
        self.last_stop: StopReason | None = None

    def begin(self) -> Attempt:
        """A model call starts (after a tool round, the text so far is the lead)."""
        if self.last_stop is StopReason.TOOL_USE:
            self.lead = self.before
        self.attempt = Attempt()
        return self.attempt

    def end(self, attempt: Attempt) -> None:
        """A model call ended: its text is now part of the answer so far."""
        self.before = joined(self.before, attempt.text)
        self.last_stop = attempt.done.stop_reason if attempt.done is not None else None
        self.attempt = Attempt()  # between calls (a tool round), nothing is streaming
        self.after_tool = False

    async def text(self, delta: str) -> None:
        """Answer text: it replaces the status line (a paragraph after a server tool)."""
        attempt = self.attempt
        if self.after_tool:
            attempt.text += paragraph_break(attempt.text)
            self.after_tool = False
        attempt.text += delta
        self.line = ""
        await self._push()

    async def thinking(self, delta: str) -> None:
        """Thinking: shown as the "Thinking… 4 s" status (or quoted, when asked)."""
        self.attempt.thinking += delta
        await self._push()

    async def tool(self, activity: ToolActivity) -> None:
        """A tool call started or ended: shown by the sink's own display when it has one, else
        as the status line under the text so far."""
        self.after_tool = True
        body = self._shown("")
        if await self._caller.sink.activity(activity, body):
            self.line = ""
            return
        self.line = activity_line(activity)
        await self._push()

    def _shown(self, line: str) -> str:
        caller, attempt = self._caller, self.attempt
        body = joined(self.before, attempt.text)
        status = line or thinking_status(caller.clock.now() - caller.started)
        answer = joined(body, line) if body else ""
        return live_text(answer, attempt.thinking, status, caller.show_thinking)

    def _render(self) -> str:
        """What the message shows now (made only when an edit goes out, not on every delta)."""
        return self._shown(self.line)

    async def _push(self) -> None:
        await self.coalescer.changed()


async def stream_call(request: ChatRequest, caller: Caller, live: Live) -> Attempt:
    """One streamed model call, shown through the answer's live message."""
    attempt = live.begin()
    try:
        async with contextlib.aclosing(caller.model.stream(request)) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    await live.text(event.text)
                elif isinstance(event, ThinkingDelta):
                    await live.thinking(event.text)
                elif isinstance(event, ToolActivity):
                    await live.tool(event)
                else:
                    attempt.done = event
    except ChatFailure as failure:
        attempt.failure = failure
    live.end(attempt)
    return attempt


async def answer_calls(request: ChatRequest, caller: Caller, kit: AnswerKit) -> Answered:
    """The agent loop over the kit's tools: model call, tool rounds, model call…"""
    live = Live(caller)

    async def step(call: ChatRequest) -> Attempt:
        return await stream_call(call, caller, live)

    runner = ToolRunner(kit.by_name(), caller.limits, live.tool, caller.approver)
    try:
        outcome = await converse(request, step, runner, caller.clock, caller.record)
    finally:
        await live.coalescer.close()
    return Answered(outcome.attempt, outcome.exchange, uses(kit, outcome), live.lead)


def uses(kit: AnswerKit, outcome: LoopOutcome) -> dict[str, int]:
    """What the footer counts: server tool calls (from the blocks Claude sent) and the client
    tools that ask to be counted, by noun."""
    counts: Counter[str] = Counter()
    done = outcome.attempt.done
    messages = [*outcome.exchange, *([done.message] if done is not None else [])]
    for message in messages:
        for block in message.get("content") or []:
            if isinstance(block, dict) and block.get("type") == "server_tool_use":
                noun = SERVER_TOOL_NOUNS.get(str(block.get("name")))
                if noun:
                    counts[noun] += 1
    tools = kit.by_name()
    for name, n in outcome.tools_used.items():
        tool = tools.get(name)
        if tool is not None and tool.spec.counted_as:
            counts[tool.spec.counted_as] += n
    return dict(counts)
