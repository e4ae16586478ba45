"""Code threads in the core: repository context, the bounded tool loop, stored history, citations;
and the request builder's 1-hour breakpoint for the repository."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.claude.catalog import CATALOG
from bot.claude.request import build_messages_call, count_breakpoints
from bot.conversation.errors import CodeUnavailable
from bot.conversation.messages import (
    AnswerDone,
    AnswerEvent,
    ChatMessage,
    ChatRequest,
    StopReason,
    TextDelta,
    ThreadKey,
    ThreadState,
    Usage,
)
from bot.conversation.ports import Progress
from bot.conversation.turn import answer_question
from tests.unit.test_turn import KEY, MemoryStore, RecordingSink, _deps, _question

SONNET = CATALOG["claude-sonnet-5-5"]


@dataclass
class CodeStore(MemoryStore):
    """MemoryStore that also keeps tool rounds and the code meta."""

    async def append_turn(  # type: ignore[override]
        self,
        key: ThreadKey,
        user: ChatMessage,
        assistant: ChatMessage,
        *,
        last_seen_ts: str,
        between: Sequence[ChatMessage] = (),
    ) -> None:
        state = self.threads.setdefault(key, ThreadState())
        state.history += [user, *between, assistant]
        state.last_seen_ts = last_seen_ts

    async def load(self, key: ThreadKey) -> ThreadState:
        state = self.threads.get(key, ThreadState())
        return replace(state, history=list(state.history))

    async def set_code(self, key: ThreadKey, repo: str, commit: str) -> None:
        state = self.threads.setdefault(key, ThreadState())
        state.mode, state.repo, state.commit = "code", repo, commit


@dataclass
class FakeWorkspace:
    """A workspace with one tool and a citation rule: `ok.py:L1` is valid, others flagged."""

    repo: str = "demo"
    commit: str = "c" * 40
    max_tool_rounds: int = 3
    with_tools: bool = True
    ran: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"`{self.repo}` at `{self.commit[:10]}`"

    @property
    def system_blocks(self) -> tuple[str, ...]:
        return ("instructions", "<repository_map>…</repository_map>")

    @property
    def tools(self) -> tuple[ChatMessage, ...]:
        schema = {"type": "object", "properties": {}}
        return ({"name": "search_code", "input_schema": schema},) if self.with_tools else ()

    async def excerpts(self, question: str) -> str:
        return f"<excerpts for={question!r}/>"

    def describe(self, name: str, tool_input: dict[str, Any]) -> str:
        return f"Searching for `{tool_input.get('pattern')}`…"

    async def run_tool(self, name: str, tool_input: dict[str, Any]) -> tuple[str, bool]:
        self.ran.append((name, tool_input))
        return "ok.py:1: found", False

    def cite(self, text: str) -> str:
        return text.replace("ok.py:L1", "[ok.py:L1](https://x/ok.py#L1)")


@dataclass
class FakeRepos:
    """Opens FakeWorkspace, or fails with a message."""

    workspace: FakeWorkspace = field(default_factory=FakeWorkspace)
    failure: str | None = None
    opened: list[tuple[str, str | None]] = field(default_factory=list)

    async def open(self, repo: str, commit: str | None, progress: Progress) -> FakeWorkspace:
        self.opened.append((repo, commit))
        await progress(f"Fetching `{repo}`…")
        if self.failure:
            raise CodeUnavailable(self.failure)
        return self.workspace


@dataclass
class ToolModel:
    """Calls search_code `calls` times, then answers with text."""

    calls: int
    answer: str = "It is in ok.py:L1."
    requests: list[ChatRequest] = field(default_factory=list)

    async def stream(self, request: ChatRequest) -> AsyncGenerator[AnswerEvent, None]:
        self.requests.append(request)
        await asyncio.sleep(0)
        n = len(self.requests)
        if n <= self.calls:
            block = {"type": "tool_use", "id": f"toolu_{n}", "name": "search_code",
                     "input": {"pattern": f"p{n}"}}  # fmt: skip
            message = {"role": "assistant", "content": [block]}
            yield AnswerDone(message, StopReason.TOOL_USE, Usage(10, 5), request.model)
            return
        yield TextDelta(self.answer)
        message = {"role": "assistant", "content": [{"type": "text", "text": self.answer}]}
        yield AnswerDone(message, StopReason.END, Usage(10, 5), request.model)


def _code_question(text: str = "where?") -> Any:
    return replace(_question(text), code_repo="demo", feature="ask-code")


async def test_tool_loop_stores_valid_pairs_and_cites() -> None:
    """Two tool rounds: each tool_use gets its tool_result; the stored history is the whole
    exchange; the final text links citations and names the commit."""
    store, sink, repos = CodeStore(), RecordingSink(), FakeRepos()
    model = ToolModel(calls=2)
    deps = replace(_deps(model, store), code=repos)  # type: ignore[arg-type]
    outcome = await answer_question(_code_question(), "A", sink, deps)
    assert outcome.answered
    first = model.requests[0]
    assert first.long_lived_system == ("instructions", "<repository_map>…</repository_map>")
    assert [t["name"] for t in first.tools] == ["search_code"]
    assert first.messages[-1]["content"][0]["text"] == "<excerpts for='where?'/>"
    third = model.requests[2].messages
    assert third[-1]["content"][0] == {
        "type": "tool_result", "tool_use_id": "toolu_2", "content": "ok.py:1: found"
    }  # fmt: skip
    history = store.threads[KEY].history
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant", "user",
                                            "assistant"]  # fmt: skip
    assert history[1]["content"][0]["id"] == history[2]["content"][0]["tool_use_id"]
    assert ("show", "_Searching for `p1`…_") in sink.events
    assert ("show", "_Fetching `demo`…_") in sink.events
    final = sink.events[-1][1]
    assert final.startswith("It is in [ok.py:L1](https://x/ok.py#L1).\n\n_Read from `demo` at")
    state = store.threads[KEY]
    assert (state.mode, state.repo, state.commit) == ("code", "demo", "c" * 40)


async def test_tool_loop_is_bounded() -> None:
    """A model that keeps calling tools gets tool_choice none after the last round, and its
    stray tool_use is not stored (every stored tool_use has a result)."""
    store, sink, repos = CodeStore(), RecordingSink(), FakeRepos()
    model = ToolModel(calls=99)
    deps = replace(_deps(model, store), code=repos)  # type: ignore[arg-type]
    await answer_question(_code_question(), "A", sink, deps)
    assert len(model.requests) == 4  # 3 rounds, then the answer-now call
    assert [r.tool_choice for r in model.requests] == [None, None, None, "none"]
    last_results = model.requests[-1].messages[-1]["content"]
    assert last_results[-1]["type"] == "text"
    assert "answer now" in last_results[-1]["text"]
    history = store.threads[KEY].history
    uses = [b["id"] for m in history for b in m["content"] if b.get("type") == "tool_use"]
    results = [b["tool_use_id"] for m in history for b in m["content"]
               if b.get("type") == "tool_result"]  # fmt: skip
    assert uses == results == ["toolu_1", "toolu_2", "toolu_3"]


async def test_follow_up_keeps_the_repository_and_commit() -> None:
    """A mention in a code thread opens the same repository at the thread's commit."""
    store, repos = CodeStore(), FakeRepos(workspace=FakeWorkspace(with_tools=False))
    model = ToolModel(calls=0, answer="one")
    deps = replace(_deps(model, store), code=repos)  # type: ignore[arg-type]
    await answer_question(_code_question(), "A", RecordingSink(), deps)
    await answer_question(_question("and?", "2.0"), "A", RecordingSink(), deps)
    assert repos.opened == [("demo", None), ("demo", "c" * 40)]
    assert model.requests[1].long_lived_system == model.requests[0].long_lived_system
    assert model.requests[1].tools == ()


