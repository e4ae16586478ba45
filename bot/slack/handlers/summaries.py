"""Summaries: "@Claude summarise" in a thread, "@Claude summarise #channel since Monday", and the
"Summarise thread" message shortcut. Each becomes an ordinary question whose text tells Claude
what to read (read_channel) and how to answer: decisions, open questions, owners, each with the
permalinks of the messages it rests on (pure, but for the shortcut's handler)."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import structlog

from bot.conversation.messages import Question, ThreadKey
from bot.slack.api.workspaces import NotInstalled, workspace_of
from bot.slack.handlers.access import AccessPolicy
from bot.slack.handlers.commands import AnswerStarter
from bot.tools.slack.directory import SlackDirectory

log = structlog.get_logger("bot.slack.summaries")

SHORTCUT_ID = "summarise_thread"
_ASK = re.compile(r"^\s*(?:summari[sz]e|sum\s+up|tl;?dr)\b[\s:,.!]*(?P<rest>.*)$", re.I | re.S)
_CHANNEL = re.compile(r"<#(?P<id>[CG][A-Z0-9]{2,})(?:\|(?P<name>[^>]*))?>")
_SINCE = re.compile(r"\b(?:since|from)\s+(?P<since>[\w:\-]+)", re.I)
SHAPE = (
    "Answer with three short sections: *Decisions*, *Open questions*, *Owners* (who does "
    "what). End every bullet with the permalink of the message it rests on, as a Slack link "
    "<permalink|source>. Leave out a section with nothing in it. If the read stopped at its "
    "cap, say which part was not read."
)
THREAD = (
    "Summarise this Slack thread (channel {channel}, thread_ts {thread_ts}). Read it with "
    "read_channel (channel={channel}, thread_ts={thread_ts}) so you have every message and its "
    "permalink. " + SHAPE
)
CHANNEL = (
    "Summarise what happened in <#{channel}>{period}. Read it with read_channel "
    "(channel={channel}{since_arg}); for a thread that matters, read it too (thread_ts). " + SHAPE
)
NOT_IN = "I'm not in this channel, so I can't read the thread. Invite me with `/invite @{bot}`."

Respond = Callable[..., Awaitable[Any]]


def summary_instruction(text: str, channel: str, thread_ts: str | None) -> str | None:
    """What to ask Claude for "summarise …" (None: the text is not a summary request).

    With a #channel: that channel (since when it says); in a thread: the thread."""
    asked = _ASK.match(text)
    if asked is None:
        return None
    rest = asked.group("rest")
    named = _CHANNEL.search(rest)
    if named is not None:
        since = _SINCE.search(rest[named.end() :])
        period = f" since {since.group('since')}" if since else ""
        since_arg = f", since={since.group('since').lower()}" if since else ""
        return CHANNEL.format(channel=named.group("id"), period=period, since_arg=since_arg)
    if rest.strip() and not thread_ts:
        return None  # "summarise this article: …" at the top level: an ordinary question
    if thread_ts is None:
        return None
    return THREAD.format(channel=channel, thread_ts=thread_ts)


def with_summary_instruction(question: Question) -> Question:
    """The question with a summary request spelled out for Claude (unchanged otherwise). In a
    DM only a named channel is: the DM's own thread is already the conversation."""
    thread = None if question.is_direct_message else question.reply_thread_ts
    instruction = summary_instruction(question.text, question.key.channel, thread)
    return question if instruction is None else replace(question, text=instruction)


@dataclass(frozen=True)
class SummaryShortcut:
    """The "Summarise thread" message shortcut: a summary posted in that message's thread (of
    the shortcut's workspace)."""

    access: AccessPolicy
    directory: SlackDirectory
    answers: AnswerStarter

    async def on_shortcut(self, ack: Respond, body: dict[str, Any], respond: Respond) -> None:
        """Ack, check who and where, then answer in the thread."""
        await ack()
        channel = str((body.get("channel") or {}).get("id") or "")
        user = str((body.get("user") or {}).get("id") or "")
        message = body.get("message") or {}
        root = str(message.get("thread_ts") or message.get("ts") or body.get("message_ts") or "")
        if not (channel and user and root):
            return
        refusal = self.access.refusal(user, channel, is_direct_message=channel.startswith("D"))
        if refusal is not None:
            await respond(response_type="ephemeral", text=refusal)
            return
        team = workspace_of(body)
        try:
            directory = await self.directory.of(team)
        except NotInstalled:
            log.warning("summary.not_installed")
            return
        facts = await directory.channel(channel)
        if facts is None or not facts.bot_is_member:
            bot = directory.workspace.bot_name
            await respond(response_type="ephemeral", text=NOT_IN.format(bot=bot))
            return
        log.info("summary.shortcut", channel=channel)
        question = Question(
            key=ThreadKey(team, channel, root),
            user=user,
            text=THREAD.format(channel=channel, thread_ts=root),
            ts=f"{time.time():.6f}",
            is_direct_message=channel.startswith("D"),
            reply_thread_ts=root,
            feature="summarise",
        )
        self.answers.spawn_answer(question)
