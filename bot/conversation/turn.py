"""The use case: answer one question in its thread, streaming, and remember the turn."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from bot.conversation.errors import (
    ChatFailure,
    FailureKind,
    ReplyUnavailable,
    StorageUnavailable,
    user_message,
)
from bot.conversation.messages import (
    AnswerDone,
    ChatMessage,
    ChatRequest,
    ContextMessage,
    Question,
    TextDelta,
    ThreadState,
)
from bot.conversation.ports import ChatModel, Clock, ReplySink, ThreadReader, ThreadStore
from bot.conversation.prompt import HELLO_HINT, build_user_message, failure_text, final_text
from bot.conversation.throttle import Coalescer, EditPolicy

log = structlog.get_logger("bot.turn")

THINKING = "_Thinking…_"
DEFAULT_TIER = "sonnet"


@dataclass(frozen=True)
class TurnSettings:
    """The knobs of a turn, taken from the bot's settings."""

    system_prompt: str
    max_tokens: int
    models_by_tier: dict[str, str]
    model_variables: dict[str, str]
    edit_policy: EditPolicy


@dataclass(frozen=True)
class TurnDeps:
    """What a turn talks to."""

    store: ThreadStore
    model: ChatModel
    reader: ThreadReader
    clock: Clock
    settings: TurnSettings


@dataclass(frozen=True)
class TurnOutcome:
    """How a turn ended, for logs and tests."""

    answered: bool
    failure: FailureKind | None = None


async def answer_question(
    question: Question, author: str, sink: ReplySink, deps: TurnDeps
) -> TurnOutcome:
    """Show a placeholder, ask the model with the thread's history, stream, store the turn."""
    try:
        await sink.start(THINKING)
    except ReplyUnavailable as exc:
        log.warning("turn.cannot_reply", reason=str(exc))
        return TurnOutcome(answered=False)
    try:
        state = await deps.store.load(question.key)
        context = await _read_context(question, state, deps.reader)
    except StorageUnavailable:
        return await _fail(sink, "", ChatFailure(FailureKind.STORAGE), deps.settings)
    if not question.text.strip() and not context:
        await sink.finish(HELLO_HINT)
        return TurnOutcome(answered=False)
    user_turn = build_user_message(question, author, context)
    tier = state.tier or DEFAULT_TIER
    request = ChatRequest(
        model=deps.settings.models_by_tier[tier],
        system=deps.settings.system_prompt,
        messages=[*state.history, user_turn],
        max_tokens=deps.settings.max_tokens,
        metadata_user=question.user,
    )
    return await _stream_answer(question, request, user_turn, sink, deps)


async def _read_context(
    question: Question, state: ThreadState, reader: ThreadReader
) -> list[ContextMessage]:
    """Other people's messages since the bot's last turn (none in a DM)."""
    if question.is_direct_message:
        return []
    if state.last_seen_ts is None and question.key.thread_ts == question.ts:
        return []  # a new thread rooted at this very mention has nothing before it
    return await reader.messages_between(question.key, state.last_seen_ts, question.ts)


async def _stream_answer(
    question: Question,
    request: ChatRequest,
    user_turn: ChatMessage,
    sink: ReplySink,
    deps: TurnDeps,
) -> TurnOutcome:
    coalescer = Coalescer(sink.show, deps.clock, deps.settings.edit_policy)
    text = ""
    done: AnswerDone | None = None
    try:
        async for event in deps.model.stream(request):
            if isinstance(event, TextDelta):
                text += event.text
                await coalescer.push(text)
            else:
                done = event
        if done is None:
            raise ChatFailure(FailureKind.INTERRUPTED, "stream ended without a final message")
    except ChatFailure as failure:
        await coalescer.close()
        return await _fail(sink, text, failure, deps.settings)
    await coalescer.close()
    try:
        await deps.store.append_turn(
            question.key, user_turn, _storable(done.message), last_seen_ts=question.ts
        )
    except StorageUnavailable:
        log.warning("turn.not_stored", reason="storage unavailable")
        await sink.finish(
            failure_text(text, "I couldn't save this turn, so a follow-up may not remember it.")
        )
        return TurnOutcome(answered=True, failure=FailureKind.STORAGE)
    await sink.finish(final_text(text, done.stop_reason))
    return TurnOutcome(answered=True)


def _storable(message: ChatMessage) -> ChatMessage:
    """An assistant message the API will accept back: never an empty content list."""
    if message.get("content"):
        return message
    return {"role": "assistant", "content": [{"type": "text", "text": "(no answer)"}]}


async def _fail(
    sink: ReplySink, partial: str, failure: ChatFailure, settings: TurnSettings
) -> TurnOutcome:
    variable = settings.model_variables.get(failure.model or "")
    log.warning(
        "turn.failed",
        kind=failure.kind.value,
        status=failure.status,
        request_id=failure.request_id,
        detail=failure.detail,
        partial_chars=len(partial),
    )
    await sink.finish(failure_text(partial, user_message(failure, variable)))
    return TurnOutcome(answered=False, failure=failure.kind)
