"""The core's agent loop (bot/conversation/agent.py) with in-memory tools and a scripted model."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

from bot.conversation.agent import (
    LAST_ROUND_NOTE,
    Approval,
    Attempt,
    LoopLimits,
    NoApprover,
    ToolRunner,
    converse,
)
from bot.conversation.messages import (
    AnswerDone,
    ChatRequest,
    Container,
    StopReason,
    ToolActivity,
    ToolState,
    Usage,
)
from bot.conversation.tools import JsonObject, ToolOutput, ToolSpec

REQUEST = ChatRequest(
    model="m", system="s", messages=[{"role": "user", "content": "hi"}], max_tokens=100
)


def _done(*blocks: JsonObject, stop: StopReason = StopReason.END) -> Attempt:
    text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
    message = {"role": "assistant", "content": list(blocks)}
    return Attempt(text=text, done=AnswerDone(message, stop, Usage(), "m"))


def _call(call_id: str, name: str, **tool_input: Any) -> JsonObject:
    return {"type": "tool_use", "id": call_id, "name": name, "input": tool_input}


def _text(text: str) -> JsonObject:
    return {"type": "text", "text": text}


@dataclass
class Script:
    """A model that answers each call with the next scripted attempt, keeping the requests."""

    attempts: list[Attempt]
    requests: list[ChatRequest] = field(default_factory=list)

    async def __call__(self, request: ChatRequest) -> Attempt:
        self.requests.append(request)
        return self.attempts.pop(0)


@dataclass
class EchoTool:
    """A tool that answers with its input (optionally slowly, failing or huge)."""

    name: str = "echo"
    changes_things: bool = False
    delay: float = 0.0
    fail: bool = False
    size: int = 0
    gate: asyncio.Barrier | None = None
    runs: list[JsonObject] = field(default_factory=list)

    @property
    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, "echoes", {"type": "object"}, self.changes_things)

    def describe(self, tool_input: JsonObject) -> str:
        return f"Echoing {tool_input.get('say', '')}…"

    async def run(self, tool_input: JsonObject) -> ToolOutput:
        self.runs.append(tool_input)
        if self.gate is not None:
            await self.gate.wait()
        await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("provider bug")
        return ToolOutput.text("x" * self.size if self.size else f"echo: {tool_input.get('say')}")


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class Recorder:
    """Collects the tool calls reported (started, done, failed) and the finished model calls
    reported to the caller."""

    activities: list[ToolActivity] = field(default_factory=list)
    calls: list[AnswerDone] = field(default_factory=list)

    @property
    def progress(self) -> list[str]:
        return [a.text for a in self.activities if a.state is ToolState.STARTED]

    async def show(self, activity: ToolActivity) -> None:
        self.activities.append(activity)

    async def on_call(self, done: AnswerDone) -> None:
        self.calls.append(done)


def _runner(*tools: EchoTool, approver: Any = None, **limits: Any) -> tuple[ToolRunner, Recorder]:
    seen = Recorder()
    runner = ToolRunner(
        {t.name: t for t in tools}, LoopLimits(**limits), seen.show, approver or NoApprover()
    )
    return runner, seen


async def test_an_answer_without_tool_calls_is_one_call() -> None:
    """No tool_use: one model call, nothing to store besides the answer."""
    script = Script([_done(_text("hello"))])
    runner, seen = _runner(EchoTool())
    outcome = await converse(REQUEST, script, runner, Clock(), seen.on_call)
    assert outcome.attempt.text == "hello"
    assert outcome.exchange == []
    assert len(script.requests) == 1
    assert seen.calls == []


async def test_a_tool_round_appends_valid_pairs() -> None:
    """A tool_use is answered by one tool_result with its id in the next user message; the
    intermediate call is reported for its cost; progress says what runs."""
    tool = EchoTool()
    script = Script(
        [_done(_call("t1", "echo", say="a"), stop=StopReason.TOOL_USE), _done(_text("done"))]
    )
    runner, seen = _runner(tool)
    outcome = await converse(REQUEST, script, runner, Clock(), seen.on_call)
    assistant, user = outcome.exchange
    assert assistant["content"][0]["id"] == "t1"
    assert user["content"] == [{"type": "tool_result", "tool_use_id": "t1", "content": "echo: a"}]
    assert script.requests[1].messages[-2:] == outcome.exchange
    assert len(seen.calls) == 1
    assert seen.progress == ["Echoing a…"]
    assert [(a.tool_id, a.name, a.state) for a in seen.activities] == [
        ("t1", "echo", ToolState.STARTED),
        ("t1", "echo", ToolState.DONE),
    ]
    assert outcome.tools_used == {"echo": 1}


async def test_parallel_calls_run_concurrently_and_keep_their_order() -> None:
    """Two calls in one turn run at the same time (each waits for the other at a barrier) and
    their results come back in the calls' order."""
    gate = asyncio.Barrier(2)
    tools = (EchoTool("a", gate=gate), EchoTool("b", gate=gate))
    calls = (_call("1", "a", say="x"), _call("2", "b", say="y"))
    script = Script([_done(*calls, stop=StopReason.TOOL_USE), _done(_text("ok"))])
    runner, seen = _runner(*tools)
    async with asyncio.timeout(5):
        outcome = await converse(REQUEST, script, runner, Clock(), seen.on_call)
    ids = [block["tool_use_id"] for block in outcome.exchange[1]["content"]]
    assert ids == ["1", "2"]


