"""What people do in the fake workspace: post messages and run slash commands."""

from __future__ import annotations

import random
import time
import uuid

from .slack_events import random_id, rich_text_blocks, slash_command_payload
from .slack_models import Channel, JsonDict, StoredMessage
from .slack_state import CommandHook, Workspace
from .slack_web_common import echo_event_name


def _digits() -> int:
    return random.randint(10**10, 10**11 - 1)


def add_file(
    ws: Workspace, file: JsonDict, content: bytes | str | None, url_base: str | None = None
) -> JsonDict:
    """Normalise and store a file object; url_private points at the fake's own server (under
    another host name when url_base is given, e.g. to play a foreign host)."""
    stored: JsonDict = {
        "id": file.get("id") or random_id("F"),
        "created": 1700000000,
        "name": "file.txt",
        "mimetype": "text/plain",
        "filetype": "text",
    }
    stored.update(file)
    name = str(stored["name"])
    url = f"{url_base or ws.base_url}/files-pri/{ws.ids.team_id}-{stored['id']}/{name}"
    stored.setdefault("title", name)
    stored.setdefault("url_private", url)
    stored.setdefault("url_private_download", url)
    if content is not None:
        data = content.encode() if isinstance(content, str) else content
        ws.file_contents[str(stored["id"])] = data
        stored.setdefault("size", len(data))
    ws.files[str(stored["id"])] = stored
    return stored


def post_as_user(
    ws: Workspace,
    channel: str,
    user: str,
    text: str,
    thread_ts: str | None,
    files: list[JsonDict] | None,
) -> tuple[Channel, StoredMessage]:
    """Store a message a person typed (with the rich_text block Slack clients add)."""
    conv, author = ws.require_channel(channel), ws.require_user(user)
    if conv.is_im and author.id != conv.im_user:
        raise ValueError(f"{channel} is the DM of {conv.im_user}, not of {author.id}")
    root = conv.by_ts.get(thread_ts) if thread_ts is not None else None
    if thread_ts is not None and (root is None or root.thread_ts not in (None, thread_ts)):
        raise ValueError(f"no thread root {thread_ts} in {channel} to reply to")
    conv.members.add(author.id)
    stored_files = [_shared_file(ws, f) for f in files] if files else None
    msg = StoredMessage(ws.next_ts(), conv.id, thread_ts, author.id, None, text=text)
    msg.blocks = rich_text_blocks(text)
    msg.files = stored_files
    msg.client_msg_id = str(uuid.uuid4())
    ws.store(msg)
    msg.record_edit(time.monotonic())
    return conv, msg


def connect_stub(file_id: str) -> JsonDict:
    """A file as Slack Connect events carry it: no name, no URLs, "check files.info"."""
    return {
        "id": file_id,
        "mode": "file_access",
        "file_access": "check_file_info",
        "created": 0,
        "timestamp": 0,
        "user": "",
    }


def _shared_file(ws: Workspace, file: JsonDict) -> JsonDict:
    """A file attached to a message: a Slack Connect stub stays a stub (its file must exist)."""
    if file.get("file_access") == "check_file_info":
        if str(file.get("id")) not in ws.files:
            raise ValueError(f"stub of unknown file {file.get('id')!r}; add_file it first")
        return dict(file)
    return add_file(ws, file, None)


def subscription_for(ws: Workspace, conv: Channel, text: str) -> str | None:
    """IM -> message.im; a mention of the bot where it is a member -> app_mention; else
    message.channels/groups. None when the app lacks that subscription (or its scope)."""
    bot = ws.ids.bot_user_id
    if conv.is_im:
        name = "message.im"
    elif f"<@{bot}>" in text and bot in conv.members:
        name = "app_mention"
    else:
        name = echo_event_name(conv)
    return name if ws.subscribed(name) else None


def slash_command(
    ws: Workspace, command: str, text: str, user: str, channel: str, verification_token: str
) -> JsonDict:
    """The payload of a slash command run by `user`, with a live trigger_id and response_url."""
    if command not in ws.manifest.commands:
        raise ValueError(f"{command} is not a slash command of manifest.yml")
    if "commands" not in ws.granted:
        raise ValueError("slash commands need the `commands` scope")
    conv, author = ws.require_channel(channel), ws.require_user(user)
    trigger_id = f"{_digits()}.{_digits()}.{uuid.uuid4().hex}"
    ws.triggers[trigger_id] = time.monotonic()
    key = uuid.uuid4().hex[:24]
    ws.hooks[key] = CommandHook(command, author.id, conv.id)
    return slash_command_payload(
        ws.ids,
        command=command,
        text=text,
        user=author,
        channel=conv,
        response_url=f"{ws.base_url}/commands/{ws.ids.team_id}/{_digits()}/{key}",
        trigger_id=trigger_id,
        verification_token=verification_token,
    )
