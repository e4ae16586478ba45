"""The agent loop: model call → client tool calls → results → model call, bounded.

Claude's `tool_use` calls are run through the `Tool`s the providers offered for this answer,
concurrently, each with a timeout and a size cap; a tool that changes things first asks the
asker (`Approver`). Server tools run at Anthropic: their `server_tool_use` and result blocks are
kept exactly as returned, and a `pause_turn` is continued by sending the paused turn back. Every
call of one answer runs code in the same container (the one the previous call reported).

The history stays valid for the API: every assistant message with `tool_use` blocks is followed by
one user message holding a `tool_result` for each, in Claude's order; a paused turn and its
continuation are stored as one assistant message.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import structlog

from bot.conversation.display import joined
from bot.conversation.errors import ChatFailure
from bot.conversation.messages import (
    AnswerDone,
    ChatMessage,
    ChatRequest,
    Container,
    Question,
    StopReason,
    ToolActivity,
    ToolState,
)
from bot.conversation.ports import Clock
from bot.conversation.tools import JsonObject, Tool, ToolOutput, ToolSpec

log = structlog.get_logger("bot.agent")

LAST_ROUND_NOTE = "(That was the last tool call this answer may make: answer now.)"
TRUNCATED_NOTE = "\n\n[… truncated: the result had {total:,} characters; {kept:,} are shown.]"
MAX_PAUSES = 5  # pause_turn continuations of one call (the API pauses long server-tool turns)


@dataclass
class Attempt:
    """One model call's result: the text shown so far, and how it ended."""

    text: str = ""
    thinking: str = ""
    done: AnswerDone | None = None
    failure: ChatFailure | None = None


@dataclass(frozen=True)
class LoopLimits:
    """How far one answer's tool use may go."""

    max_rounds: int = 8  # tool rounds; after the last, Claude must answer (tool_choice none)
    max_seconds: float = 300.0  # wall time of the tool rounds; past it, the same
    tool_timeout_seconds: float = 60.0
    max_result_chars: int = 100_000


class Approval(StrEnum):
    """What the asker said to a tool that changes things."""

    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    UNAVAILABLE = "unavailable"  # the asker could not be asked (a fault on the bot's side)


class Approver(Protocol):
    """Asks the person who asked before a tool that changes things runs."""

    async def approve(self, spec: ToolSpec, tool_input: JsonObject, description: str) -> Approval:
        """Their answer (EXPIRED when nobody answered in time)."""
        ...


class NoApprover:
    """Where nobody can be asked: tools that change things are refused."""

    async def approve(self, spec: ToolSpec, tool_input: JsonObject, description: str) -> Approval:
        """Always DENIED."""
        return Approval.DENIED


class Approvals(Protocol):
    """Where approvers come from: one per answer, asking that answer's asker in its thread."""

    def for_question(self, question: Question, status: Progress) -> Approver:
        """The approver of this question's answer; `status` shows a line in the answer (e.g.
        "Waiting for your approval…") while it waits."""
        ...


class NoApprovals:
    """Nobody to ask: tools that change things are refused."""

    def for_question(self, question: Question, status: Progress) -> Approver:
        """Always the refusing approver."""
        return NoApprover()


REFUSALS = {
    Approval.DENIED: "The user did not approve this call, so it was not made. Do not retry it; "
    "tell them what it would have done.",
    Approval.EXPIRED: "Nobody approved this call in time, so it was not made. Tell the user how "
    "to ask again if they still want it.",
    Approval.UNAVAILABLE: "I could not ask the user to approve this call (a fault on my side), "
    "so it was not made. Tell them, and that they can ask again.",
}

Step = Callable[[ChatRequest], Awaitable[Attempt]]
Progress = Callable[[str], Awaitable[None]]  # a status line shown in the answer
Report = Callable[[ToolActivity], Awaitable[None]]  # a client tool call started or ended
CallDone = Callable[[AnswerDone], Awaitable[None]]


@dataclass
class LoopOutcome:
    """The last model call, and the tool rounds before it (to store with the turn)."""

    attempt: Attempt
    exchange: list[ChatMessage] = field(default_factory=list)
    tools_used: Counter[str] = field(default_factory=Counter)  # tool name -> calls run
    rounds: int = 0


