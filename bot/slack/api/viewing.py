"""The channel a person is looking at while they talk to the bot, as Slack tells it, passed to
Claude as context.

Slack says it in several shapes: `assistant_thread.context.channel_id` (assistant_thread_started,
assistant_thread_context_changed: the assistant pane), `context.entities` (app_context_changed,
app_home_opened under agent_view) and `app_context.entities` on a DM's message event. It is
remembered per assistant thread and per person; a conversation gets a channel's context once,
and again when the person moves to another channel. A channel outside BOT_ALLOWED_CHANNELS is
never read: Claude is only told that its messages are not shared.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import structlog
from slack_sdk.errors import SlackApiError

from bot.conversation.messages import Question
from bot.slack.api.people import PeopleDirectory
from bot.slack.api.workspaces import SlackWorkspaces
from bot.slack.handlers.access import AccessPolicy
from bot.slack.handlers.inbound import ANSWERABLE_SUBTYPES

log = structlog.get_logger("bot.slack.api.viewing")

CHANNEL_ENTITY = "slack#/types/channel_id"
MESSAGE_ENTITY = "slack#/types/message_context"
RECENT_MESSAGES = 15
RECENT_CHARS = 4000
MESSAGE_CHARS = 600


class ViewingStore(Protocol):
    """Where the channel in view is remembered."""

    async def save_viewing(self, team: str, scope: str, channel: str) -> None:
        """Remember the channel in view for a thread or a person."""
        ...

    async def viewing(self, team: str, scope: str) -> str | None:
        """The channel in view for a thread or a person."""
        ...


def thread_scope(channel: str, thread_ts: str) -> str:
    """The scope of an assistant thread."""
    return f"thread:{channel}:{thread_ts}"


def user_scope(user: str) -> str:
    """The scope of a person (the agent's Messages tab)."""
    return f"user:{user}"


def is_channel_id(value: object) -> bool:
    """A public or private channel (C…/G…), not a DM: only those are worth passing."""
    return isinstance(value, str) and value[:1] in ("C", "G") and value.isalnum()


def channel_in_assistant_thread(event: Mapping[str, Any]) -> str | None:
    """assistant_thread_started / _context_changed: `assistant_thread.context.channel_id`."""
    thread = event.get("assistant_thread") or {}
    channel = (thread.get("context") or {}).get("channel_id") if isinstance(thread, dict) else None
    return channel if is_channel_id(channel) else None


def channel_in_entities(context: object) -> str | None:
    """The most relevant channel of an active-view context (`{"entities": [...]}`, ordered by
    relevance): a channel entity, or the channel of a message entity."""
    entities = context.get("entities") if isinstance(context, dict) else None
    for entity in entities if isinstance(entities, list) else []:
        if not isinstance(entity, dict):
            continue
        value = entity.get("value")
        if entity.get("type") == MESSAGE_ENTITY and isinstance(value, dict):
            value = value.get("channel_id")
        if entity.get("type") in (CHANNEL_ENTITY, MESSAGE_ENTITY) and is_channel_id(value):
            return str(value)
    return None


def render_viewing(channel: str, lines: list[str]) -> str:
    """The note put in front of the question (pure)."""
    head = f"The person is looking at the Slack channel <#{channel}> while asking."
    if not lines:
        body = f"{head} (Its messages are not shared with you.)"
    else:
        body = f"{head} Its latest messages, oldest first:\n" + "\n".join(lines)
    return f"<viewing_context>\n{body}\n</viewing_context>"


class ViewingContext:
    """Finds the channel in view for a DM question and renders its context (best effort)."""

    def __init__(
        self,
        workspaces: SlackWorkspaces,
        people: PeopleDirectory,
        store: ViewingStore,
        access: AccessPolicy | None = None,
    ) -> None:
        self._workspaces = workspaces
        self._people = people
        self._store = store
        self._access = access or AccessPolicy()

    async def channel(self, question: Question) -> str | None:
        """The channel the asker is looking at: the assistant thread's, else their own."""
        team = question.key.team
        if question.reply_thread_ts:
            scope = thread_scope(question.key.channel, question.reply_thread_ts)
            channel = await self._store.viewing(team, scope)
            if channel:
                return channel
        return await self._store.viewing(team, user_scope(question.user))

    async def note(self, team: str, channel: str) -> str:
        """The context note for a channel: its reference and latest messages the bot can read
        (none from a channel the allowlist leaves out)."""
        if not self._access.may_read(channel):
            log.info("slack.viewing_not_allowed", channel=channel)
            return render_viewing(channel, [])
        try:
            client = (await self._workspaces.get(team)).client
            response = await client.conversations_history(channel=channel, limit=RECENT_MESSAGES)
        except SlackApiError as exc:
            log.info("slack.viewing_unreadable", error=exc.response.get("error"))
            return render_viewing(channel, [])
        messages = [m for m in response.get("messages") or [] if _is_human(m)]
        lines: list[str] = []
        size = 0
        for message in messages:  # newest first
            text = str(message["text"])[:MESSAGE_CHARS]
            size += len(text)
            if size > RECENT_CHARS and lines:
                break
            author = await self._people.author(team, str(message["user"]))
            lines.append(f"[{author}]: {text}")
        lines.reverse()
        return render_viewing(channel, lines)


def _is_human(message: Mapping[str, Any]) -> bool:
    return (
        not message.get("bot_id")
        and isinstance(message.get("user"), str)
        and message.get("subtype") in ANSWERABLE_SUBTYPES
        and bool(message.get("text"))
    )
