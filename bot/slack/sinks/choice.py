"""Which ReplySink shows an answer, chosen per surface, and what the AI surfaces add before an
answer: the thread's title from its first question, and the channel the asker is looking at.

Native streaming (chat.startStream) needs a thread: DM threads (the agent's and the assistant
pane's threads are DM threads) and, with BOT_NATIVE_STREAMING=all, channel threads, where Slack
also needs the reader's user and team ids. A DM's top level, and anything else, is edited in
place, which is also the fallback of a native stream.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Protocol

import structlog
from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.mentions import defuse_broadcasts
from bot.conversation.messages import Question, ThreadKey
from bot.conversation.ports import Clock, ReplySink
from bot.slack.api.calls import RateLimited, call_slack
from bot.slack.api.viewing import ViewingContext
from bot.slack.api.workspaces import team_of
from bot.slack.blocks.feedback import feedback_block
from bot.slack.sinks.edit_in_place import Destination, Journal, SlackReplySink
from bot.slack.sinks.native_stream import NativeStreamSink, StreamTarget

log = structlog.get_logger("bot.slack.handlers.surfaces")

TITLE_CHARS = 60


class SurfaceMarks(Protocol):
    """What is remembered per conversation."""

    async def claim_title(self, key: ThreadKey) -> bool:
        """True the first time: the thread gets its title now."""
        ...

    async def pass_viewing(self, key: ThreadKey, channel: str) -> bool:
        """True when the conversation has not been given this channel's context yet."""
        ...


def stream_target(question: Question, mode: str) -> StreamTarget | None:
    """Where this answer may stream natively; None: edit in place (pure). Never a channel
    thread without the recipient's user and team ids (Slack requires them there)."""
    thread_ts = question.reply_thread_ts
    if mode == "off" or not thread_ts:
        return None
    if question.is_direct_message:
        return StreamTarget(question.key.channel, thread_ts)
    if mode != "all" or not question.user or not question.key.team:
        return None
    return StreamTarget(question.key.channel, thread_ts, question.user, team_of(question.key.team))


def thread_title(text: str) -> str:
    """A thread's title from its first question: the first line, shortened (pure)."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(line) <= TITLE_CHARS:
        return line
    return line[: TITLE_CHARS - 1].rstrip() + "…"


class AnswerSurfaces:
    """Prepares each answer for the surface it is shown on."""

    def __init__(
        self,
        clock: Clock,
        marks: SurfaceMarks,
        *,
        mode: str,
        message_chars: int,
        journal: Journal | None = None,
        viewing: ViewingContext | None = None,
    ) -> None:
        self._clock = clock
        self._marks = marks
        self._mode = mode
        self._limit = message_chars
        self._journal = journal
        self._viewing = viewing

    async def prepare(
        self,
        question: Question,
        destination: Destination,
        edit: SlackReplySink,
        client: AsyncWebClient,
    ) -> tuple[Question, ReplySink]:
        """The question (with the viewed channel's context) and the sink for its answer, which
        talks through the workspace's `client`; never raises."""
        if question.is_direct_message:
            _, question = await asyncio.gather(
                self._title(question, client), self._with_viewing(question)
            )
        target = stream_target(question, self._mode)
        if target is None:
            return question, edit
        sink = NativeStreamSink(
            client,
            target,
            edit,
            clock=self._clock,
            message_chars=self._limit,
            journal=self._journal,
            answer_id=destination.answer_id,
            final_blocks=[feedback_block(destination.answer_id)],
        )
        return question, sink

    async def _title(self, question: Question, client: AsyncWebClient) -> None:
        """Title a DM thread after its first question (assistant.threads.setTitle)."""
        title, thread_ts = thread_title(question.text), question.reply_thread_ts
        if not title or not thread_ts:
            return
        try:
            if not await self._marks.claim_title(question.key):
                return
            await call_slack(
                client.assistant_threads_setTitle,
                channel_id=question.key.channel,
                thread_ts=thread_ts,
                title=defuse_broadcasts(title),
            )
        except (RedisError, SlackApiError, RateLimited) as exc:
            log.info("slack.title_not_set", error=type(exc).__name__)

    async def _with_viewing(self, question: Question) -> Question:
        """The question with the context of the channel its asker is looking at, when Slack
        told us and the conversation does not have it yet."""
        if self._viewing is None or not question.text.strip():
            return question
        try:
            channel = await self._viewing.channel(question)
            if channel is None or not await self._marks.pass_viewing(question.key, channel):
                return question
            note = await self._viewing.note(question.key.team, channel)
        except (RedisError, SlackApiError) as exc:
            log.info("slack.viewing_unavailable", error=type(exc).__name__)
            return question
        log.info("turn.viewing_context", channel=channel)
        return replace(question, text=f"{note}\n\n{question.text}")
