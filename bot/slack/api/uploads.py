"""Posting a file into a thread: files.getUploadURLExternal, the upload, then
files.completeUploadExternal with the channel and thread (slack_sdk's files_upload_v2), waiting
out rate limits, with the client of the thread's workspace. Slack shows an uploaded image inline in
the thread; other files as attachments.
A retried upload starts over with a new upload URL, so a file is never shared twice by it."""

from __future__ import annotations

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.conversation.ports import Clock
from bot.slack.api.calls import RateLimited, call_waiting_out_limits
from bot.slack.api.workspaces import NotInstalled, SlackWorkspaces
from bot.tools.code_files import OutputFile
from bot.vision.problems import FileProblem

log = structlog.get_logger("bot.slack.api.uploads")

MAX_TITLE_CHARS = 250
ALT_TEXT = "An image made by Claude's code execution"


class SlackThreadUploads:
    """Implements the ThreadUploads of code execution's files over the Web API."""

    def __init__(self, workspaces: SlackWorkspaces, clock: Clock) -> None:
        self._workspaces = workspaces
        self._clock = clock

    async def upload(
        self, workspace: str, channel: str, thread_ts: str | None, file: OutputFile
    ) -> None:
        """Share the file in the workspace's channel's thread (thread_ts None: at the top
        level)."""
        extra = {"thread_ts": thread_ts} if thread_ts else {}
        if file.is_image:
            extra["alt_txt"] = ALT_TEXT
        try:
            client = (await self._workspaces.get(workspace)).client
        except NotInstalled:
            raise FileProblem("I'm no longer installed in this workspace.") from None
        try:
            await call_waiting_out_limits(
                self._clock,
                client.files_upload_v2,
                channel=channel,
                filename=file.name,
                content=file.data,
                title=file.name[:MAX_TITLE_CHARS],
                **extra,
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            log.warning("slack.upload_failed", channel=channel, error=error)
            raise FileProblem(f"Slack refused the upload ({error}).") from None
        except RateLimited:
            raise FileProblem("Slack kept answering that it is busy. Ask me again.") from None
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack.upload_failed", channel=channel, error=type(exc).__name__)
            raise FileProblem("I couldn't upload it to Slack. Ask me again.") from None
