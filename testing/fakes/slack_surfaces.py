"""What a person does on Slack's AI surfaces, played against the fake Slack: open the agent's
Messages tab or the Home tab, start an assistant thread, click an answer's feedback buttons or
any Block Kit button of a message.

Each event goes out only if manifest.yml subscribes to it (and its scopes are granted), as
Slack would; a click only on a button (feedback or Block Kit) the message really carries.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from .slack_events import event_callback, random_id
from .slack_models import JsonDict
from .slack_people import post_as_user
from .slack_server import FakeSlack
from .slack_state import CommandHook
from .slack_web_common import message_json


def _ws(slack: FakeSlack) -> Any:
    return slack._ws  # the fakes package shares its workspace


def _interaction(slack: FakeSlack, kind: str, user: str, channel: str) -> tuple[str, str]:
    """A live trigger_id and the response_url of one interaction (Slack's shapes for both)."""
    ws = _ws(slack)
    trigger_id = f"{uuid.uuid4().int % 10**10}.{random_id('', 8)}"
    ws.triggers[trigger_id] = time.monotonic()
    key = uuid.uuid4().hex[:24]
    ws.hooks[key] = CommandHook(kind, user, channel)
    return trigger_id, f"{ws.base_url}/actions/{slack.ids.team_id}/{trigger_id[:10]}/{key}"


def _enterprise(slack: FakeSlack) -> JsonDict | None:
    """The payload's `enterprise`: the workspace's Enterprise Grid organisation, if any."""
    return {"id": slack.ids.enterprise_id} if slack.ids.enterprise_id else None


async def app_event(slack: FakeSlack, event: JsonDict) -> str:
    """Push an Events API event the app subscribed to; returns the envelope id."""
    name = str(event["type"])
    if not _ws(slack).subscribed(name):
        raise AssertionError(f"manifest.yml does not subscribe to {name} (or lacks its scopes)")
    event.setdefault("event_ts", f"{time.time():.6f}")
    payload = event_callback(slack.ids, event, slack.verification_token)
    return await slack.send_envelope("events_api", payload)


def viewing_context(channel: str, team: str) -> JsonDict:
    """An active-view context naming a channel (agent_view's `context` / `app_context`)."""
    return {"entities": [{"type": "slack#/types/channel_id", "value": channel, "team_id": team}]}


async def open_messages_tab(
    slack: FakeSlack, user: str, dm: str, viewing: str | None = None
) -> str:
    """The person opens the agent's Messages tab (app_home_opened, tab "messages")."""
    event: JsonDict = {"type": "app_home_opened", "user": user, "channel": dm, "tab": "messages"}
    if viewing is not None:
        event["context"] = viewing_context(viewing, slack.ids.team_id)
    return await app_event(slack, event)


async def open_home_tab(slack: FakeSlack, user: str, dm: str) -> str:
    """The person opens the app's Home tab."""
    event = {"type": "app_home_opened", "user": user, "channel": dm, "tab": "home"}
    return await app_event(slack, event)


async def start_assistant_thread(
    slack: FakeSlack, user: str, dm: str, viewing: str | None = None
) -> str:
    """The person opens the assistant pane: Slack creates the thread's root in the DM (no
    message event) and sends assistant_thread_started; returns the thread's ts."""
    _, root = post_as_user(_ws(slack), dm, user, "New chat", None, None)
    context: JsonDict = {}
    if viewing is not None:
        context = {
            "channel_id": viewing,
            "team_id": slack.ids.team_id,
            "enterprise_id": slack.ids.enterprise_id,
        }
    thread = {"user_id": user, "context": context, "channel_id": dm, "thread_ts": root.ts}
    await app_event(slack, {"type": "assistant_thread_started", "assistant_thread": thread})
    return root.ts


def _feedback_element(message: JsonDict) -> tuple[str, JsonDict]:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if block.get("type") == "context_actions" and element.get("type") == "feedback_buttons":
                return str(block.get("block_id") or ""), element
    raise AssertionError(f"message {message.get('ts')} has no feedback buttons")


async def click_feedback(
    slack: FakeSlack, channel: str, message_ts: str, user: str, *, positive: bool
) -> str:
    """The person clicks 👍 or 👎 under an answer: a block_actions interaction."""
    message = _message(slack, channel, message_ts)
    block_id, element = _feedback_element(message)
    button = element["positive_button" if positive else "negative_button"]
    action = {
        "type": "feedback_buttons",
        "action_id": element.get("action_id"),
        "block_id": block_id,
        "value": button["value"],
        "text": button["text"],
        "action_ts": f"{time.time():.6f}",
    }
    return await _block_actions(slack, channel, message_ts, user, action)


def _button(message: JsonDict, action_id: str) -> tuple[str, JsonDict]:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("type") == "button" and element.get("action_id") == action_id:
                return str(block.get("block_id") or ""), element
        accessory = block.get("accessory") or {}
        if accessory.get("type") == "button" and accessory.get("action_id") == action_id:
            return str(block.get("block_id") or ""), accessory
    raise AssertionError(f"message {message.get('ts')} has no button {action_id!r}")


async def click_button(
    slack: FakeSlack,
    channel: str,
    message_ts: str,
    user: str,
    action_id: str,
    *,
    connection: int | None = None,
) -> str:
    """The person clicks the Block Kit button `action_id` of a message (it must be there now):
    a block_actions interaction with the button's block_id, value and text (sent to the n-th
    Socket Mode connection when `connection` is given)."""
    message = _message(slack, channel, message_ts)
    block_id, button = _button(message, action_id)
    action: JsonDict = {
        "type": "button",
        "action_id": action_id,
        "block_id": block_id,
        "text": button["text"],
        "action_ts": f"{time.time():.6f}",
    }
    if "value" in button:
        action["value"] = button["value"]
    if "style" in button:
        action["style"] = button["style"]
    return await _block_actions(slack, channel, message_ts, user, action, connection)


def _message(slack: FakeSlack, channel: str, message_ts: str) -> JsonDict:
    ws = _ws(slack)
    conv = ws.require_channel(channel)
    return message_json(ws, conv.by_ts[message_ts], conv)


async def _block_actions(
    slack: FakeSlack,
    channel: str,
    message_ts: str,
    user: str,
    action: JsonDict,
    connection: int | None = None,
) -> str:
    """Send the block_actions payload Slack sends for a click on a message's element, with a
    live trigger_id and a response_url (as for a slash command)."""
    ws = _ws(slack)
    conv = ws.require_channel(channel)
    stored = conv.by_ts[message_ts]
    member = ws.require_user(user)
    container: JsonDict = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel,
        "is_ephemeral": False,
    }
    if stored.thread_ts is not None:
        container["thread_ts"] = stored.thread_ts
    trigger_id, response_url = _interaction(slack, "block_actions", member.id, conv.id)
    payload = {
        "type": "block_actions",
        "token": slack.verification_token,
        "api_app_id": slack.ids.app_id,
        "team": {
            "id": slack.ids.team_id,
            "domain": slack.ids.team_domain,
            **({"enterprise_id": slack.ids.enterprise_id} if slack.ids.enterprise_id else {}),
        },
        "user": {
            "id": member.id,
            "username": member.name,
            "name": member.name,
            "team_id": slack.ids.team_id,
        },
        "container": container,
        "trigger_id": trigger_id,
        "channel": {"id": channel, "name": "directmessage" if conv.is_im else conv.name},
        "message": message_json(ws, stored, conv),
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
        "is_enterprise_install": False,
        "enterprise": _enterprise(slack),
    }
    return await slack.send_envelope("interactive", payload, connection=connection)


