"""Read and housekeeping Web API methods: conversations, users, reactions, files, views..."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time

from .slack_events import bot_profile, channel_object, random_id, user_object
from .slack_models import Channel, JsonDict, SlackError, StoredMessage
from .slack_state import Workspace
from .slack_web_common import Call, Handler, flag, get_channel, message_json, opt_str

TRIGGER_TTL_S = 3.0
_EMOJI_RE = re.compile(r"[a-z0-9_+'\-]+(::skin-tone-[2-6])?")


# ---- conversations ---------------------------------------------------------------------


def _bound(call: Call, key: str, default: float) -> float:
    raw = opt_str(call, key)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SlackError(f"invalid_ts_{key}") from None


def _in_range(call: Call, messages: list[StoredMessage]) -> list[StoredMessage]:
    oldest, latest = _bound(call, "oldest", 0.0), _bound(call, "latest", math.inf)
    if flag(call, "inclusive"):
        return [m for m in messages if oldest <= float(m.ts) <= latest]
    return [m for m in messages if oldest < float(m.ts) < latest]


def _encode_cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts.replace('.', '')}".encode()).decode()


def _limit(call: Call, default: int) -> int:
    raw = opt_str(call, "limit")
    try:
        limit = int(float(raw)) if raw else 0
    except ValueError:
        limit = 0
    return min(limit, 1000) if limit > 0 else default


def _page(
    call: Call, items: list[StoredMessage], default_limit: int
) -> tuple[list[StoredMessage], str]:
    """One page of `items` after `cursor`, and the cursor of the next page ("" at the end)."""
    start = 0
    cursor = opt_str(call, "cursor")
    if cursor:
        try:
            key = base64.b64decode(cursor, validate=True).decode().removeprefix("next_ts:")
        except (binascii.Error, UnicodeDecodeError):
            raise SlackError("invalid_cursor") from None
        start = next((i for i, m in enumerate(items) if m.ts.replace(".", "") == key), -1)
        if start < 0:
            raise SlackError("invalid_cursor")
    limit = _limit(call, default_limit)
    page = items[start : start + limit]
    rest = items[start + limit :]
    return page, (_encode_cursor(rest[0].ts) if rest else "")


def _visible(ws: Workspace, msg: StoredMessage, channel: Channel) -> JsonDict:
    if msg.deleted:
        return {
            "type": "message",
            "subtype": "tombstone",
            "text": "This message was deleted.",
            "user": "USLACKBOT",
            "hidden": True,
            "ts": msg.ts,
            "thread_ts": msg.ts,
        }
    return message_json(ws, msg, channel)


def _live(channel: Channel, msg: StoredMessage) -> bool:
    """Not deleted, or a deleted root that still has replies (shown as a tombstone)."""
    return not msg.deleted or any(not r.deleted for r in channel.replies.get(msg.ts, []))


def conversations_replies(ws: Workspace, call: Call) -> JsonDict:
    channel = get_channel(ws, call)
    target = channel.by_ts.get(opt_str(call, "ts") or "")
    if target is None:
        raise SlackError("thread_not_found")
    root_ts = target.thread_ts or target.ts
    root = channel.by_ts.get(root_ts)
    if root is None or not _live(channel, root):
        raise SlackError("thread_not_found")
    replies = _in_range(call, [r for r in channel.replies.get(root_ts, []) if not r.deleted])
    page, next_cursor = _page(call, [root, *replies], 1000)
    return {
        "ok": True,
        "messages": [_visible(ws, m, channel) for m in page],
        "has_more": bool(next_cursor),
        "response_metadata": {"next_cursor": next_cursor},
    }


def conversations_history(ws: Workspace, call: Call) -> JsonDict:
    channel = get_channel(ws, call)
    top = [m for m in channel.messages if m.thread_ts is None or m.reply_broadcast]
    items = _in_range(call, [m for m in reversed(top) if _live(channel, m)])
    page, next_cursor = _page(call, items, 100)
    return {
        "ok": True,
        "messages": [_visible(ws, m, channel) for m in page],
        "has_more": bool(next_cursor),
        "pin_count": 0,
        "channel_actions_ts": None,
        "channel_actions_count": 0,
        "response_metadata": {"next_cursor": next_cursor},
    }


def conversations_info(ws: Workspace, call: Call) -> JsonDict:
    channel = get_channel(ws, call, member=False)
    return {"ok": True, "channel": channel_object(channel, ws.ids.bot_user_id)}


def conversations_join(ws: Workspace, call: Call) -> JsonDict:
    channel = get_channel(ws, call, member=False, writable=True)
    if channel.is_im or channel.is_private:
        raise SlackError("method_not_supported_for_channel_type")
    channel.members.add(ws.ids.bot_user_id)
    return {"ok": True, "channel": channel_object(channel, ws.ids.bot_user_id)}


# ---- identity ----------------------------------------------------------------------------


def users_info(ws: Workspace, call: Call) -> JsonDict:
    user = ws.users.get(opt_str(call, "user") or "")
    if user is None:
        raise SlackError("user_not_found")
    return {"ok": True, "user": user_object(user, ws.ids)}


def auth_test(ws: Workspace, call: Call) -> JsonDict:
    ids = ws.ids
    return {
        "ok": True,
        "url": ids.workspace_url,
        "team": ids.team_name,
        "user": ids.bot_name.lower(),
        "team_id": ids.team_id,
        "user_id": ids.bot_user_id,
        "bot_id": ids.bot_id,
        "is_enterprise_install": False,
        **({"enterprise_id": ids.enterprise_id} if ids.enterprise_id else {}),
    }


def bots_info(ws: Workspace, call: Call) -> JsonDict:
    bot = opt_str(call, "bot")
    if bot not in (None, ws.ids.bot_id):
        raise SlackError("bot_not_found")
    profile = bot_profile(ws.ids)
    profile["user_id"] = ws.ids.bot_user_id
    return {"ok": True, "bot": profile}


def team_info(ws: Workspace, call: Call) -> JsonDict:
    ids = ws.ids
    team = {
        "id": ids.team_id,
        "name": ids.team_name,
        "url": ids.workspace_url,
        "domain": ids.team_domain,
        "email_domain": "",
        "icon": {"image_default": True},
        "is_verified": False,
    }
    return {"ok": True, "team": team}


# ---- reactions and files -------------------------------------------------------------------


def _reaction_target(ws: Workspace, call: Call) -> tuple[StoredMessage, str]:
    name = opt_str(call, "name") or ""
    if not _EMOJI_RE.fullmatch(name):
        raise SlackError("invalid_name")
    if not call.args.get("channel") or not call.args.get("timestamp"):
        raise SlackError("no_item_specified")
    channel = get_channel(ws, call, member=False)
    msg = channel.by_ts.get(opt_str(call, "timestamp") or "")
    if msg is None or msg.deleted:
        raise SlackError("message_not_found")
    return msg, name


def reactions_add(ws: Workspace, call: Call) -> JsonDict:
    msg, name = _reaction_target(ws, call)
    if ws.channels[msg.channel].is_archived:
        raise SlackError("is_archived")
    users = msg.reactions.setdefault(name, [])
    if ws.ids.bot_user_id in users:
        raise SlackError("already_reacted")
    users.append(ws.ids.bot_user_id)
    return {"ok": True}


def reactions_remove(ws: Workspace, call: Call) -> JsonDict:
    msg, name = _reaction_target(ws, call)
    users = msg.reactions.get(name, [])
    if ws.ids.bot_user_id not in users:
        raise SlackError("no_reaction")
    users.remove(ws.ids.bot_user_id)
    if not users:
        del msg.reactions[name]
    return {"ok": True}


def files_info(ws: Workspace, call: Call) -> JsonDict:
    file = ws.files.get(opt_str(call, "file") or "")
    if file is None:
        raise SlackError("file_not_found")
    return {"ok": True, "file": file, "comments": [], "response_metadata": {"next_cursor": ""}}


# ---- assistant threads -----------------------------------------------------------------------


def _assistant_thread(ws: Workspace, call: Call, *, required: bool) -> tuple[Channel, str]:
    channel = get_channel(ws, call, "channel_id", member=False)
    thread_ts = opt_str(call, "thread_ts") or ""
    if (required or thread_ts) and thread_ts not in channel.by_ts:
        raise SlackError("invalid_thread_ts")
    return channel, thread_ts


def set_status(ws: Workspace, call: Call) -> JsonDict:
    channel, thread_ts = _assistant_thread(ws, call, required=True)
    status = opt_str(call, "status") or ""
    ws.statuses.append((call.now, channel.id, thread_ts, status))
    if status:
        ws.current_status[(channel.id, thread_ts)] = status
    else:
        ws.current_status.pop((channel.id, thread_ts), None)
    return {"ok": True}


def set_title(ws: Workspace, call: Call) -> JsonDict:
    _assistant_thread(ws, call, required=True)
    return {"ok": True}


def set_suggested_prompts(ws: Workspace, call: Call) -> JsonDict:
    _assistant_thread(ws, call, required=False)
    return {"ok": True}


# ---- views -------------------------------------------------------------------------------------


def _view_arg(call: Call) -> JsonDict:
    view = call.args.get("view")
    if isinstance(view, str):
        try:
            view = json.loads(view)
        except ValueError:
            view = None
    if not isinstance(view, dict) or not isinstance(view.get("type"), str):
        raise SlackError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] invalid `view`"]}
        )
    return view


def _store_view(ws: Workspace, call: Call, view: JsonDict, view_id: str | None = None) -> JsonDict:
    stored = {
        "id": view_id or random_id("V"),
        "team_id": ws.ids.team_id,
        "app_id": ws.ids.app_id,
        "bot_id": ws.ids.bot_id,
        "hash": f"{int(time.time())}.{random_id('', 8)}",
        **view,
    }
    ws.views.append({"method": call.method, "args": dict(call.args), "view": stored})
    return stored


def _consume_trigger(ws: Workspace, call: Call) -> None:
    trigger = opt_str(call, "trigger_id") or opt_str(call, "interactivity_pointer") or ""
    issued = ws.triggers.get(trigger)
    if issued is None:
        raise SlackError("invalid_trigger_id")
    if trigger in ws.used_triggers:
        raise SlackError("exchanged_trigger_id")
    if call.now - issued > TRIGGER_TTL_S:
        raise SlackError("expired_trigger_id")
    ws.used_triggers.add(trigger)


def views_open(ws: Workspace, call: Call) -> JsonDict:
    view = _view_arg(call)
    _consume_trigger(ws, call)
    return {"ok": True, "view": _store_view(ws, call, view)}


def views_publish(ws: Workspace, call: Call) -> JsonDict:
    view = _view_arg(call)
    if opt_str(call, "user_id") not in ws.users or view["type"] != "home":
        raise SlackError("invalid_arguments")
    return {"ok": True, "view": _store_view(ws, call, view)}


def views_update(ws: Workspace, call: Call) -> JsonDict:
    view = _view_arg(call)
    view_id = opt_str(call, "view_id")
    known = {v["view"]["id"] for v in ws.views}
    if view_id is None and opt_str(call, "external_id") is None:
        raise SlackError("invalid_arguments")
    if view_id is not None and view_id not in known:
        raise SlackError("not_found")
    return {"ok": True, "view": _store_view(ws, call, view, view_id)}


MISC_HANDLERS: dict[str, Handler] = {
    "conversations.replies": conversations_replies,
    "conversations.history": conversations_history,
    "conversations.info": conversations_info,
    "conversations.join": conversations_join,
    "users.info": users_info,
    "auth.test": auth_test,
    "bots.info": bots_info,
    "team.info": team_info,
    "reactions.add": reactions_add,
    "reactions.remove": reactions_remove,
    "files.info": files_info,
    "assistant.threads.setStatus": set_status,
    "assistant.threads.setTitle": set_title,
    "assistant.threads.setSuggestedPrompts": set_suggested_prompts,
    "views.open": views_open,
    "views.publish": views_publish,
    "views.update": views_update,
}
