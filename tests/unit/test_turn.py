"""The core use case with in-memory ports: streaming, storing, failing visibly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field

import pytest

from bot.conversation.display import CUT_NOTICE, HELLO_HINT
from bot.conversation.errors import ChatFailure, FailureKind, ReplyUnavailable
from bot.conversation.messages import (
    AnswerDone,
    AnswerEvent,
    Attachments,
    ChatMessage,
    ChatRequest,
    ContextMessage,
    FileRef,
    Question,
    StopReason,
    TextDelta,
    ThreadKey,
    ThreadState,
    ToolActivity,
    Usage,
)
from bot.conversation.throttle import EditPolicy
from bot.conversation.turn import THINKING, TurnDeps, TurnSettings, answer_question

KEY = ThreadKey("T1", "C1", "1.0")


@dataclass
class MemoryStore:
    threads: dict[ThreadKey, ThreadState] = field(default_factory=dict)

    async def load(self, key: ThreadKey) -> ThreadState:
        state = self.threads.get(key, ThreadState())
        return ThreadState(list(state.history), state.last_seen_ts, state.tier)

    async def append_turn(
        self, key: ThreadKey, user: ChatMessage, assistant: ChatMessage, *, last_seen_ts: str
    ) -> None:
        state = self.threads.setdefault(key, ThreadState())
        state.history += [user, assistant]
        state.last_seen_ts = last_seen_ts

    async def set_tier(self, key: ThreadKey, tier: str) -> None:
        self.threads.setdefault(key, ThreadState()).tier = tier


@dataclass
class ScriptedModel:
    deltas: list[str]
    stop: StopReason = StopReason.END
    failure: ChatFailure | None = None
    requests: list[ChatRequest] = field(default_factory=list)

    async def stream(self, request: ChatRequest) -> AsyncGenerator[AnswerEvent, None]:
        self.requests.append(request)
        for delta in self.deltas:
            yield TextDelta(delta)
            await asyncio.sleep(0)  # a real stream waits on the network between deltas
        if self.failure:
            raise self.failure
        text = "".join(self.deltas)
        yield AnswerDone(
            {"role": "assistant", "content": [{"type": "text", "text": text}] if text else []},
            self.stop,
            Usage(10, 5),
            request.model,
        )


@dataclass
class RecordingSink:
    events: list[tuple[str, str]] = field(default_factory=list)
    unavailable: bool = False

    async def start(self, status: str) -> None:
        if self.unavailable:
            raise ReplyUnavailable("not_in_channel")
        self.events.append(("start", status))

    async def show(self, text: str) -> float:
        self.events.append(("show", text))
        return 0.0

    @property
    def shown(self) -> str:
        return self.events[-1][1] if self.events else ""

    async def finish(self, text: str) -> None:
        self.events.append(("finish", text))

    async def activity(self, activity: ToolActivity, text: str) -> bool:
        return False  # no display of its own: tool calls come as status lines


@dataclass
class StaticReader:
    messages: list[ContextMessage] = field(default_factory=list)
    calls: list[tuple[str | None, str]] = field(default_factory=list)

    async def messages_between(
        self, key: ThreadKey, after_ts: str | None, before_ts: str
    ) -> list[ContextMessage]:
        self.calls.append((after_ts, before_ts))
        return self.messages


class InstantClock:
    def now(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


@dataclass
class StaticFiles:
    """An AttachmentReader answering with fixed attachments, recording what it was asked."""

    attachments: Attachments = field(default_factory=Attachments)
    calls: list[tuple[tuple[FileRef, ...], str]] = field(default_factory=list)

    async def read(self, files: Sequence[FileRef], model_id: str) -> Attachments:
        self.calls.append((tuple(files), model_id))
        return self.attachments


def _deps(
    model: ScriptedModel,
    store: MemoryStore,
    reader: StaticReader | None = None,
    files: StaticFiles | None = None,
) -> TurnDeps:
    return TurnDeps(
        store=store,
        model=model,
        reader=reader or StaticReader(),
        attachments=files or StaticFiles(),
        clock=InstantClock(),
        settings=TurnSettings(
            system_prompt="sys",
            max_tokens=100,
            models_by_tier={"haiku": "h", "sonnet": "s", "opus": "o"},
            model_variables={"s": "CLAUDE_MODEL_SONNET"},
            edit_policy=EditPolicy("time", interval=0.0),
            thinking_by_tier={"haiku": None, "sonnet": None, "opus": "high"},
            display_names={"haiku": "Haiku X", "sonnet": "Sonnet X", "opus": "Opus X"},
        ),
    )


def _question(text: str = "hi", ts: str = "1.0") -> Question:
    return Question(KEY, "U1", text, ts, is_direct_message=False, reply_thread_ts="1.0")


async def test_answer_streams_then_stores_the_turn() -> None:
    """Placeholder first, interim text, final text; the turn is stored with last_seen_ts."""
    store, model, sink = MemoryStore(), ScriptedModel(["Hel", "lo"]), RecordingSink()
    outcome = await answer_question(_question(), "Ana (<@U1>)", sink, _deps(model, store))
    assert outcome.answered
    assert sink.events[0] == ("start", THINKING)
    assert sink.events[-1][1].startswith("Hello\n\n_s · ")
    assert any(kind == "show" for kind, _ in sink.events)
    state = store.threads[KEY]
    assert [m["role"] for m in state.history] == ["user", "assistant"]
    assert state.history[0]["content"][0]["text"] == "[Ana (<@U1>)]: hi"
    assert state.last_seen_ts == "1.0"
    assert model.requests[0].model == "s"


async def test_follow_up_sends_the_history_and_other_peoples_messages() -> None:
    """The second turn carries the first, plus attributed context since the last turn."""
    store, sink = MemoryStore(), RecordingSink()
    await answer_question(_question(), "A", sink, _deps(ScriptedModel(["one"]), store))
    reader = StaticReader([ContextMessage("1.5", "Bo (<@U2>)", "my idea: X")])
    model = ScriptedModel(["two"])
    await answer_question(_question("thoughts?", "2.0"), "A", sink, _deps(model, store, reader))
    sent = model.requests[0].messages
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert "[Bo (<@U2>)]: my idea: X" in sent[-1]["content"][0]["text"]
    assert reader.calls == [("1.0", "2.0")]


async def test_cut_answer_says_so() -> None:
    """An answer stopped by max_tokens ends with a notice."""
    sink = RecordingSink()
    model = ScriptedModel(["partial"], stop=StopReason.MAX_TOKENS)
    await answer_question(_question(), "A", sink, _deps(model, MemoryStore()))
    assert sink.events[-1][1].startswith(f"partial\n\n{CUT_NOTICE}\n\n_s · ")


async def test_failure_keeps_partial_text_and_stores_nothing() -> None:
    """A mid-stream failure shows what streamed plus a notice; no half turn is stored."""
    store, sink = MemoryStore(), RecordingSink()
    model = ScriptedModel(["so far"], failure=ChatFailure(FailureKind.INTERRUPTED))
    outcome = await answer_question(_question(), "A", sink, _deps(model, store))
    assert outcome.failure is FailureKind.INTERRUPTED
    final = sink.events[-1][1]
    assert final.startswith("so far\n\n:warning: The answer was interrupted")
    assert KEY not in store.threads


async def test_model_not_found_names_the_model_and_variable() -> None:
    """A 404 on the model tells which id and which setting to fix."""
    sink = RecordingSink()
    model = ScriptedModel([], failure=ChatFailure(FailureKind.MODEL_NOT_FOUND, model="s"))
    await answer_question(_question(), "A", sink, _deps(model, MemoryStore()))
    assert "`s`" in sink.events[-1][1]
    assert "CLAUDE_MODEL_SONNET" in sink.events[-1][1]


async def test_empty_mention_without_context_gets_a_hint_and_no_model_call() -> None:
    """'@bot' alone in a new thread gets a friendly hint; Claude is not called."""
    sink, model = RecordingSink(), ScriptedModel(["x"])
    await answer_question(_question("  "), "A", sink, _deps(model, MemoryStore()))
    assert sink.events[-1] == ("finish", HELLO_HINT)
    assert model.requests == []


async def test_unreachable_channel_ends_quietly() -> None:
    """When the placeholder can't be posted, nothing else is attempted."""
    model = ScriptedModel(["x"])
    outcome = await answer_question(
        _question(), "A", RecordingSink(unavailable=True), _deps(model, MemoryStore())
    )
    assert not outcome.answered
    assert model.requests == []