def tool_calls(message: ChatMessage) -> list[JsonObject]:
    """The client tool_use blocks of an assistant message."""
    return [b for b in message.get("content") or [] if b.get("type") == "tool_use"]


def storable(done: AnswerDone) -> ChatMessage:
    """The assistant message as stored: never empty, tagged with the model that wrote it
    (thinking blocks are only valid for that model; the request builder strips the tag)."""
    content = done.message.get("content") or [{"type": "text", "text": "(no answer)"}]
    return {"role": "assistant", "content": content, "model": done.model}


def truncated(output: ToolOutput, limit: int) -> ToolOutput:
    """The output with its text cut to `limit` characters in all, and a note saying so."""
    total = sum(len(b.get("text", "")) for b in output.content if b.get("type") == "text")
    if total <= limit:
        return output
    left, blocks = limit, []
    for block in output.content:
        if block.get("type") != "text":
            blocks.append(block)
            continue
        text = block.get("text", "")
        kept, left = text[: max(left, 0)], left - len(text)
        if kept:
            blocks.append({**block, "text": kept})
    note = TRUNCATED_NOTE.format(total=total, kept=limit)
    return ToolOutput((*blocks, {"type": "text", "text": note}), output.is_error)


def result_block(call: JsonObject, output: ToolOutput) -> JsonObject:
    """The tool_result answering one call (a single text block is sent as a plain string)."""
    blocks = list(output.content) or [{"type": "text", "text": "(no output)"}]
    single = len(blocks) == 1 and blocks[0].get("type") == "text"
    content: str | list[JsonObject] = blocks[0]["text"] if single else blocks
    block: JsonObject = {"type": "tool_result", "tool_use_id": call["id"], "content": content}
    if output.is_error:
        block["is_error"] = True
    return block


@dataclass
class ToolRunner:
    """Runs one round of calls: approval, timeout, size cap; a failure is a result, never raised."""

    tools: Mapping[str, Tool]
    limits: LoopLimits
    report: Report
    approver: Approver

    async def round(self, calls: Sequence[JsonObject]) -> list[JsonObject]:
        """One tool_result per call, in the calls' order, the calls run concurrently; each
        call is reported when it starts and when it is done (failed: an error result)."""
        described = [self._describe(call) for call in calls]
        for call, text in zip(calls, described, strict=True):
            await self.report(_activity(call, ToolState.STARTED, text))
        outputs = await asyncio.gather(
            *(self._reported(call, text) for call, text in zip(calls, described, strict=True))
        )
        return [result_block(call, out) for call, out in zip(calls, outputs, strict=True)]

    async def _reported(self, call: JsonObject, description: str) -> ToolOutput:
        output = await self._run(call, description)
        state = ToolState.FAILED if output.is_error else ToolState.DONE
        await self.report(_activity(call, state, description))
        return output

    def _describe(self, call: JsonObject) -> str:
        tool = self.tools.get(str(call.get("name")))
        if tool is None:
            return f"Calling {call.get('name')}…"
        return tool.describe(_input_of(call))

    async def _run(self, call: JsonObject, description: str) -> ToolOutput:
        name = str(call.get("name"))
        tool = self.tools.get(name)
        if tool is None:
            return ToolOutput.error(f"There is no tool named {name!r} in this conversation.")
        tool_input = _input_of(call)
        if tool.spec.changes_things:
            approval = await self.approver.approve(tool.spec, tool_input, description)
            log.info("agent.approval", tool=name, approval=approval.value)
            if approval is not Approval.APPROVED:
                return ToolOutput.error(REFUSALS[approval])
        try:
            async with asyncio.timeout(self.limits.tool_timeout_seconds):
                output = await tool.run(tool_input)
        except TimeoutError:
            seconds = self.limits.tool_timeout_seconds
            log.warning("agent.tool_timeout", tool=name, seconds=seconds)
            return ToolOutput.error(f"The tool did not answer within {seconds:g} seconds.")
        except Exception as exc:  # a provider's bug must not end the answer
            log.warning("agent.tool_failed", tool=name, error=type(exc).__name__)
            return ToolOutput.error(f"The tool failed ({type(exc).__name__}).")
        log.info("agent.tool", tool=name, error=output.is_error)
        return truncated(output, self.limits.max_result_chars)


def _activity(call: JsonObject, state: ToolState, text: str) -> ToolActivity:
    return ToolActivity(str(call.get("id") or ""), str(call.get("name") or ""), state, text)


