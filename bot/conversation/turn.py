"""The use case: answer one question in its thread, streaming, and remember the turn."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import structlog

from bot.conversation.agent import (
    storable,
    without_tool_calls,
)
from bot.conversation.attachments import NoticeSink, reading_status
from bot.conversation.calls import Answered, Caller, answer_calls
from bot.conversation.code import code_kit, status, with_excerpts
from bot.conversation.display import (
    HELLO_HINT,
    THINKING,
    failure_text,
    final_text,
    footer,
    joined,
    live_text,
    switched_text,
    tools_note,
    with_footer,
    with_sources,
)
from bot.conversation.errors import (
    ChatFailure,
    FailureKind,
    ReplyUnavailable,
    StorageUnavailable,
    user_message,
)
from bot.conversation.kit import AnswerKit, provided_tools
from bot.conversation.messages import (
    AnswerDone,
    ChatMessage,
    ChatRequest,
    Question,
    ThreadState,
)
from bot.conversation.metering import TimedSink, WarningSink, planned_call
from bot.conversation.ports import (
    ReplySink,
)
from bot.conversation.profiles import Profile
from bot.conversation.prompt import build_user_message, read_context, read_files
from bot.conversation.routing import (
    DEFAULT_TIER,
    fallback_chain,
    is_forget_thread,
    parse_switch,
)
from bot.conversation.sandbox import (
    bring_back_files,
    container_to_reuse,
    to_container,
    with_file_notes,
)
from bot.conversation.tools import JsonObject
from bot.conversation.turn_deps import TurnDeps, TurnOutcome, TurnSettings
from bot.conversation.usage import BudgetVerdict
from bot.conversation.window import (
    Sizes,
    Window,
    fit,
    outgrown_notice,
    request_tokens,
    stale_prefix,
    too_long_notice,
)

log = structlog.get_logger("bot.turn")

__all__ = ["THINKING", "TurnDeps", "TurnOutcome", "TurnSettings", "answer_question"]


async def answer_question(
    question: Question,
    author: str,
    sink: ReplySink,
    deps: TurnDeps,
    *,
    tier: str | None = None,
) -> TurnOutcome:
    """Answer the question (see _turn) and report how long the answer took to show."""
    timed = TimedSink(sink, deps.clock)
    outcome = await _turn(question, author, timed, deps, tier)
    timing = timed.timing(question.feature)
    if outcome.answered and timing is not None:
        deps.usage.timed(timing)
    return outcome


async def _turn(
    question: Question, author: str, sink: ReplySink, deps: TurnDeps, tier: str | None
) -> TurnOutcome:
    """Show a placeholder, ask the model with the thread's history, stream, store the turn.

    `tier` is given by a slash command and becomes the thread's tier; otherwise the thread's
    stored tier (or Sonnet) answers. "switch to <tier>" changes the tier without an answer.
    """
    started = deps.clock.now()
    try:
        await sink.start(reading_status(question.files) or THINKING)
    except ReplyUnavailable as exc:
        log.warning("turn.cannot_reply", reason=str(exc))
        return TurnOutcome(answered=False)
    try:
        if deps.eraser is not None and is_forget_thread(question.text):
            await sink.finish(await deps.eraser.forget(question))
            return TurnOutcome(answered=False)
        state = await deps.store.load(question.key)
        switch = parse_switch(question.text)
        if switch is not None:
            await deps.store.set_tier(question.key, switch)
            names = deps.settings.display_names
            await sink.finish(switched_text(switch, names.get(switch, switch)))
            return TurnOutcome(answered=False, tier=switch)
        if tier is not None and tier != state.tier:
            await deps.store.set_tier(question.key, tier)
        context = await read_context(question, state, deps.reader)
    except StorageUnavailable:
        return await _fail(sink, "", ChatFailure(FailureKind.STORAGE), deps.settings)
    verdict = await deps.usage.check(question)  # a budget used up: refused before any work
    if not verdict.allowed:
        return await _refuse(question, verdict, sink)
    profile = deps.profiles.for_question(question)
    chosen = tier or state.tier or profile.tier or DEFAULT_TIER
    model_id = deps.settings.models_by_tier.get(chosen, "")
    into = to_container(question, state, deps.server_tools.for_model(model_id))
    attachments = await read_files(question, deps.attachments, model_id, to_container=into)
    if attachments.notices:
        sink = NoticeSink(sink, attachments.notices)
    if not question.text.strip() and not context and not attachments.blocks:
        await sink.finish(HELLO_HINT)
        return TurnOutcome(answered=False)
    kit = await _kit(question, state, sink, deps, profile)
    if isinstance(kit, str):
        await sink.finish(failure_text("", kit))
        return TurnOutcome(answered=False)
    user_turn = build_user_message(question, author, context, attachments)
    if deps.redactor is not None:
        user_turn = await deps.redactor.redact(question, user_turn)
    user_turn = with_excerpts(user_turn, kit.preamble)
    system = profile.system(deps.settings.system_prompt)
    ask = Ask(question, state, user_turn, kit, system=system, server_tools=profile.tools)
    return await _answer(ask, chosen, started, sink, deps)


async def _kit(
    question: Question, state: ThreadState, sink: ReplySink, deps: TurnDeps, profile: Profile
) -> AnswerKit | str:
    """The answer's tools and context: a code thread's repository (if the channel's profile
    allows it), the providers' tools; or the message saying why the repository can't be used."""
    code = await code_kit(question, state, deps.code, deps.store, sink, profile.allows_repo)
    if isinstance(code, str):
        return code
    if code is not None:
        await sink.show(THINKING)
    return (code or AnswerKit()).with_tools(await provided_tools(deps.tools, question))


async def _refuse(question: Question, verdict: BudgetVerdict, sink: ReplySink) -> TurnOutcome:
    """Over budget, or too many answers in flight: the polite message is the answer."""
    log.info("turn.over_budget", user=question.user, feature=question.feature)
    await sink.finish(verdict.message)
    return TurnOutcome(answered=False)


@dataclass(frozen=True)
class Ask:
    """A question ready to answer: the question, its thread, the user turn to send and store,
    the answer's kit (tools, context) and the sizes of its messages (measured once)."""

    question: Question
    state: ThreadState
    user_turn: ChatMessage
    kit: AnswerKit = field(default_factory=AnswerKit)
    system: str = ""  # the system prompt, with the channel profile's instructions
    server_tools: tuple[str, ...] | None = None  # the profile's subset of BOT_TOOLS (None: all)
    sizes: Sizes = field(default_factory=Sizes)


