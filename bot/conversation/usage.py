"""Values of cost control: the budget's verdict before a model call, an answer's timing."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BudgetVerdict:
    """Whether a question may be sent to the model; what to say if not, or if close."""

    allowed: bool = True
    message: str = ""  # the polite refusal, when not allowed
    warning: str = ""  # shown under the answer when the budget is nearly used up


ALLOWED = BudgetVerdict()


@dataclass(frozen=True)
class AnswerTiming:
    """How long an answer took to show: first answer text, and the final message."""

    feature: str
    first_visible_seconds: float
    total_seconds: float
