"""Builders for the JSON Slack sends: message objects, Events API payloads, envelopes."""

from __future__ import annotations

import base64
import json
import random
import re
import string
import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from .slack_models import Channel, JsonDict, StoredMessage, User

_MENTION_RE = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_ID_CHARS = string.ascii_uppercase + string.digits


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the app and its workspace are."""

    team_id: str
    team_name: str
    team_domain: str
    bot_user_id: str
    bot_id: str
    bot_name: str
    app_id: str
    bot_token: str
    app_token: str
    enterprise_id: str | None = None  # the Enterprise Grid organisation, if any

    @property
    def workspace_url(self) -> str:
        return f"https://{self.team_domain}.slack.com/"


def random_id(prefix: str, length: int = 10) -> str:
    return prefix + "".join(random.choices(_ID_CHARS, k=length))


def new_envelope_id() -> str:
    return str(uuid.uuid4())


def rich_text_blocks(text: str) -> list[JsonDict]:
    """The rich_text block Slack's clients attach to a typed message (mentions as user elements)."""
    elements: list[JsonDict] = []
    pos = 0
    for match in _MENTION_RE.finditer(text):
        if match.start() > pos:
            elements.append({"type": "text", "text": text[pos : match.start()]})
        elements.append({"type": "user", "user_id": match.group(1)})
        pos = match.end()
    if pos < len(text):
        elements.append({"type": "text", "text": text[pos:]})
    section = {"type": "rich_text_section", "elements": elements}
    return [{"type": "rich_text", "block_id": random_id("", 5), "elements": [section]}]


def bot_profile(ids: Identity) -> JsonDict:
    return {
        "id": ids.bot_id,
        "app_id": ids.app_id,
        "name": ids.bot_name,
        "icons": {"image_36": "https://a.slack-edge.com/80588/img/plugins/app/bot_36.png"},
        "deleted": False,
        "updated": 1700000000,
        "team_id": ids.team_id,
    }


def message_object(msg: StoredMessage, ids: Identity, channel: Channel | None = None) -> JsonDict:
    """A message as the Web API and events show it."""
    out: JsonDict = {"user": msg.user, "type": "message", "ts": msg.ts}
    if msg.bot_id is not None:
        out.update(bot_id=msg.bot_id, app_id=ids.app_id)
    elif msg.client_msg_id is not None:
        out["client_msg_id"] = msg.client_msg_id
    out["text"] = msg.markdown_text if msg.markdown_text is not None else msg.text
    out["team"] = ids.team_id
    if msg.bot_id is not None:
        out["bot_profile"] = bot_profile(ids)
    _optional_fields(out, msg)
    if channel is not None:
        _thread_fields(out, msg, channel)
    return out


def _optional_fields(out: JsonDict, msg: StoredMessage) -> None:
    if msg.blocks is not None:
        out["blocks"] = msg.blocks
    if msg.attachments:
        out["attachments"] = msg.attachments
    if msg.files:
        out.update(files=msg.files, upload=False, display_as_bot=False)
    if msg.metadata:
        out["metadata"] = msg.metadata
    if msg.edited_ts is not None:
        out["edited"] = {"user": msg.user, "ts": msg.edited_ts}
    if msg.reactions:
        out["reactions"] = [
            {"name": name, "users": users, "count": len(users)}
            for name, users in msg.reactions.items()
        ]


def _thread_fields(out: JsonDict, msg: StoredMessage, channel: Channel) -> None:
    if msg.thread_ts is not None:
        root = channel.by_ts.get(msg.thread_ts)
        out["thread_ts"] = msg.thread_ts
        out["parent_user_id"] = root.user if root else msg.user
        if msg.reply_broadcast:
            out["subtype"] = "thread_broadcast"
        return
    replies = [r for r in channel.replies.get(msg.ts, []) if not r.deleted]
    if replies:
        users = list(dict.fromkeys(r.user for r in replies))
        out.update(
            thread_ts=msg.ts,
            reply_count=len(replies),
            reply_users_count=len(users),
            latest_reply=replies[-1].ts,
            reply_users=users,
            is_locked=False,
            subscribed=False,
        )


def user_message_event(
    msg: StoredMessage, channel: Channel, ids: Identity, event_type: str, author: User | None = None
) -> JsonDict:
    """The `message` / `app_mention` event for a message a human typed. In a Slack Connect
    channel it names the author's team (`team`, `user_team`, `source_team`), and an author from
    another organisation comes with a `user_profile` naming theirs."""
    event = message_object(msg, ids)
    event["type"] = event_type
    if channel.is_ext_shared or (author is not None and author.team):
        team = (author.team if author else None) or ids.team_id
        event.update(team=team, user_team=team, source_team=team)
        if author is not None and author.team:
            event["user_profile"] = {
                "real_name": author.real_name,
                "display_name": author.name,
                "name": author.name,
                "team": author.team,
                "is_restricted": False,
                "is_ultra_restricted": False,
            }
    event["channel"] = channel.id
    event["event_ts"] = msg.ts
    if msg.thread_ts is not None:
        event["thread_ts"] = msg.thread_ts
        if event_type == "message":
            root = channel.by_ts.get(msg.thread_ts)
            event["parent_user_id"] = root.user if root else msg.user
    if event_type == "message":
        event["channel_type"] = channel.channel_type
        if msg.files:
            event["subtype"] = "file_share"
    return event


def bot_message_event(msg: StoredMessage, channel: Channel, ids: Identity) -> JsonDict:
    """The `message` event Slack sends (to message.im subscribers) for the bot's own post."""
    event = message_object(msg, ids, channel)
    event.update(channel=channel.id, event_ts=msg.ts, channel_type=channel.channel_type)
    return event


