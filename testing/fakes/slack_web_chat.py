"""chat.* Web API methods: post, update, delete, ephemeral, permalink and streaming."""

from __future__ import annotations

import json

from .slack_chunks import chunks_blocks, chunks_text
from .slack_events import bot_message_event, message_changed_event, message_deleted_event
from .slack_models import Channel, EphemeralMessage, JsonDict, SlackError, StoredMessage
from .slack_state import Workspace
from .slack_web_common import (
    MAX_MARKDOWN,
    Call,
    Content,
    Handler,
    check_customize,
    flag,
    get_channel,
    message_json,
    opt_str,
    own_message,
    parse_blocks,
    parse_chunks,
    parse_content,
    permalink,
    resolve_thread,
    should_echo,
)


def _metadata(call: Call) -> JsonDict | None:
    raw = call.args.get("metadata")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise SlackError(call.spec.error("invalid_metadata_format")) from None
    return raw if isinstance(raw, dict) else None


def _bot_message(ws: Workspace, channel: Channel, thread_ts: str | None) -> StoredMessage:
    ids = ws.ids
    return StoredMessage(ws.next_ts(), channel.id, thread_ts, ids.bot_user_id, ids.bot_id)


def _publish(ws: Workspace, call: Call, channel: Channel, msg: StoredMessage) -> None:
    """Store a new bot message, clear the thread's status, echo it like Slack does."""
    ws.store(msg)
    msg.record_edit(call.now)
    ws.clear_status(channel.id, msg.thread_ts)
    if should_echo(ws, channel):
        ws.emit(bot_message_event(msg, channel, ws.ids))


def _echo_changed(ws: Workspace, channel: Channel, msg: StoredMessage, previous: JsonDict) -> None:
    if should_echo(ws, channel):
        ws.emit(message_changed_event(msg, previous, channel, ws.ids, ws.next_ts()))


def post_message(ws: Workspace, call: Call) -> JsonDict:
    channel = get_channel(ws, call, writable=True, by_name=True)
    content = parse_content(ws, call)
    if not content.has_any:
        raise SlackError("no_text")
    thread_ts = resolve_thread(ws, call, channel)
    check_customize(ws, call)
    msg = _bot_message(ws, channel, thread_ts)
    _apply_content(msg, content, call, replace_all=True)
    msg.metadata = _metadata(call)
    msg.reply_broadcast = thread_ts is not None and flag(call, "reply_broadcast")
    _publish(ws, call, channel, msg)
    return {
        "ok": True,
        "channel": channel.id,
        "ts": msg.ts,
        "message": message_json(ws, msg, channel),
    }


def _apply_content(msg: StoredMessage, content: Content, call: Call, *, replace_all: bool) -> None:
    """Write content into a message. On update, omitted blocks/attachments are kept (Slack)."""
    if content.markdown_text is not None:
        msg.markdown_text, msg.text, msg.blocks = content.markdown_text, "", None
    else:
        msg.markdown_text, msg.text = None, content.text
        if replace_all or "blocks" in call.args:
            msg.blocks = content.blocks or None
    if replace_all or "attachments" in call.args:
        msg.attachments = content.attachments


def update(ws: Workspace, call: Call) -> JsonDict:
    channel = get_channel(ws, call, member=False)
    msg = own_message(ws, call, channel, "cant_update_message")
    if msg.streaming:
        raise SlackError(call.spec.error("streaming_state_conflict"))
    content = parse_content(ws, call)
    if not content.has_any:
        raise SlackError("no_text")
    previous = message_json(ws, msg, channel)
    _apply_content(msg, content, call, replace_all=False)
    if "metadata" in call.args:
        msg.metadata = _metadata(call)
    msg.edited_ts = ws.next_ts()
    msg.record_edit(call.now)
    _echo_changed(ws, channel, msg, previous)
    body = message_json(ws, msg, channel)
    return {"ok": True, "channel": channel.id, "ts": msg.ts, "text": body["text"], "message": body}


def delete(ws: Workspace, call: Call) -> JsonDict:
    channel = get_channel(ws, call, member=False)
    msg = own_message(ws, call, channel, "cant_delete_message")
    previous = message_json(ws, msg, channel)
    msg.deleted = True
    msg.streaming = False
    if should_echo(ws, channel):
        ws.emit(message_deleted_event(previous, channel, msg.ts, ws.next_ts()))
    return {"ok": True, "channel": channel.id, "ts": msg.ts}


