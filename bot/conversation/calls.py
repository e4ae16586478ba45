"""One answer's model calls: each streamed through the coalescer into the reply sink, run by
the agent loop over the answer's kit (tool rounds shown as statuses), and what tools it used."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.conversation.agent import Approver, Attempt, LoopLimits, LoopOutcome, ToolRunner, converse
from bot.conversation.code import status
from bot.conversation.display import SERVER_TOOL_NOUNS, live_text, thinking_status
from bot.conversation.errors import ChatFailure
from bot.conversation.kit import AnswerKit
from bot.conversation.messages import (
    AnswerDone,
    ChatMessage,
    ChatRequest,
    TextDelta,
    ThinkingDelta,
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
    """The answer's last call, the tool rounds before it, and the tools it used (by noun)."""

    attempt: Attempt
    exchange: list[ChatMessage]
    used: dict[str, int]


async def stream_call(request: ChatRequest, caller: Caller) -> Attempt:
    """One streamed model call shown through the coalescer."""
    coalescer = Coalescer(caller.sink.show, caller.clock, caller.edit_policy)
    attempt = Attempt()
    try:
        async with contextlib.aclosing(caller.model.stream(request)) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    attempt.text += event.text
                elif isinstance(event, ThinkingDelta):
                    attempt.thinking += event.text
                else:
                    attempt.done = event
                    continue
                shown_status = thinking_status(caller.clock.now() - caller.started)
                shown = live_text(
                    attempt.text, attempt.thinking, shown_status, caller.show_thinking
                )
                await coalescer.push(shown)
    except ChatFailure as failure:
        attempt.failure = failure
    await coalescer.close()
    return attempt


async def answer_calls(request: ChatRequest, caller: Caller, kit: AnswerKit) -> Answered:
    """The agent loop over the kit's tools: model call, tool rounds, model call…"""

    async def step(call: ChatRequest) -> Attempt:
        return await stream_call(call, caller)

    async def progress(text: str) -> None:
        await caller.sink.show(status(text))

    runner = ToolRunner(kit.by_name(), caller.limits, progress, caller.approver)
    outcome = await converse(request, step, runner, caller.clock, caller.record)
    return Answered(outcome.attempt, outcome.exchange, uses(kit, outcome))


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
