"""/claude-export <thread link>: an admin gets the thread's stored history as a JSON file in their
DM with the bot (legal holds, debugging). Only BOT_ADMIN_USERS may; every export is audited.

The file goes to the admin's DM (chat.postMessage to the user id opens it; the file is uploaded
into that message's thread), never into the channel the command was typed in: a history can hold
what that channel must not see.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError

from bot.conversation.errors import StorageUnavailable
from bot.governance.audit import Auditor
from bot.governance.export import export_document, find_export, parse_thread_link
from bot.slack.api.workspaces import NotInstalled, SlackWorkspaces, workspace_of
from bot.storage.connect import RedisClient

log = structlog.get_logger("bot.slack.handlers.export")

EXPORT_COMMAND = "/claude-export"
NOT_ADMIN = "Only the bot's admins (`BOT_ADMIN_USERS`) can export a thread's history."
HINT = (
    "Paste a link to a message of the thread: `/claude-export https://…slack.com/archives/C…/p…` "
    "(*Copy link* in the message's menu)."
)
NOTHING = (
    "I have nothing stored for that thread: it was never answered, it expired "
    "(`BOT_HISTORY_TTL_DAYS`), or it was forgotten."
)
UNAVAILABLE = "I can't read the conversation store right now. Try again in a minute."
Ack = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class ExportCommand:
    """Handles /claude-export, in the workspace it was typed in (its threads, its client)."""

    workspaces: SlackWorkspaces
    redis: RedisClient
    admins: frozenset[str]
    audit: Auditor

    async def on_export(self, ack: Ack, command: dict[str, Any], respond: Ack) -> None:
        """Check, ack, send the file to the admin's DM, say where it went."""
        user = str(command["user_id"])
        team = workspace_of(command)  # as the threads' keys carry it
        if user not in self.admins:
            await ack(response_type="ephemeral", text=NOT_ADMIN)
            return
        link = parse_thread_link(str(command.get("text") or ""))
        if link is None:
            await ack(response_type="ephemeral", text=HINT)
            return
        await ack()
        try:
            found = await find_export(self.redis, team, link)
        except StorageUnavailable:
            await respond(response_type="ephemeral", text=UNAVAILABLE)
            return
        if found is None:
            await respond(response_type="ephemeral", text=NOTHING)
            return
        key, stored = found
        document = export_document(key, stored, user)
        messages = len(stored["history"])
        where = await self._send(team, user, key.channel, key.thread_ts, document, messages)
        if where is None:
            text = "I couldn't send you the file. Try again."
            await respond(response_type="ephemeral", text=text)
            return
        thread = key.thread_ts
        await self.audit.record(
            team, "thread.export", user, channel=key.channel, thread=thread, messages=messages
        )
        await respond(
            response_type="ephemeral",
            text=f"Sent the export ({messages} messages) to our DM.",
        )

    async def _send(
        self,
        team: str,
        user: str,
        channel: str,
        thread_ts: str,
        document: dict[str, Any],
        messages: int,
    ) -> str | None:
        """Post a line in the admin's DM and the JSON file under it (with the workspace's
        client); the DM's id."""
        data = json.dumps(document, ensure_ascii=False, indent=2).encode()
        safe_ts = thread_ts.replace(".", "-")
        try:
            client = (await self.workspaces.get(team)).client
            posted = await client.chat_postMessage(
                channel=user,
                text=f"Export of thread `{thread_ts}` in <#{channel}>: {messages} stored messages.",
            )
            dm = str(posted["channel"])
            await client.files_upload_v2(
                channel=dm,
                thread_ts=str(posted["ts"]),
                content=data,
                filename=f"thread-{channel}-{safe_ts}.json",
                title=f"Thread {thread_ts} in {channel}",
            )
        except SlackApiError as exc:
            log.warning("export.send_failed", error=exc.response.get("error"))
            return None
        except NotInstalled:
            log.warning("export.send_failed", error="not_installed")
            return None
        return dm


def register_export(app: Any, handler: ExportCommand) -> None:
    """Attach /claude-export."""
    app.command(EXPORT_COMMAND)(handler.on_export)