def post_ephemeral(ws: Workspace, call: Call) -> JsonDict:
    channel = get_channel(ws, call, writable=True, by_name=True)
    user = opt_str(call, "user") or ""
    if user not in ws.users or user not in channel.members:
        raise SlackError("user_not_in_channel")
    content = parse_content(ws, call)
    if not content.has_any:
        raise SlackError("no_text")
    check_customize(ws, call)
    eph = EphemeralMessage(
        ts=ws.next_ts(),
        channel=channel.id,
        user=user,
        text=content.text,
        markdown_text=content.markdown_text,
        blocks=content.blocks,
        thread_ts=opt_str(call, "thread_ts") or None,
        at=call.now,
    )
    ws.ephemerals.append(eph)
    return {"ok": True, "message_ts": eph.ts}


def get_permalink(ws: Workspace, call: Call) -> JsonDict:
    channel = get_channel(ws, call, member=False)
    msg = channel.by_ts.get(opt_str(call, "message_ts") or "")
    if msg is None or msg.deleted:
        raise SlackError("message_not_found")
    return {"ok": True, "channel": channel.id, "permalink": permalink(ws, channel, msg)}


# ---- streaming ---------------------------------------------------------------------------


def _stream_text(call: Call) -> tuple[str | None, list[JsonDict] | None]:
    markdown = opt_str(call, "markdown_text")
    chunks = parse_chunks(call)
    if len(markdown or "") + len(chunks_text(chunks)) > MAX_MARKDOWN:
        raise SlackError("msg_too_long")
    return markdown, chunks


def _record_timeline(
    msg: StoredMessage, markdown: str | None, chunks: list[JsonDict] | None
) -> None:
    """What the stream showed, in order: text and task cards (timeline display)."""
    if markdown:
        msg.timeline.append({"type": "markdown_text", "text": markdown})
    msg.timeline.extend(c for c in chunks or [] if c["type"] != "blocks")


def _check_recipient(ws: Workspace, call: Call, channel: Channel) -> None:
    """Streaming into a channel (not a DM) needs recipient_user_id and recipient_team_id."""
    if channel.is_im:
        return
    user = opt_str(call, "recipient_user_id")
    if not user:
        raise SlackError("missing_recipient_user_id")
    if not opt_str(call, "recipient_team_id"):
        raise SlackError("missing_recipient_team_id")
    if user not in ws.users:
        raise SlackError("user_not_found")


def start_stream(ws: Workspace, call: Call) -> JsonDict:
    channel = get_channel(ws, call, writable=True)
    thread_ts = resolve_thread(ws, call, channel)
    _check_recipient(ws, call, channel)
    markdown, chunks = _stream_text(call)
    check_customize(ws, call)
    msg = _bot_message(ws, channel, thread_ts)
    msg.markdown_text = (markdown or "") + chunks_text(chunks)
    msg.blocks = chunks_blocks(chunks) or None
    _record_timeline(msg, markdown, chunks)
    msg.streaming = True
    _publish(ws, call, channel, msg)
    return {"ok": True, "channel": channel.id, "ts": msg.ts}


def _streaming_message(ws: Workspace, call: Call) -> tuple[Channel, StoredMessage]:
    channel = get_channel(ws, call, writable=True)
    msg = own_message(ws, call, channel, "message_not_owned_by_app")
    if not msg.streaming:
        raise SlackError("message_not_in_streaming_state")
    return channel, msg


def _append(msg: StoredMessage, markdown: str | None, chunks: list[JsonDict] | None) -> None:
    msg.markdown_text = (msg.markdown_text or "") + (markdown or "") + chunks_text(chunks)
    _record_timeline(msg, markdown, chunks)
    extra = chunks_blocks(chunks)
    if extra:
        msg.blocks = (msg.blocks or []) + extra


def append_stream(ws: Workspace, call: Call) -> JsonDict:
    channel, msg = _streaming_message(ws, call)
    markdown, chunks = _stream_text(call)
    if markdown is None and chunks is None:
        raise SlackError("no_text")
    _append(msg, markdown, chunks)
    msg.record_edit(call.now)
    return {"ok": True, "channel": channel.id, "ts": msg.ts}


def stop_stream(ws: Workspace, call: Call) -> JsonDict:
    channel, msg = _streaming_message(ws, call)
    markdown, chunks = _stream_text(call)
    blocks = parse_blocks(ws, call)
    previous = message_json(ws, msg, channel)
    _append(msg, markdown, chunks)
    if blocks:
        msg.blocks = (msg.blocks or []) + blocks
    msg.streaming = False
    msg.record_edit(call.now)
    _echo_changed(ws, channel, msg, previous)
    return {
        "ok": True,
        "channel": channel.id,
        "ts": msg.ts,
        "message": message_json(ws, msg, channel),
    }


CHAT_HANDLERS: dict[str, Handler] = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.delete": delete,
    "chat.postEphemeral": post_ephemeral,
    "chat.getPermalink": get_permalink,
    "chat.startStream": start_stream,
    "chat.appendStream": append_stream,
    "chat.stopStream": stop_stream,
}