def message_changed_event(
    msg: StoredMessage, previous: JsonDict, channel: Channel, ids: Identity, event_ts: str
) -> JsonDict:
    return {
        "type": "message",
        "subtype": "message_changed",
        "message": message_object(msg, ids, channel),
        "previous_message": previous,
        "channel": channel.id,
        "hidden": True,
        "ts": event_ts,
        "event_ts": event_ts,
        "channel_type": channel.channel_type,
    }


def message_deleted_event(
    previous: JsonDict, channel: Channel, deleted_ts: str, event_ts: str
) -> JsonDict:
    return {
        "type": "message",
        "subtype": "message_deleted",
        "previous_message": previous,
        "channel": channel.id,
        "hidden": True,
        "deleted_ts": deleted_ts,
        "ts": event_ts,
        "event_ts": event_ts,
        "channel_type": channel.channel_type,
    }


def _event_context(ids: Identity, event: JsonDict) -> str:
    ctx = {"et": event.get("type"), "tid": ids.team_id, "aid": ids.app_id}
    if ids.enterprise_id:
        ctx["eid"] = ids.enterprise_id
    if "channel" in event:
        ctx["cid"] = event["channel"]
    raw = json.dumps(ctx, separators=(",", ":")).encode()
    return "4-" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def event_callback(
    ids: Identity, event: JsonDict, verification_token: str, *, ext_shared: bool = False
) -> JsonDict:
    """The Events API outer payload (`type: event_callback`) around one event."""
    event_ts = str(event.get("event_ts") or event.get("ts") or "0")
    enterprise: JsonDict = {"enterprise_id": ids.enterprise_id} if ids.enterprise_id else {}
    return {
        "token": verification_token,
        "team_id": ids.team_id,
        **enterprise,
        "context_team_id": ids.team_id,
        "context_enterprise_id": ids.enterprise_id,
        "api_app_id": ids.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": random_id("Ev"),
        "event_time": int(float(event_ts)),
        "authorizations": [
            {
                "enterprise_id": ids.enterprise_id,
                "team_id": ids.team_id,
                "user_id": ids.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": ext_shared,
        "event_context": _event_context(ids, event),
    }


def envelope(
    envelope_type: str,
    payload: JsonDict,
    *,
    retry_attempt: int,
    retry_reason: str,
    accepts_response_payload: bool,
) -> JsonDict:
    """A Socket Mode envelope; events_api ones also carry the retry fields."""
    env: JsonDict = {
        "envelope_id": new_envelope_id(),
        "payload": payload,
        "type": envelope_type,
        "accepts_response_payload": accepts_response_payload,
    }
    if envelope_type == "events_api":
        env["retry_attempt"] = retry_attempt
        env["retry_reason"] = retry_reason
    return env


def slash_command_payload(
    ids: Identity,
    *,
    command: str,
    text: str,
    user: User,
    channel: Channel,
    response_url: str,
    trigger_id: str,
    verification_token: str,
) -> JsonDict:
    """What Slack posts for a slash command (all values are strings, as in the form post)."""
    enterprise = (
        {"enterprise_id": ids.enterprise_id, "enterprise_name": f"Org {ids.enterprise_id}"}
        if ids.enterprise_id
        else {}
    )
    return {
        "token": verification_token,
        "team_id": ids.team_id,
        "team_domain": ids.team_domain,
        **enterprise,
        "channel_id": channel.id,
        "channel_name": "directmessage" if channel.is_im else channel.name,
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": ids.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def hello_message(ids: Identity, num_connections: int) -> JsonDict:
    return {
        "type": "hello",
        "num_connections": num_connections,
        "debug_info": {
            "host": "applink-fake",
            "build_number": 1,
            "approximate_connection_time": 18060,
        },
        "connection_info": {"app_id": ids.app_id},
    }


def disconnect_message(reason: str) -> JsonDict:
    return {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}


def _utc_offset(tz: str) -> int:
    offset = datetime.now(ZoneInfo(tz)).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def user_object(user: User, ids: Identity) -> JsonDict:
    """A users.info `user` object."""
    profile: JsonDict = {
        "real_name": user.real_name,
        "display_name": user.name,
        "real_name_normalized": user.real_name,
        "display_name_normalized": user.name,
        "team": user.team or ids.team_id,
        "image_48": "https://secure.gravatar.com/avatar/fake-48.png",
    }
    if user.is_bot:
        profile["bot_id"] = ids.bot_id
    return {
        "id": user.id,
        "team_id": user.team or ids.team_id,
        "name": user.name,
        "deleted": user.deleted,
        "real_name": user.real_name,
        "tz": user.tz,
        "tz_label": user.tz,
        "tz_offset": _utc_offset(user.tz),
        "profile": profile,
        "is_admin": False,
        "is_owner": False,
        "is_restricted": user.restricted,
        "is_ultra_restricted": False,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "updated": 1700000000,
    }


def channel_object(channel: Channel, bot_user_id: str) -> JsonDict:
    """A conversations.info `channel` object."""
    if channel.is_im:
        return {
            "id": channel.id,
            "created": channel.created,
            "is_im": True,
            "is_org_shared": False,
            "user": channel.im_user,
            "is_user_deleted": False,
            "priority": 0,
        }
    return {
        "id": channel.id,
        "name": channel.name,
        "is_channel": not channel.is_private,
        "is_group": channel.is_private,
        "is_im": False,
        "is_mpim": False,
        "is_private": channel.is_private,
        "created": channel.created,
        "is_archived": channel.is_archived,
        "is_general": False,
        "is_shared": channel.is_ext_shared,
        "is_ext_shared": channel.is_ext_shared,
        "is_org_shared": False,
        "is_member": bot_user_id in channel.members,
        "name_normalized": channel.name,
        "num_members": len(channel.members),
    }
