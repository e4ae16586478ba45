"""Cost control seen from the core: a guard that allows everything, and the sinks that time an
answer and add the budget warning to it."""

from __future__ import annotations

from bot.conversation.display import is_status
from bot.conversation.messages import AnswerDone, ChatRequest, Question
from bot.conversation.ports import Clock, ReplySink
from bot.conversation.sinks import FramedSink, SinkDecorator
from bot.conversation.usage import ALLOWED, AnswerTiming, BudgetVerdict, PlannedCall


def planned_call(request: ChatRequest, input_tokens: int) -> PlannedCall:
    """The call for its cost estimate: with web search on, the most searches it may make (the
    tool's max_uses; each is billed)."""
    searches = sum(
        int(tool.get("max_uses") or 0) for tool in request.tools if tool.get("name") == "web_search"
    )
    return PlannedCall(request.model, input_tokens, request.max_tokens, searches)


class Unmetered:
    """A UsageGuard with no budgets, no ledger and no metrics (tests, tools)."""

    async def check(self, question: Question) -> BudgetVerdict:
        """Everything is allowed."""
        return ALLOWED

    async def reserve(self, question: Question, planned: PlannedCall) -> BudgetVerdict:
        """Everything is allowed; nothing is held."""
        return ALLOWED

    async def release(self, question: Question, verdict: BudgetVerdict) -> None:
        """Nothing was held."""

    async def record(self, question: Question, done: AnswerDone) -> None:
        """Nothing is recorded."""

    def timed(self, timing: AnswerTiming) -> None:
        """Nothing is measured."""


class TimedSink(SinkDecorator):
    """A ReplySink noting when answer text was first shown and when the final text landed."""

    def __init__(self, sink: ReplySink, clock: Clock) -> None:
        super().__init__(sink)
        self._clock = clock
        self._started = clock.now()
        self.first_visible: float | None = None  # seconds after the start
        self.finished: float | None = None

    async def show(self, text: str) -> float:
        """Show the answer so far; the first non-status text is the first visible token."""
        retry_in = await self._sink.show(text)
        if self.first_visible is None and not retry_in and not is_status(text):
            self.first_visible = self._clock.now() - self._started
        return retry_in

    async def finish(self, text: str) -> None:
        """Show the final text."""
        await self._sink.finish(text)
        self.finished = self._clock.now() - self._started

    def timing(self, feature: str) -> AnswerTiming | None:
        """The answer's timing, once it finished (an answer shown only at the end: both equal)."""
        if self.finished is None:
            return None
        first = self.finished if self.first_visible is None else self.first_visible
        return AnswerTiming(feature, first, self.finished)


class WarningSink(FramedSink):
    """A ReplySink whose final text ends with a warning (the budget is nearly used up)."""

    def __init__(self, sink: ReplySink, warning: str) -> None:
        super().__init__(sink, below=warning)