def _input_of(call: JsonObject) -> JsonObject:
    tool_input = call.get("input")
    return tool_input if isinstance(tool_input, dict) else {}


def after_round(request: ChatRequest, exchange: list[ChatMessage], last: bool) -> ChatRequest:
    """The request after a tool round: the round appended; tools refused after the last."""
    return dataclasses.replace(
        request,
        messages=[*request.messages, *exchange[-2:]],
        tool_choice="none" if last else request.tool_choice,
    )


def _last_round(results: list[JsonObject]) -> list[JsonObject]:
    return [*results, {"type": "text", "text": LAST_ROUND_NOTE}]


async def _call(request: ChatRequest, step: Step, on_call: CallDone) -> Attempt:
    """One model call; a paused turn is sent back as-is until Claude finishes it, and the parts
    come back as one message (each paused call is still reported to on_call, for its cost)."""
    attempt = await step(request)
    paused: list[JsonObject] = []
    pauses = 0
    container: Container | None = None
    while attempt.done is not None and attempt.done.stop_reason is StopReason.PAUSE_TURN:
        pauses += 1
        if pauses > MAX_PAUSES:
            break
        await on_call(attempt.done)
        container = attempt.done.container or container
        request = with_container(request, attempt.done)
        paused += list(attempt.done.message.get("content") or [])
        partial: ChatMessage = {"role": "assistant", "content": list(paused)}
        text, thinking = attempt.text, attempt.thinking
        attempt = await step(dataclasses.replace(request, messages=[*request.messages, partial]))
        attempt.text, attempt.thinking = joined(text, attempt.text), thinking + attempt.thinking
    if paused and attempt.done is not None:
        content = [*paused, *(attempt.done.message.get("content") or [])]
        message = {**attempt.done.message, "content": content}
        attempt.done = dataclasses.replace(attempt.done, message=message)
    attempt.done = latest_container(attempt.done, container)
    return attempt


def with_container(request: ChatRequest, done: AnswerDone) -> ChatRequest:
    """The next call of the same answer runs code in the container the last one used (its files
    and state stay)."""
    if done.container is None or done.container.id == request.container:
        return request
    return dataclasses.replace(request, container=done.container.id)


def latest_container(done: AnswerDone | None, earlier: Container | None) -> AnswerDone | None:
    """The call's result naming the answer's latest container (an earlier call's when this one
    reported none)."""
    if done is None or done.container is not None or earlier is None:
        return done
    return dataclasses.replace(done, container=earlier)


async def converse(
    request: ChatRequest,
    step: Step,
    runner: ToolRunner,
    clock: Clock,
    on_call: CallDone,
) -> LoopOutcome:
    """Call the model; while it asks for client tools, run them and call it again.

    `on_call` sees every finished call but the last (the caller records the last itself)."""
    started = clock.now()
    outcome = LoopOutcome(await _call(request, step, on_call))
    while (done := outcome.attempt.done) is not None:
        calls = tool_calls(done.message)
        if not calls or request.tool_choice == "none":
            break
        await on_call(done)
        outcome.rounds += 1
        last = (
            outcome.rounds >= runner.limits.max_rounds
            or clock.now() - started >= runner.limits.max_seconds
        )
        results = await runner.round(calls)
        outcome.tools_used.update(str(call.get("name")) for call in calls)
        user: ChatMessage = {"role": "user", "content": _last_round(results) if last else results}
        outcome.exchange += [storable(done), user]
        request = with_container(after_round(request, outcome.exchange, last), done)
        outcome.attempt = await _call(request, step, on_call)
        outcome.attempt.done = latest_container(outcome.attempt.done, done.container)
    return outcome


def without_tool_calls(message: ChatMessage) -> ChatMessage:
    """An assistant message stripped of client tool_use blocks (a final answer must not ask for
    tools whose results will never be stored)."""
    content = [b for b in message.get("content") or [] if b.get("type") != "tool_use"]
    return {**message, "content": content or [{"type": "text", "text": "(no answer)"}]}


__all__ = [
    "Approval",
    "Approver",
    "Attempt",
    "LoopLimits",
    "LoopOutcome",
    "NoApprover",
    "ToolRunner",
    "converse",
    "storable",
    "tool_calls",
    "without_tool_calls",
]
