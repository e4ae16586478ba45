"""Bolt listeners: ack at once, drop what is not for the bot, answer each message once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.conversation.messages import Question
from bot.conversation.ordering import ThreadGate, answer_in_order
from bot.conversation.ports import Clock, ReplySink
from bot.conversation.sinks import DeferredPlaceholder
from bot.conversation.turn import TurnDeps
from bot.slack.api.people import PeopleDirectory
from bot.slack.api.workspaces import NotInstalled, SlackWorkspaces, workspace_of
from bot.slack.handlers.access import AccessPolicy
from bot.slack.handlers.inbound import (
    Ignored,
    is_batch_mention,
    is_external_author,
    message_mark,
    question_from_event,
)
from bot.slack.handlers.summaries import with_summary_instruction
from bot.slack.sinks.choice import AnswerSurfaces
from bot.slack.sinks.edit_in_place import (
    Destination,
    EditBudget,
    Journal,
    SlackReplySink,
    YoungAnswers,
)

log = structlog.get_logger("bot.slack.events")


class Marks(Protocol):
    """Claims a mark once across every replica."""

    async def claim(self, mark: str) -> bool:
        """True for the first claim of this mark."""
        ...


class TaskTracker:
    """Keeps a reference to every running answer, so none is garbage-collected or forgotten."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run work in the background."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def running(self) -> int:
        """Answers in flight."""
        return len(self._tasks)

    async def drain(self, grace_seconds: float) -> None:
        """Wait for the answers in flight up to grace_seconds, then cancel the rest (each
        cancelled answer marks its message "interrupted" before it ends)."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=10)


@dataclass(frozen=True)
class EventHandler:
    """Turns Slack events into answered questions, each in its own workspace with that
    workspace's client."""

    turn: TurnDeps
    marks: Marks
    people: PeopleDirectory
    workspaces: SlackWorkspaces
    clock: Clock
    message_chars: int
    tasks: TaskTracker
    gate: ThreadGate
    budget: EditBudget
    journal: Journal | None = None
    turn_deadline_seconds: float = 600.0
    access: AccessPolicy = field(default_factory=AccessPolicy)
    surfaces: AnswerSurfaces | None = None  # None: every answer is edited in place
    placeholder_delay: float = 0.0  # an edited-in-place answer's placeholder waits this long
    young: YoungAnswers = field(default_factory=YoungAnswers)  # first words not shown yet

    async def on_event(self, body: dict[str, Any]) -> None:
        """Bolt listener for app_mention and message events (Bolt has already acked)."""
        event = body.get("event") or {}
        event_id = str(body.get("event_id") or "")
        workspace = workspace_of(body)
        try:
            bot_user_id = (await self.workspaces.get(workspace)).bot_user_id
        except NotInstalled:
            log.warning("event.not_installed", event_id=event_id)
            return
        question = question_from_event(
            event, team_id=workspace, bot_user_id=bot_user_id, event_id=event_id
        )
        if isinstance(question, Ignored):
            log.debug("event.ignored", reason=question.reason, event_id=event_id)
            return
        if not await self._first_delivery(question):
            log.info("event.duplicate", event_id=event_id)
            return
        refusal = self.access.refusal(
            question.user,
            question.key.channel,
            is_direct_message=question.is_direct_message,
            external=is_external_author(body),
        )
        if refusal is not None:
            self.tasks.spawn(self._refuse(question, refusal), name="refuse")
            return
        self.spawn_answer(with_summary_instruction(question))

    async def _refuse(self, question: Question, text: str) -> None:
        """Tell only the asker, politely, that the bot is not enabled for them here."""
        log.info("event.refused", user=question.user, channel=question.key.channel)
        try:
            client = (await self.workspaces.get(question.key.team)).client
            await client.chat_postEphemeral(
                channel=question.key.channel,
                user=question.user,
                text=text,
                thread_ts=question.reply_thread_ts,
            )
        except SlackApiError as exc:
            log.warning("slack.ephemeral_failed", error=exc.response.get("error"))
        except NotInstalled:
            log.warning("event.not_installed", event_id=question.event_id)

    async def _first_delivery(self, question: Question) -> bool:
        try:
            return await self.marks.claim(message_mark(question))
        except RedisError:
            return True  # the turn itself will tell the user the store is unreachable

    def spawn_answer(self, question: Question, tier: str | None = None) -> None:
        """Answer in the background (the envelope is already acked)."""
        self.tasks.spawn(self._answer(question, tier), name=f"answer:{question.key}")

    async def _answer(self, question: Question, tier: str | None) -> None:
        structlog.contextvars.bind_contextvars(
            thread=str(question.key), event_id=question.event_id, tier=tier
        )
        try:
            workspace = await self.workspaces.get(question.key.team)
        except NotInstalled:
            log.warning("event.not_installed", event_id=question.event_id)
            return
        destination = Destination(
            team=question.key.team,
            channel=question.key.channel,
            thread_ts=question.reply_thread_ts,
            answer_id=uuid.uuid4().hex,
        )
        edit = SlackReplySink(
            workspace.client,
            destination,
            message_chars=self.message_chars,
            clock=self.clock,
            budget=self.budget,
            journal=self.journal,
        )
        sink: ReplySink = edit
        if self.surfaces is not None:  # native streaming where the surface has it
            question, sink = await self.surfaces.prepare(
                question, destination, edit, workspace.client
            )
        if sink is edit and not question.files:  # files: "Reading…" shows at once
            team, budget, young = question.key.team, self.budget, self.young
            sink = deferred = DeferredPlaceholder(
                edit,
                self.clock,
                self.placeholder_delay,
                busy=lambda: budget.low(team, waiting=young.waiting(team)),
            )
        else:
            deferred = None
        self.young.add(destination.team, edit)
        try:
            author = await self.people.author(question.key.team, question.user)
            outcome = await answer_in_order(
                question,
                author,
                sink,
                self.turn,
                self.gate,
                tier=tier,
                deadline_seconds=self.turn_deadline_seconds,
            )
            log.info(
                "turn.done",
                answered=bool(outcome and outcome.answered),
                failure=outcome.failure if outcome else None,
                tier=outcome.tier if outcome else None,
            )
        except Exception:
            log.exception("turn.crashed")
            await sink.finish(":warning: Something went wrong on my side. Try again in a moment.")
        finally:
            self.young.discard(destination.team, edit)
            if deferred is not None:
                await deferred.settle()


def register(app: AsyncApp, handler: EventHandler) -> None:
    """Attach the listeners to the Bolt app ("@Claude batch: …" mentions are left to the batch
    listener: Bolt runs the first listener that matches)."""
    listener: Callable[..., Coroutine[Any, Any, None]] = handler.on_event

    async def not_batch(body: dict[str, Any], context: dict[str, Any]) -> bool:
        bot_user_id = str(context.get("bot_user_id") or "")  # Bolt's authorize found it
        return not is_batch_mention(body.get("event") or {}, bot_user_id)

    app.event("app_mention", matchers=[not_batch])(listener)
    app.event("message")(listener)