async def test_footer_names_the_model_and_is_not_stored() -> None:
    """The final message ends with a footer naming the model; the stored answer has no footer."""
    store, sink = MemoryStore(), RecordingSink()
    await answer_question(_question(), "A", sink, _deps(ScriptedModel(["Hi"]), store))
    assert sink.events[-1][1].startswith("Hi\n\n_s · ")
    assert store.threads[KEY].history[1]["content"] == [{"type": "text", "text": "Hi"}]


async def test_switch_message_changes_the_tier_without_calling_the_model() -> None:
    """ "switch to opus" sets the thread's tier and says so; the next turn uses Opus."""
    store, sink = MemoryStore(), RecordingSink()
    model = ScriptedModel(["x"])
    await answer_question(_question("switch to opus"), "A", sink, _deps(model, store))
    assert model.requests == []
    assert "Opus" in sink.events[-1][1]
    await answer_question(_question("now answer", "2.0"), "A", sink, _deps(model, store))
    assert model.requests[0].model == "o"
    assert model.requests[0].thinking_effort == "high"


@dataclass
class OverloadedThen(ScriptedModel):
    overloaded_models: tuple[str, ...] = ()

    async def stream(self, request: ChatRequest) -> AsyncGenerator[AnswerEvent, None]:
        if request.model in self.overloaded_models:
            self.requests.append(request)
            raise ChatFailure(FailureKind.OVERLOADED, model=request.model)
        async for event in super().stream(request):
            yield event