async def test_a_hanging_failing_or_unknown_tool_is_an_error_result() -> None:
    """Timeout, an exception in the provider and an unknown name each become is_error results
    Claude can read; the answer goes on."""
    tools = (EchoTool("slow", delay=5), EchoTool("bad", fail=True))
    calls = (_call("1", "slow"), _call("2", "bad"), _call("3", "nope"))
    script = Script([_done(*calls, stop=StopReason.TOOL_USE), _done(_text("sorry"))])
    runner, seen = _runner(*tools, tool_timeout_seconds=0.05)
    outcome = await converse(REQUEST, script, runner, Clock(), seen.on_call)
    results = outcome.exchange[1]["content"]
    assert all(r["is_error"] for r in results)
    texts = [r["content"] for r in results]
    assert "did not answer within" in texts[0]
    assert "RuntimeError" in texts[1]
    assert "no tool named 'nope'" in texts[2]
    assert outcome.attempt.text == "sorry"
    ended = {a.tool_id: a.state for a in seen.activities if a.state is not ToolState.STARTED}
    assert ended == {"1": ToolState.FAILED, "2": ToolState.FAILED, "3": ToolState.FAILED}


async def test_a_huge_result_is_truncated_with_a_note() -> None:
    """A result over the cap is cut to it and says how much there was."""
    script = Script([_done(_call("1", "big"), stop=StopReason.TOOL_USE), _done(_text("ok"))])
    runner, seen = _runner(EchoTool("big", size=50_000), max_result_chars=1000)
    outcome = await converse(REQUEST, script, runner, Clock(), seen.on_call)
    content = outcome.exchange[1]["content"][0]["content"]
    assert len(content[0]["text"]) == 1000
    assert "truncated" in content[-1]["text"]
    assert "50,000" in content[-1]["text"]


async def test_the_round_cap_makes_claude_answer() -> None:
    """After the last allowed round the request refuses tools and says so; the loop ends."""
    script = Script(
        [
            _done(_call("1", "echo"), stop=StopReason.TOOL_USE),
            _done(_call("2", "echo"), stop=StopReason.TOOL_USE),
            _done(_text("final")),
        ]
    )
    runner, seen = _runner(EchoTool(), max_rounds=2)
    outcome = await converse(REQUEST, script, runner, Clock(), seen.on_call)
    assert outcome.rounds == 2
    assert script.requests[-1].tool_choice == "none"
    assert script.requests[-1].messages[-1]["content"][-1] == _text(LAST_ROUND_NOTE)
    assert outcome.attempt.text == "final"


