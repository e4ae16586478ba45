"""Cost control in the core: the budget is checked before the model call, every finished call
is recorded (fallbacks too), the warning reaches the final message, answers are timed."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from bot.conversation.errors import FailureKind
from bot.conversation.messages import AnswerDone, Question
from bot.conversation.metering import TimedSink
from bot.conversation.turn import TurnDeps, answer_question
from bot.conversation.usage import ALLOWED, AnswerTiming, BudgetVerdict, PlannedCall
from tests.unit.test_turn import (
    InstantClock,
    MemoryStore,
    OverloadedThen,
    RecordingSink,
    ScriptedModel,
    _deps,
    _question,
)


@dataclass
class RecordingGuard:
    """A UsageGuard answering with a fixed verdict and remembering what it saw."""

    verdict: BudgetVerdict = ALLOWED
    held: BudgetVerdict = field(default_factory=lambda: BudgetVerdict(hold="h1"))
    checked: list[Question] = field(default_factory=list)
    planned: list[PlannedCall] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    recorded: list[tuple[Question, AnswerDone]] = field(default_factory=list)
    timings: list[AnswerTiming] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    async def check(self, question: Question) -> BudgetVerdict:
        self.checked.append(question)
        return self.verdict

    async def reserve(self, question: Question, planned: PlannedCall) -> BudgetVerdict:
        self.planned.append(planned)
        self.events.append("reserve")
        return self.held

    async def release(self, question: Question, verdict: BudgetVerdict) -> None:
        self.released.append(verdict.hold)
        self.events.append("release")

    async def record(self, question: Question, done: AnswerDone) -> None:
        self.recorded.append((question, done))
        self.events.append("record")

    def timed(self, timing: AnswerTiming) -> None:
        self.timings.append(timing)


def _guarded(model: ScriptedModel, guard: RecordingGuard) -> TurnDeps:
    return dataclasses.replace(_deps(model, MemoryStore()), usage=guard)


async def test_over_budget_refuses_before_any_model_call() -> None:
    """A refusing verdict becomes the final message; the model is never called, nothing is
    recorded and the turn does not count as answered."""
    guard = RecordingGuard(BudgetVerdict(allowed=False, message="Sorry, budget used up."))
    model, sink = ScriptedModel(["x"]), RecordingSink()
    outcome = await answer_question(_question(), "A", sink, _guarded(model, guard))
    assert not outcome.answered
    assert model.requests == []
    assert sink.events[-1] == ("finish", "Sorry, budget used up.")
    assert guard.recorded == []
    assert guard.timings == []


async def test_each_finished_call_is_recorded_with_its_question() -> None:
    """The finished call's AnswerDone (usage and model) reaches the guard with the question."""
    guard, question = RecordingGuard(), dataclasses.replace(_question(), feature="ask-haiku")
    await answer_question(question, "A", RecordingSink(), _guarded(ScriptedModel(["ok"]), guard))
    assert len(guard.checked) == 1
    [(seen, done)] = guard.recorded
    assert seen.feature == "ask-haiku"
    assert done.model == "s"
    assert done.usage.input_tokens == 10


async def test_a_fallback_records_only_the_call_that_answered() -> None:
    """An overloaded Opus call has no usage to record; the Sonnet call that answered is."""
    guard = RecordingGuard()
    model = OverloadedThen(["From Sonnet"], overloaded_models=("o",))
    deps = _guarded(model, guard)
    outcome = await answer_question(_question(), "A", RecordingSink(), deps, tier="opus")
    assert outcome.tier == "sonnet"
    assert [done.model for _, done in guard.recorded] == ["s"]


async def test_budget_warning_ends_the_final_message() -> None:
    """Near the budget the answer is given, with the warning under the footer."""
    guard = RecordingGuard(held=BudgetVerdict(warning="_Your daily budget is 85 % used._"))
    sink = RecordingSink()
    await answer_question(_question(), "A", sink, _guarded(ScriptedModel(["Hi"]), guard))
    final = sink.events[-1][1]
    assert final.startswith("Hi\n\n_s · ")
    assert final.endswith("\n\n_Your daily budget is 85 % used._")


async def test_answered_turns_are_timed_by_feature() -> None:
    """An answered turn reports its time to first visible text and total time."""
    guard = RecordingGuard()
    question = dataclasses.replace(_question(), feature="dm")
    await answer_question(question, "A", RecordingSink(), _guarded(ScriptedModel(["a"]), guard))
    [timing] = guard.timings
    assert timing.feature == "dm"
    assert 0 <= timing.first_visible_seconds <= timing.total_seconds


async def test_failed_turn_is_not_timed_but_switch_is_not_checked() -> None:
    """A failed answer is not put into the answer-time histograms; "switch to" asks no budget."""
    guard = RecordingGuard()
    failing = OverloadedThen([], overloaded_models=("s", "h"))
    outcome = await answer_question(_question(), "A", RecordingSink(), _guarded(failing, guard))
    assert outcome.failure is FailureKind.OVERLOADED
    assert guard.timings == []
    await answer_question(
        _question("switch to opus"), "A", RecordingSink(), _guarded(ScriptedModel([]), guard)
    )
    assert len(guard.checked) == 1, "only the failed turn was checked"


class SteppingClock(InstantClock):
    """A clock that advances one second each time it is read."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        self.t += 1.0
        return self.t


async def test_timed_sink_ignores_statuses_until_answer_text() -> None:
    """The first visible token is the first shown text that is not a placeholder or status."""
    sink = TimedSink(RecordingSink(), SteppingClock())  # started at t=1
    await sink.start("_Thinking…_")
    await sink.show("_Thinking… 3 s_")
    await sink.show("Hello")  # t=2
    await sink.show("Hello there")
    await sink.finish("Hello there.")  # t=3
    timing = sink.timing("mention")
    assert timing == AnswerTiming("mention", 1.0, 2.0)


async def test_a_refused_reservation_is_the_answer_and_claude_is_not_called() -> None:
    """When the estimate does not fit (or the asker has too many answers in flight), the
    polite refusal is the final message; the model is never called, nothing is released."""
    refusal = BudgetVerdict(allowed=False, message="Sorry, only $0.01 is left.")
    guard = RecordingGuard(held=refusal)
    model, sink = ScriptedModel(["x"]), RecordingSink()
    outcome = await answer_question(_question(), "A", sink, _guarded(model, guard))
    assert not outcome.answered
    assert model.requests == []
    assert sink.events[-1] == ("finish", "Sorry, only $0.01 is left.")
    assert guard.released == []


async def test_the_hold_is_released_after_the_cost_is_recorded() -> None:
    """The estimate (model, input tokens, output cap of the request) is held before the call
    and released after the call's real cost went to the ledger."""
    guard = RecordingGuard()
    model = ScriptedModel(["ok"])
    await answer_question(_question(), "A", RecordingSink(), _guarded(model, guard))
    [planned] = guard.planned
    [request] = model.requests
    assert (planned.model, planned.max_output_tokens) == (request.model, request.max_tokens)
    assert planned.input_tokens > 0
    assert guard.events == ["reserve", "record", "release"]
    assert guard.released == ["h1"]


async def test_the_hold_is_released_when_the_answer_fails() -> None:
    """A failed answer (every tier overloaded) still releases its hold."""
    guard = RecordingGuard()
    failing = OverloadedThen([], overloaded_models=("s", "h"))
    outcome = await answer_question(_question(), "A", RecordingSink(), _guarded(failing, guard))
    assert outcome.failure is FailureKind.OVERLOADED
    assert guard.released == ["h1"]
