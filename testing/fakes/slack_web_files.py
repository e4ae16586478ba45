"""File uploads the way files_upload_v2 does them: files.getUploadURLExternal hands out a one-time
upload URL (served by the fake on loopback), the bytes are POSTed there, and
files.completeUploadExternal turns them into a file and shares it into a channel or thread, as a
bot message carrying `files` (with the initial_comment as its text)."""

from __future__ import annotations

import json
import mimetypes
import time

from aiohttp import web

from .slack_events import random_id
from .slack_models import Channel, JsonDict, PendingUpload, SlackError, StoredMessage
from .slack_people import add_file
from .slack_state import Workspace
from .slack_web_chat import _publish
from .slack_web_common import Call, Handler, get_channel, opt_str, parse_blocks

MAX_ALT_TEXT = 1000
MAX_SNIPPET_BYTES = 1024 * 1024
MAX_CHANNELS = 100


def get_upload_url(ws: Workspace, call: Call) -> JsonDict:
    """files.getUploadURLExternal: a file id and the URL to POST its bytes to."""
    try:
        length = int(opt_str(call, "length") or "")
    except ValueError:
        raise SlackError("invalid_arguments") from None
    if length < 1:
        raise SlackError(call.spec.error("missing_argument"))
    filename = (opt_str(call, "filename") or "").strip()
    if not filename:
        raise SlackError(call.spec.error("missing_argument"))
    alt_txt, snippet_type = opt_str(call, "alt_txt"), opt_str(call, "snippet_type")
    if alt_txt is not None and len(alt_txt) > MAX_ALT_TEXT:
        raise SlackError(call.spec.error("alt_txt_too_large"))
    if snippet_type and length > MAX_SNIPPET_BYTES:
        raise SlackError(call.spec.error("snippet_too_large"))
    ticket = random_id("", 24)
    upload = PendingUpload(random_id("F"), filename, length, ticket, alt_txt, snippet_type)
    ws.uploads[ticket] = upload
    url = f"{ws.base_url}/upload/v1/{ticket}"
    return {"ok": True, "upload_url": url, "file_id": upload.file_id}


class UploadUrls:
    """The upload URLs: `POST /upload/v1/<ticket>` with the raw bytes or a multipart `file`."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    async def receive(self, request: web.Request) -> web.Response:
        """Take the bytes once; Slack answers `OK - <bytes>` as text/plain."""
        upload = self.ws.uploads.get(request.match_info["ticket"])
        if upload is None or upload.data is not None:
            return web.Response(status=404, text="invalid upload URL")
        data = await _body_bytes(request)
        if len(data) != upload.length:
            self.ws.violation(
                f"upload of {upload.filename}: {len(data)} bytes sent, "
                f"files.getUploadURLExternal was told length={upload.length}"
            )
        upload.data = data
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")


async def _body_bytes(request: web.Request) -> bytes:
    if request.content_type != "multipart/form-data":
        return await request.read()
    form = await request.post()
    field = form.get("file") or form.get("filename")
    if isinstance(field, web.FileField):
        return field.file.read()
    return str(field or "").encode()


def _file_items(call: Call) -> list[JsonDict]:
    raw = call.args.get("files")
    try:
        items = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        items = None
    ok = isinstance(items, list) and items
    if not ok or not all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in items):
        raise SlackError(
            "invalid_arguments",
            response_metadata={"messages": ["[ERROR] `files` must be a JSON array of {id}"]},
        )
    return list(items)


def _uploaded(ws: Workspace, file_id: str) -> PendingUpload:
    """The upload behind a file id, once its bytes arrived (else file_not_found)."""
    for ticket, upload in ws.uploads.items():
        if upload.file_id == file_id and upload.data is not None:
            del ws.uploads[ticket]
            return upload
    raise SlackError("file_not_found")


def _target(ws: Workspace, call: Call) -> Channel | None:
    """Where the files are shared: channel_id, or the single entry of `channels`."""
    listed = [c for c in (opt_str(call, "channels") or "").split(",") if c.strip()]
    if len(listed) > MAX_CHANNELS:
        raise SlackError(call.spec.error("channels_limit_exceeded"))
    if opt_str(call, "thread_ts") and len(listed) + bool(opt_str(call, "channel_id")) > 1:
        ws.violation(f"{call.method}: thread_ts with more than one channel")
    if opt_str(call, "channel_id"):
        return get_channel(ws, call, "channel_id", writable=True)
    if listed:
        args = {**call.args, "channel": listed[0].strip()}
        return get_channel(ws, Call(call.method, args, call.spec, call.now), writable=True)
    if opt_str(call, "thread_ts"):
        ws.violation(f"{call.method}: thread_ts without a channel; the file stays private")
    return None


def _thread(ws: Workspace, call: Call, channel: Channel) -> str | None:
    ts = opt_str(call, "thread_ts")
    if not ts:
        return None
    target = channel.by_ts.get(ts)
    if target is None or target.deleted:
        raise SlackError(call.spec.error("thread_not_found", "invalid_arguments"))
    if target.thread_ts is not None and target.thread_ts != ts:
        ws.violation(f"{call.method}: thread_ts {ts} is a reply; use its parent {target.thread_ts}")
        return target.thread_ts
    return ts


def _file_object(ws: Workspace, upload: PendingUpload, item: JsonDict) -> JsonDict:
    name = upload.filename
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    now = int(time.time())
    file = {
        "id": upload.file_id,
        "created": now,
        "timestamp": now,
        "name": name,
        "title": str(item.get("title") or name),
        "mimetype": mimetype,
        "filetype": name.rsplit(".", 1)[-1].lower() if "." in name else "text",
        "user": ws.ids.bot_user_id,
        "user_team": ws.ids.team_id,
        "mode": "hosted",
        "is_external": False,
        "channels": [],
        "shares": {},
    }
    if upload.alt_txt:
        file["alt_txt"] = upload.alt_txt
    return add_file(ws, file, upload.data)


def _share(
    ws: Workspace, call: Call, channel: Channel, thread_ts: str | None, files: list[JsonDict]
) -> None:
    """The message that shares the files: posted by the bot, text = initial_comment."""
    ids = ws.ids
    msg = StoredMessage(ws.next_ts(), channel.id, thread_ts, ids.bot_user_id, ids.bot_id)
    msg.text = opt_str(call, "initial_comment") or ""
    if not msg.text:
        msg.blocks = parse_blocks(ws, call)
    msg.files = files
    share = {"ts": msg.ts, "channel_name": channel.name, "team_id": ids.team_id}
    if thread_ts is not None:
        share["thread_ts"] = thread_ts
    kind = "private" if channel.is_private or channel.is_im else "public"
    for file in files:
        file["channels" if kind == "public" else "groups"] = [channel.id]
        file["shares"] = {kind: {channel.id: [share]}}
    _publish(ws, call, channel, msg)


def complete_upload(ws: Workspace, call: Call) -> JsonDict:
    """files.completeUploadExternal: the uploaded files exist from now on, shared if asked."""
    items = _file_items(call)
    channel = _target(ws, call)
    thread_ts = _thread(ws, call, channel) if channel is not None else None
    files = [_file_object(ws, _uploaded(ws, str(i["id"])), i) for i in items]
    if channel is not None:
        _share(ws, call, channel, thread_ts, files)
    return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in files]}


FILE_HANDLERS: dict[str, Handler] = {
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
}
