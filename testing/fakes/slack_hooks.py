"""The non-API HTTP endpoints Slack gives an app: slash command response_urls and
url_private file downloads."""

from __future__ import annotations

import json
import time

from aiohttp import web

from .slack_models import EphemeralMessage, JsonDict, StoredMessage
from .slack_state import Workspace

MAX_RESPONSE_URL_USES = 5
LOGIN_PAGE = (
    "<!DOCTYPE html><html><head><title>Sign in | Slack</title></head><body>Sign in</body></html>"
)


class Hooks:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.response_url_posts: list[JsonDict] = []
        self.downloads: list[JsonDict] = []  # every file download: who asked, with what token

    async def response_url(self, request: web.Request) -> web.Response:
        """A slash command's response_url: at most 5 uses; in_channel posts as the app."""
        key = request.match_info["key"]
        hook = self.ws.hooks.get(key)
        if hook is None:
            return web.Response(status=404, text="no_active_hooks")
        hook.uses += 1
        if hook.uses > MAX_RESPONSE_URL_USES:
            return web.Response(status=404, text="used_url")
        body = await self._body(request)
        if body is None:
            return web.Response(status=400, text="invalid_payload")
        self.response_url_posts.append(
            {
                "command": hook.command,
                "user": hook.user,
                "channel": hook.channel,
                "body": body,
                "at": time.monotonic(),
            }
        )
        self._apply(hook.channel, hook.user, body)
        return web.Response(text="ok")

    @staticmethod
    async def _body(request: web.Request) -> JsonDict | None:
        raw = await request.text()
        if request.content_type != "application/json":
            form = await request.post()
            raw = str(form.get("payload", ""))
        try:
            body = json.loads(raw)
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _apply(self, channel_id: str, user: str, body: JsonDict) -> None:
        ws, now = self.ws, time.monotonic()
        text = str(body.get("text") or "")
        blocks = body.get("blocks") if isinstance(body.get("blocks"), list) else None
        markdown = body.get("markdown_text") if isinstance(body.get("markdown_text"), str) else None
        thread_ts = body.get("thread_ts") if isinstance(body.get("thread_ts"), str) else None
        if body.get("response_type") == "in_channel":
            ids = ws.ids
            msg = StoredMessage(
                ws.next_ts(),
                channel_id,
                thread_ts,
                ids.bot_user_id,
                ids.bot_id,
                text=text,
                markdown_text=markdown,
                blocks=blocks,
            )
            ws.store(msg)
            msg.record_edit(now)
            return
        ws.ephemerals.append(
            EphemeralMessage(ws.next_ts(), channel_id, user, text, markdown, blocks, thread_ts, now)
        )

    async def file_download(self, request: web.Request) -> web.Response:
        """url_private: needs the bot token and files:read, else Slack's sign-in page (HTTP 200)."""
        file_id = request.match_info["slug"].rsplit("-", 1)[-1]
        auth = request.headers.get("Authorization", "")
        self.downloads.append(
            {
                "host": request.host.rsplit(":", 1)[0],
                "path": request.path,
                "file": file_id,
                "token_sent": any(token in auth for token in self.ws.bot_tokens),
            }
        )
        token = auth.removeprefix("Bearer ")
        authorized = token in self.ws.bot_tokens and "files:read" in self.ws.granted
        if not authorized:
            return web.Response(text=LOGIN_PAGE, content_type="text/html", charset="utf-8")
        if file_id not in self.ws.file_contents:
            return web.Response(status=404, text="file_not_found")
        file = self.ws.files.get(file_id, {})
        return web.Response(
            body=self.ws.file_contents[file_id],
            content_type=str(file.get("mimetype", "application/octet-stream")),
        )