async def test_overloaded_opus_falls_back_to_sonnet_and_says_so() -> None:
    """Opus overloaded before any text: Sonnet answers, and the footer tells the user."""
    store, sink = MemoryStore(), RecordingSink()
    model = OverloadedThen(["From Sonnet"], overloaded_models=("o",))
    outcome = await answer_question(_question(), "A", sink, _deps(model, store), tier="opus")
    assert [r.model for r in model.requests] == ["o", "s"]
    assert outcome.tier == "sonnet"
    assert "Opus was overloaded — answered by" in sink.events[-1][1]
    assert store.threads[KEY].tier == "opus", "the thread keeps the tier the user chose"


async def test_every_tier_overloaded_ends_with_the_overloaded_message() -> None:
    """When the whole chain is overloaded, the user gets the overloaded message."""
    sink = RecordingSink()
    model = OverloadedThen([], overloaded_models=("o", "s", "h"))
    outcome = await answer_question(
        _question(), "A", sink, _deps(model, MemoryStore()), tier="opus"
    )
    assert [r.model for r in model.requests] == ["o", "s", "h"]
    assert outcome.failure is FailureKind.OVERLOADED
    assert "overloaded" in sink.events[-1][1]


class ClosedChannelSink(RecordingSink):
    """A channel the bot cannot post in, found when the first text is shown (the placeholder
    was held back)."""

    async def show(self, text: str) -> float:
        raise ReplyUnavailable("not_in_channel")


async def test_a_closed_channel_found_at_the_first_text_stops_the_stream() -> None:
    """When the first text can't be posted, the model stream is closed at once (no more tokens
    read for nobody), nothing is stored, and the turn reports it cannot reply."""
    store, model = MemoryStore(), ScriptedModel([f"w{i} " for i in range(200)])
    consumed: list[int] = []
    original = model.stream

    async def counting(request: ChatRequest) -> AsyncGenerator[AnswerEvent, None]:
        async for event in original(request):
            consumed.append(1)
            yield event

    model.stream = counting  # type: ignore[method-assign]
    with pytest.raises(ReplyUnavailable):
        await answer_question(_question(), "A", ClosedChannelSink(), _deps(model, store))
    assert len(consumed) < 10
    assert KEY not in store.threads