async def _answer(
    ask: Ask, chosen: str, started: float, sink: ReplySink, deps: TurnDeps
) -> TurnOutcome:
    """Reserve the first call's estimated cost (atomically against the budgets and the asker's
    answers in flight), then answer; the reservation is released when the answer ends, after
    the real cost went into the ledger."""
    window = _window(ask, chosen, deps)
    if window is None:
        return await _too_long(ask, chosen, sink, deps)
    first = _request(ask, window.messages, chosen, deps)
    planned = planned_call(first, request_tokens(first, ask.sizes))
    verdict = await deps.usage.reserve(ask.question, planned)
    if not verdict.allowed:
        return await _refuse(ask.question, verdict, sink)
    if verdict.warning:
        sink = WarningSink(sink, verdict.warning)
    try:
        return await _attempts(ask, chosen, started, sink, deps)
    finally:
        await deps.usage.release(ask.question, verdict)


def _window(ask: Ask, tier: str, deps: TurnDeps) -> Window | None:
    budget = deps.settings.input_budget_by_tier.get(tier)
    return fit(ask.state.history, ask.user_turn, ask.system, budget, ask.sizes)


async def _too_long(ask: Ask, tier: str, sink: ReplySink, deps: TurnDeps) -> TurnOutcome:
    budget = deps.settings.input_budget_by_tier.get(tier)
    tokens = ask.sizes.tokens(ask.user_turn)
    log.info("turn.too_long", tokens=tokens, budget=budget)
    await sink.finish(failure_text("", too_long_notice(tokens, budget or 0)))
    return TurnOutcome(answered=False, failure=FailureKind.PROMPT_TOO_LONG)


async def _attempts(
    ask: Ask, chosen: str, started: float, sink: ReplySink, deps: TurnDeps
) -> TurnOutcome:
    """Try the chosen tier, falling back while it is overloaded before any text was shown."""
    question, trimmed = ask.question, ask.state.trimmed
    chain = fallback_chain(chosen)
    for index, tier in enumerate(chain):
        window = _window(ask, tier, deps)
        if window is None:
            return await _too_long(ask, tier, sink, deps)
        unseen = window.dropped + trimmed
        if unseen and index == 0:
            log.info("turn.history_trimmed", dropped=window.dropped, trimmed=trimmed)
            sink = NoticeSink(sink, [outgrown_notice(unseen)], mark=":scissors:")
        request = _request(ask, window.messages, tier, deps)
        result = await answer_calls(request, _caller(ask, started, sink, deps), ask.kit)
        attempt = result.attempt
        if attempt.done is not None:
            await deps.usage.record(question, attempt.done)
        failure = attempt.failure
        can_fall_back = index + 1 < len(chain) and not result.text
        if failure is not None and failure.kind is FailureKind.OVERLOADED and can_fall_back:
            log.warning("turn.fallback", overloaded=tier, next=chain[index + 1])
            continue
        if failure is not None or attempt.done is None:
            return await _fail(sink, result.text, failure or _no_final(), deps.settings)
        return await _complete(ask, result, (chosen, tier), started, sink, deps)
    raise AssertionError("unreachable: the last tier always returns")


