"""Slack event payloads to Questions (pure): what to answer, what to ignore and why."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.conversation.messages import Question, ThreadKey

# Message subtypes that are still a person talking to the bot.
ANSWERABLE_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
DM_TOP_LEVEL = "dm"


@dataclass(frozen=True)
class Ignored:
    """An event the bot does not answer, with the reason (for debug logs)."""

    reason: str


def strip_mention(text: str, bot_user_id: str) -> str:
    """The text without the bot's own mention(s)."""
    return re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", "", text).strip()


def question_from_event(
    event: dict[str, Any], *, team_id: str, bot_user_id: str, event_id: str = ""
) -> Question | Ignored:
    """Turn an app_mention or message.im event into a Question, or say why not."""
    kind = event.get("type")
    if kind not in ("app_mention", "message"):
        return Ignored(f"event type {kind!r}")
    if event.get("bot_id") or event.get("bot_profile"):
        return Ignored("posted by a bot")
    if event.get("subtype") not in ANSWERABLE_SUBTYPES:
        return Ignored(f"subtype {event.get('subtype')!r}")
    user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
    if not (isinstance(user, str) and isinstance(channel, str) and isinstance(ts, str)):
        return Ignored("missing user, channel or ts")
    if user == bot_user_id:
        return Ignored("the bot's own message")
    is_dm = kind == "message"
    if is_dm and event.get("channel_type") != "im":
        return Ignored(f"message in a {event.get('channel_type')!r} channel")
    thread_ts = event.get("thread_ts")
    thread_ts = thread_ts if isinstance(thread_ts, str) and thread_ts else None
    if is_dm:
        key_ts, reply_ts = (thread_ts or DM_TOP_LEVEL), thread_ts
    else:
        key_ts = reply_ts = thread_ts or ts
    return Question(
        key=ThreadKey(team=team_id, channel=channel, thread_ts=key_ts),
        user=user,
        text=strip_mention(str(event.get("text") or ""), bot_user_id),
        ts=ts,
        is_direct_message=is_dm,
        reply_thread_ts=reply_ts,
        event_id=event_id,
    )


def message_mark(question: Question) -> str:
    """One mark per Slack message: a retry, or the same message via two events, is answered once."""
    return f"msg:{question.key.team}:{question.key.channel}:{question.ts}"