async def test_unavailable_repository_is_explained() -> None:
    """CodeUnavailable becomes the final message; Claude is not called."""
    sink, model = RecordingSink(), ToolModel(calls=0)
    repos = FakeRepos(failure="I couldn't fetch `demo` (fatal: nope).")
    deps = replace(_deps(model, CodeStore()), code=repos)  # type: ignore[arg-type]
    outcome = await answer_question(_code_question(), "A", sink, deps)
    assert not outcome.answered
    assert sink.events[-1] == ("finish", ":warning: I couldn't fetch `demo` (fatal: nope).")
    assert model.requests == []


async def test_code_question_without_the_feature_says_so() -> None:
    """Without CodeRepos wired in, an /ask-code question says it is not set up."""
    sink = RecordingSink()
    deps = _deps(ToolModel(calls=0), CodeStore())  # type: ignore[arg-type]
    await answer_question(_code_question(), "A", sink, deps)
    assert "not set up" in sink.events[-1][1]


def _code_call(history: list[ChatMessage], blocks: tuple[str, ...]) -> dict[str, Any]:
    request = ChatRequest(
        model=SONNET.model_id,
        system="Be brief. " * 100,
        messages=history,
        max_tokens=1000,
        long_lived_system=blocks,
        tools=({"name": "search_code", "input_schema": {"type": "object"}},),
    )
    return build_messages_call(request, SONNET)


def test_repository_block_gets_the_one_hour_breakpoint_first() -> None:
    """The last repository block carries ttl 1h; the system prompt none; message breakpoints
    (5 minutes) come after it; at most four in all; tools are sent."""
    repo = ("instructions", "x" * 40_000)
    history: list[ChatMessage] = [
        {"role": "user", "content": [{"type": "text", "text": "q1"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "a1"}]},
        {"role": "user", "content": [{"type": "text", "text": "q2"}]},
    ]
    call = _code_call(history, repo)
    assert [b.get("cache_control") for b in call["system"]] == [
        None, None, {"type": "ephemeral", "ttl": "1h"}
    ]  # fmt: skip
    assert call["system"][2]["text"] == repo[1]
    assert call["tools"][0]["name"] == "search_code"
    assert call["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert count_breakpoints(call) == 3
    assert _code_call(history, repo)["system"] == call["system"], "byte-stable"
