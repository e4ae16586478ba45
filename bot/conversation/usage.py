"""Values of cost control: what a model call may cost, the budget's verdict before it (with the
reservation that holds its estimate until the answer ends), an answer's timing."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BudgetVerdict:
    """Whether a question may be sent to the model; what to say if not, or if close."""

    allowed: bool = True
    message: str = ""  # the polite refusal, when not allowed
    warning: str = ""  # shown under the answer when the budget is nearly used up
    hold: str = ""  # the reservation to release when the answer ends ("" when none was made)


ALLOWED = BudgetVerdict()


@dataclass(frozen=True)
class PlannedCall:
    """A model call about to be made, for its cost estimate: the model, the request's input
    tokens (estimated, files at their real cost), the answer's output cap and the web searches
    it may make (the web search tool's max_uses; each is billed)."""

    model: str
    input_tokens: int
    max_output_tokens: int
    max_web_searches: int = 0


@dataclass(frozen=True)
class AnswerTiming:
    """How long an answer took to show: first answer text, and the final message."""

    feature: str
    first_visible_seconds: float
    total_seconds: float