def _no_final() -> ChatFailure:
    return ChatFailure(FailureKind.INTERRUPTED, "stream ended without a final message")


def _server_tools(tools: tuple[JsonObject, ...], ask: Ask) -> tuple[JsonObject, ...]:
    """The configured server tools the channel's profile allows."""
    allowed = ask.server_tools
    return tools if allowed is None else tuple(t for t in tools if t.get("name") in allowed)


def _caller(ask: Ask, started: float, sink: ReplySink, deps: TurnDeps) -> Caller:
    """What this answer's model calls and tool rounds need."""

    async def spent(done: AnswerDone) -> None:
        await deps.usage.record(ask.question, done)

    async def shown(text: str) -> None:
        await sink.show(status(text))

    limits = deps.settings.tool_limits
    if ask.kit.max_rounds is not None:
        limits = dataclasses.replace(limits, max_rounds=ask.kit.max_rounds)
    return Caller(
        model=deps.model,
        clock=deps.clock,
        sink=sink,
        started=started,
        edit_policy=deps.settings.edit_policy,
        show_thinking=deps.settings.show_thinking,
        limits=limits,
        record=spent,
        approver=deps.approvals.for_question(ask.question, shown),
    )


def _request(ask: Ask, messages: list[ChatMessage], tier: str, deps: TurnDeps) -> ChatRequest:
    settings = deps.settings
    model = settings.models_by_tier[tier]
    tools = ask.kit.tool_definitions(_server_tools(deps.server_tools.for_model(model), ask))
    return ChatRequest(
        model=model,
        system=ask.system,
        messages=messages,
        max_tokens=settings.max_tokens,
        metadata_user=ask.question.user,
        thinking_effort=settings.thinking_by_tier.get(tier),
        long_lived_system=ask.kit.long_lived_system,
        tools=tools,
        container=container_to_reuse(ask.state, tools, deps.wall_clock()),
    )


async def _complete(
    ask: Ask,
    result: Answered,
    tiers: tuple[str, str],
    started: float,
    sink: ReplySink,
    deps: TurnDeps,
) -> TurnOutcome:
    """Store the turn (letting go of history no window can send any more), then show the final
    text with its footer. `tiers` is the tier asked for and the one that answered."""
    question = ask.question
    attempt, exchange = result.attempt, result.exchange
    asked_tier, tier = tiers
    done = attempt.done
    if done is None:
        raise ValueError("a completed attempt has its final message")
    try:
        await _store_turn(ask, done, exchange, deps)
    except StorageUnavailable:
        log.warning("turn.not_stored", reason="storage unavailable")
        notice = "I couldn't save this turn, so a follow-up may not remember it."
        await sink.finish(failure_text(result.text, notice))
        return TurnOutcome(answered=True, failure=FailureKind.STORAGE, tier=tier)
    made, settings = [*exchange, done.message], deps.settings
    shown = live_text(
        joined(result.lead, attempt.text), attempt.thinking, "", settings.show_thinking
    )
    not_back = await bring_back_files(question, made, shown, sink, deps.result_files)
    text = joined(result.lead, with_sources(attempt.text, done.message.get("content") or []))
    body = with_file_notes(ask.kit.finish(final_text(text, done.stop_reason)), not_back)
    if deps.settings.show_thinking and attempt.thinking.strip():
        body = live_text(body, attempt.thinking, "", show_thinking=True)
    line = footer(done.model_display or done.model, deps.clock.now() - started, asked_tier, tier)
    await sink.finish(with_footer(body, tools_note(line, result.used)))
    return TurnOutcome(answered=True, tier=tier)


async def _store_turn(
    ask: Ask, done: AnswerDone, exchange: list[ChatMessage], deps: TurnDeps
) -> None:
    """Append the user turn, the tool rounds and the answer (letting go of history no window
    can send any more), with the code execution container the answer used."""
    answer = without_tool_calls(storable(done))
    stored = [*ask.state.history, ask.user_turn, *exchange, answer]
    extra: dict[str, Any] = {"between": exchange} if exchange else {}
    drop = stale_prefix(stored, deps.settings.history_tokens, measured=ask.sizes)
    if drop:
        extra["drop_oldest"] = drop
    if done.container is not None:
        extra["container"] = done.container
    await deps.store.append_turn(
        ask.question.key, ask.user_turn, answer, last_seen_ts=ask.question.ts, **extra
    )


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
