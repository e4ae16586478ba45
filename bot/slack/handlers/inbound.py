"""Slack event payloads to Questions (pure): what to answer, what to ignore and why."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.conversation.messages import FileRef, Question, ThreadKey

# Message subtypes that are still a person talking to the bot.
ANSWERABLE_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
DM_TOP_LEVEL = "dm"
# A file object's `mode` when its content cannot be had, and what the user is told.
UNAVAILABLE_MODES = {
    "tombstone": "it was deleted.",
    "hidden_by_limit": "it is hidden by this workspace's plan limits.",
}


@dataclass(frozen=True)
class Ignored:
    """An event the bot does not answer, with the reason (for debug logs)."""

    reason: str


def strip_mention(text: str, bot_user_id: str) -> str:
    """The text without the bot's own mention(s)."""
    return re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", "", text).strip()


def file_ref_from(file: dict[str, Any], workspace: str = "") -> FileRef | None:
    """A FileRef from a Slack file object, shared in `workspace`; a Slack Connect stub
    (`file_access: check_file_info`) has no URL until files.info resolves it. None without an
    id."""
    file_id = file.get("id")
    if not isinstance(file_id, str) or not file_id:
        return None
    url = file.get("url_private_download") or file.get("url_private")
    stub = file.get("file_access") == "check_file_info"
    size = file.get("size")
    return FileRef(
        id=file_id,
        name=str(file.get("name") or file.get("title") or ""),
        mimetype=str(file.get("mimetype") or ""),
        filetype=str(file.get("filetype") or ""),
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        url=url if isinstance(url, str) and url and not stub else None,
        unavailable=UNAVAILABLE_MODES.get(str(file.get("mode") or "")),
        workspace=workspace,
    )


def files_from_event(event: dict[str, Any], workspace: str = "") -> tuple[FileRef, ...]:
    """The files shared with a message, in order."""
    files = event.get("files")
    if not isinstance(files, list):
        return ()
    refs = (file_ref_from(file, workspace) for file in files if isinstance(file, dict))
    return tuple(ref for ref in refs if ref is not None)


def question_from_event(
    event: dict[str, Any], *, team_id: str, bot_user_id: str, event_id: str = ""
) -> Question | Ignored:
    """Turn an app_mention or message.im event into a Question, or say why not (`team_id`:
    the workspace id the thread key carries, see bot.slack.api.workspaces)."""
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
        files=files_from_event(event, team_id),
        feature="dm" if is_dm else "mention",
        action_token=action_token_of(event),
        context_channel=assistant_context_channel(event),
    )


def action_token_of(event: dict[str, Any]) -> str | None:
    """The `action_token` Slack sends with a message or mention event (at the event's top
    level, or inside `assistant_thread` for an assistant thread's message); None without one."""
    thread = event.get("assistant_thread")
    nested = thread.get("action_token") if isinstance(thread, dict) else None
    return _text_field(event.get("action_token")) or _text_field(nested)


def assistant_context_channel(event: dict[str, Any]) -> str | None:
    """The channel an assistant thread was opened from (`assistant_thread.context.channel_id`)."""
    thread = event.get("assistant_thread")
    context = thread.get("context") if isinstance(thread, dict) else None
    channel = context.get("channel_id") if isinstance(context, dict) else None
    return channel if isinstance(channel, str) and channel[:1] in ("C", "G") else None


BATCH_MENTION = re.compile(r"^batch\s*:", re.IGNORECASE)


def batch_template(text: str) -> str | None:
    """The prompt template of a "batch: <template>" mention (the bot's mention stripped), or
    None when the text is not a batch request."""
    match = BATCH_MENTION.match(text.strip())
    return text.strip()[match.end() :].strip() if match else None


def is_batch_mention(event: dict[str, Any], bot_user_id: str) -> bool:
    """An app_mention asking for a batch job ("@Claude batch: …"): handled apart from turns."""
    if event.get("type") != "app_mention":
        return False
    return batch_template(strip_mention(str(event.get("text") or ""), bot_user_id)) is not None


def _text_field(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def author_team(event: dict[str, Any]) -> str | None:
    """The team of the person who wrote a message event, most specific field first:
    `user_team`, `user_profile.team`, `team`, `source_team` (Slack Connect events carry them)."""
    profile = event.get("user_profile")
    profile_team = profile.get("team") if isinstance(profile, dict) else None
    claims = (event.get("user_team"), profile_team, event.get("team"), event.get("source_team"))
    for value in claims:
        if team := _text_field(value):
            return team
    return None


def home_teams(body: dict[str, Any]) -> frozenset[str]:
    """The workspace (and organisation) the event was delivered for."""
    teams = {_text_field(body.get(key)) for key in ("team_id", "context_team_id", "enterprise_id")}
    for auth in body.get("authorizations") or []:
        if isinstance(auth, dict):
            teams |= {_text_field(auth.get("team_id")), _text_field(auth.get("enterprise_id"))}
    return frozenset(team for team in teams if team)


def is_external_author(body: dict[str, Any]) -> bool:
    """The event's author belongs to another organisation: a Slack Connect guest, whose team is
    not the workspace's. A channel Slack says is not externally shared (an Enterprise Grid
    channel across the organisation's own workspaces) has no such guests."""
    if body.get("is_ext_shared_channel") is False:
        return False
    event = body.get("event")
    team = author_team(event) if isinstance(event, dict) else None
    home = home_teams(body)
    return team is not None and bool(home) and team not in home


def message_mark(question: Question) -> str:
    """One mark per Slack message: a retry, or the same message via two events, is answered once."""
    return f"msg:{question.key.team}:{question.key.channel}:{question.ts}"
