"""Answers one at a time per thread, in order, and never left hanging.

Wraps the turn: a follow-up that arrives while an answer streams waits its turn (with a visible
"waiting" placeholder); a turn that runs past its deadline, or is cancelled at shutdown, still ends
with a final message saying what happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import structlog

from bot.conversation.display import failure_text, is_status
from bot.conversation.errors import ReplyUnavailable
from bot.conversation.messages import Question, ThreadKey
from bot.conversation.ports import ReplySink
from bot.conversation.turn import TurnDeps, TurnOutcome, answer_question

log = structlog.get_logger("bot.ordering")

QUEUED = "_Waiting for my answer above to finish…_"
INTERRUPTED = "The answer was interrupted because I was restarting. Mention me to continue."
TIMED_OUT = "This answer took too long and was stopped. Mention me to try again."


class ThreadGate(Protocol):
    """Grants one turn at a time per thread, in the order given."""

    def turn(
        self, key: ThreadKey, order: str, on_wait: Callable[[], Awaitable[None]]
    ) -> AbstractAsyncContextManager[None]:
        """Hold the thread; on_wait is awaited once if the turn has to queue first."""
        ...


async def answer_in_order(
    question: Question,
    author: str,
    sink: ReplySink,
    deps: TurnDeps,
    gate: ThreadGate,
    *,
    tier: str | None = None,
    deadline_seconds: float = 600.0,
) -> TurnOutcome | None:
    """Answer when the thread is free; always end with a final message."""
    try:
        async with asyncio.timeout(deadline_seconds):
            async with gate.turn(question.key, question.ts, on_wait=lambda: sink.start(QUEUED)):
                return await answer_question(question, author, sink, deps, tier=tier)
    except ReplyUnavailable as exc:
        log.warning("turn.cannot_reply", reason=str(exc))
        return None
    except TimeoutError:
        log.error("turn.deadline_passed", seconds=deadline_seconds)
        await sink.finish(failure_text(_shown(sink), TIMED_OUT))
        return None
    except asyncio.CancelledError:
        log.warning("turn.interrupted")
        await asyncio.shield(sink.finish(failure_text(_shown(sink), INTERRUPTED)))
        raise


def _shown(sink: ReplySink) -> str:
    """The answer text shown so far; a status line alone is no answer."""
    return "" if is_status(sink.shown) else sink.shown