async def message_shortcut(
    slack: FakeSlack, callback_id: str, channel: str, message_ts: str, user: str
) -> str:
    """A person picks one of the manifest's message shortcuts ("…" menu of a message): the
    `message_action` payload Slack sends, with a live trigger_id and a response_url."""
    ws = _ws(slack)
    if (callback_id, "message") not in ws.manifest.shortcuts:
        raise ValueError(f"{callback_id!r} is not a message shortcut of manifest.yml")
    conv = ws.require_channel(channel)
    member = ws.require_user(user)
    if not ws.can_see(member.id, conv):
        raise ValueError(f"{user} cannot see {channel}, so has no message to pick a shortcut on")
    stored = conv.by_ts[message_ts]
    trigger_id, response_url = _interaction(slack, "message_action", member.id, conv.id)
    payload = {
        "type": "message_action",
        "token": slack.verification_token,
        "action_ts": f"{time.time():.6f}",
        "team": {"id": slack.ids.team_id, "domain": slack.ids.team_domain},
        "user": {
            "id": member.id,
            "username": member.name,
            "name": member.name,
            "team_id": slack.ids.team_id,
        },
        "channel": {"id": channel, "name": "directmessage" if conv.is_im else conv.name},
        "is_enterprise_install": False,
        "enterprise": _enterprise(slack),
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "message_ts": message_ts,
        "message": message_json(ws, stored, conv),
    }
    return await slack.send_envelope("interactive", payload)


async def click_ephemeral_button(
    slack: FakeSlack,
    channel: str,
    user: str,
    blocks: list[JsonDict],
    action_id: str,
    value: str | None = None,
) -> str:
    """The person clicks a button of an ephemeral message only they see (e.g. a slash command's
    answer): Slack sends block_actions with an ephemeral container and no `message`. The button
    (with this value, when given) must be in the blocks they were shown."""
    ws = _ws(slack)
    conv = ws.require_channel(channel)
    member = ws.require_user(user)
    found = None
    for block in blocks:
        for element in [block.get("accessory") or {}, *(block.get("elements") or [])]:
            if element.get("type") != "button" or element.get("action_id") != action_id:
                continue
            if value is None or element.get("value") == value:
                found = (str(block.get("block_id") or ""), element)
    if found is None:
        raise AssertionError(f"no button {action_id!r} with value {value!r} in those blocks")
    block_id, button = found
    action: JsonDict = {
        "type": "button",
        "action_id": action_id,
        "block_id": block_id,
        "text": button["text"],
        "value": button.get("value", ""),
        "action_ts": f"{time.time():.6f}",
    }
    trigger_id, response_url = _interaction(slack, "block_actions", member.id, conv.id)
    payload = {
        "type": "block_actions",
        "token": slack.verification_token,
        "api_app_id": slack.ids.app_id,
        "team": {"id": slack.ids.team_id, "domain": slack.ids.team_domain},
        "user": {"id": member.id, "username": member.name, "team_id": slack.ids.team_id},
        "container": {
            "type": "message",
            "message_ts": f"{time.time():.6f}",
            "channel_id": channel,
            "is_ephemeral": True,
        },
        "trigger_id": trigger_id,
        "channel": {"id": channel, "name": "directmessage" if conv.is_im else conv.name},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
        "is_enterprise_install": False,
        "enterprise": _enterprise(slack),
    }
    return await slack.send_envelope("interactive", payload)