async def test_the_wall_time_cap_makes_claude_answer() -> None:
    """Once the tool rounds have taken max_seconds, the round that follows is the last: the
    next request refuses tools."""
    clock = Clock()

    class Slow(EchoTool):
        async def run(self, tool_input: JsonObject) -> ToolOutput:
            clock.t += 100
            return ToolOutput.text("late")

    script = Script(
        [
            _done(_call("1", "echo"), stop=StopReason.TOOL_USE),
            _done(_call("2", "echo"), stop=StopReason.TOOL_USE),
            _done(_text("ok")),
        ]
    )
    runner, seen = _runner(Slow(), max_seconds=50, max_rounds=10)
    outcome = await converse(REQUEST, script, runner, clock, seen.on_call)
    assert [r.tool_choice for r in script.requests] == [None, None, "none"]
    assert outcome.rounds == 2


class Answers:
    """An approver with a fixed answer, keeping what it was asked."""

    def __init__(self, answer: Approval) -> None:
        self.answer = answer
        self.asked: list[str] = []

    async def approve(self, spec: ToolSpec, tool_input: JsonObject, description: str) -> Approval:
        self.asked.append(description)
        return self.answer


async def test_a_tool_that_changes_things_runs_only_when_approved() -> None:
    """Denied, expired or the asker unreachable: not run, and Claude is told; approved: run.
    Reading tools never ask."""
    answers = ((Approval.DENIED, 0), (Approval.EXPIRED, 0), (Approval.UNAVAILABLE, 0))
    for answer, runs in (*answers, (Approval.APPROVED, 1)):
        tool, reader = EchoTool("write", changes_things=True), EchoTool("read")
        calls = (_call("1", "write", say="w"), _call("2", "read"))
        script = Script([_done(*calls, stop=StopReason.TOOL_USE), _done(_text("ok"))])
        approver = Answers(answer)
        runner, seen = _runner(tool, reader, approver=approver)
        outcome = await converse(REQUEST, script, runner, Clock(), seen.on_call)
        assert len(tool.runs) == runs
        assert len(reader.runs) == 1
        assert approver.asked == ["Echoing w…"]
        assert outcome.exchange[1]["content"][0].get("is_error", False) is (runs == 0)


async def test_pause_turn_is_continued_and_stored_as_one_message() -> None:
    """A paused server-tool turn is sent back as-is; the continuation's blocks join it in one
    assistant message; the paused call is reported for its cost."""
    search = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}
    found = {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}
    script = Script([_done(search, stop=StopReason.PAUSE_TURN), _done(found, _text("answer"))])
    runner, seen = _runner()
    outcome = await converse(REQUEST, script, runner, Clock(), seen.on_call)
    assert script.requests[1].messages[-1] == {"role": "assistant", "content": [search]}
    assert outcome.attempt.done is not None
    assert outcome.attempt.done.message["content"] == [search, found, _text("answer")]
    assert len(seen.calls) == 1
    assert outcome.exchange == []


def _in(attempt: Attempt, container: str | None) -> Attempt:
    """The attempt's call reporting this code execution container (None: none reported)."""
    assert attempt.done is not None
    found = None if container is None else Container(container, 2e9)
    attempt.done = replace(attempt.done, container=found)
    return attempt


async def test_every_call_of_an_answer_runs_code_in_the_same_container() -> None:
    """The container a call reports is sent with the next call of the same answer (a pause
    continuation, a call after a tool round); the final result names the latest container even
    when the last call reported none."""
    run = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "bash_code_execution"}
    script = Script(
        [
            _in(_done({**run, "input": {}}, stop=StopReason.PAUSE_TURN), "container_a"),
            _in(_done(_call("t1", "echo", say="a"), stop=StopReason.TOOL_USE), "container_a"),
            _in(_done(_text("done")), None),
        ]
    )
    runner, seen = _runner(EchoTool())
    outcome = await converse(REQUEST, script, runner, Clock(), seen.on_call)
    assert [r.container for r in script.requests] == [None, "container_a", "container_a"]
    assert outcome.attempt.done is not None
    assert outcome.attempt.done.container == Container("container_a", 2e9)
