"""/claude-batch <template>: the most recent CSV shared in the channel, checked and estimated,
then run through the Message Batches API after the Run button; Cancel and Retry buttons."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.batch.jobs import CANCELING, FAILED, PROCESSING, Job, progress_text
from bot.batch.service import BatchService, NotAllowed
from bot.batch.table import BatchInputError
from bot.conversation.ports import Clock
from bot.slack.access import AccessPolicy
from bot.slack.batch_blocks import (
    CANCEL,
    CONFIRM,
    DISCARD,
    RETRY,
    confirm_blocks,
    progress_blocks,
    with_buttons,
)
from bot.slack.files import SlackFileSource
from bot.slack.inbound import file_ref_from
from bot.slack.reply import RateLimited, call_waiting_out_limits
from bot.vision.problems import FileProblem

log = structlog.get_logger("bot.slack.batch")

COMMAND = "/claude-batch"
HISTORY_LIMIT = 100
USAGE = (
    "Share a CSV file in this channel, then run `/claude-batch <prompt>` naming its columns, "
    "e.g. `/claude-batch Classify this ticket as bug, question or request: {title} {body}`."
)
NO_CSV = "I found no CSV file among the recent messages of this channel. Share one, then run " + (
    "the command again."
)
NOT_YOURS = "Only the person who started this batch (or a bot admin) can do that."
UNAVAILABLE = "I can't reach my job store right now. Try again in a minute."

Ack = Callable[..., Awaitable[None]]


def is_csv(file: dict[str, Any]) -> bool:
    """A Slack file object that is a CSV."""
    name = str(file.get("name") or "").lower()
    return (
        file.get("filetype") == "csv"
        or name.endswith(".csv")
        or file.get("mimetype")
        in (
            "text/csv",
            "application/csv",
        )
    )


@dataclass
class BatchCommands:
    """The slash command and the buttons."""

    service: BatchService
    client: AsyncWebClient
    files: SlackFileSource
    clock: Clock
    access: AccessPolicy

    async def latest_csv(self, channel: str) -> dict[str, Any] | None:
        """The most recent CSV file shared in the channel."""
        history = await self.client.conversations_history(channel=channel, limit=HISTORY_LIMIT)
        for message in history.get("messages") or []:
            for file in message.get("files") or []:
                if isinstance(file, dict) and is_csv(file):
                    return file
        return None

    async def on_command(self, ack: Ack, command: dict[str, Any], respond: Ack) -> None:
        """Check the file and the template, show the estimate and the Run button."""
        text = str(command.get("text") or "").strip()
        user, channel = str(command["user_id"]), str(command["channel_id"])
        refusal = self.access.refusal(user, channel, is_direct_message=channel.startswith("D"))
        if not text or refusal is not None:
            await ack(response_type="ephemeral", text=refusal or USAGE)
            return
        await ack()
        try:
            reply = await self._prepare(command, user, channel, text)
        except BatchInputError as exc:
            reply = str(exc)
        except (SlackApiError, RateLimited) as exc:
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else "ratelimited"
            reply = f"I couldn't read this channel or post in it (Slack said `{error}`)."
        except RedisError:
            reply = UNAVAILABLE
        if reply:
            await respond(response_type="ephemeral", text=reply)

    async def _prepare(self, command: dict[str, Any], user: str, channel: str, text: str) -> str:
        file = await self.latest_csv(channel)
        ref = file_ref_from(file) if file is not None else None
        if ref is None:
            return NO_CSV
        try:
            fetched = await self.files.fetch(ref)
        except FileProblem as problem:
            return f"I couldn't read `{ref.name}`: {problem}"
        prepared = await self.service.prepare(
            team=str(command.get("team_id") or ""),
            channel=channel,
            owner=user,
            filename=ref.name or "file.csv",
            data=fetched.data,
            text=text,
        )
        job = prepared.job
        blocks = confirm_blocks(job, prepared.estimate)
        posted = await call_waiting_out_limits(
            self.clock,
            self.client.chat_postMessage,
            channel=channel,
            text=f"<@{user}> wants to run a batch on {job.filename}",
            blocks=blocks,
        )
        ts = str(posted["ts"])
        await self.service.attach_thread(job.id, ts, ts)
        log.info("batch.prepared", job=job.id, rows=job.rows, model=job.model)
        return ""

    async def _edit(self, job: Job, text: str, blocks: list[dict[str, Any]]) -> None:
        if job.status_ts:
            await call_waiting_out_limits(
                self.clock,
                self.client.chat_update,
                channel=job.channel,
                ts=job.status_ts,
                text=text,
                blocks=blocks,
            )

    async def on_action(self, ack: Ack, body: dict[str, Any], respond: Ack) -> None:
        """Run, Cancel (before or during the run) and Retry buttons."""
        await ack()
        action = (body.get("actions") or [{}])[0]
        job_id, user = str(action.get("value") or ""), str((body.get("user") or {}).get("id"))
        handlers = {
            CONFIRM: self._confirm,
            DISCARD: self._discard,
            CANCEL: self._cancel,
            RETRY: self._retry,
        }
        handler = handlers.get(str(action.get("action_id")))
        if handler is None:
            return
        try:
            await handler(job_id, user)
        except NotAllowed:
            await respond(response_type="ephemeral", replace_original=False, text=NOT_YOURS)
        except RedisError:
            await respond(response_type="ephemeral", replace_original=False, text=UNAVAILABLE)
        except (SlackApiError, RateLimited) as exc:
            log.warning("batch.action_failed", job=job_id, error=type(exc).__name__)

    async def _confirm(self, job_id: str, user: str) -> None:
        job = await self.service.submit(job_id, user)
        if job is None:
            return
        if job.state == FAILED:
            await self._edit(job, job.note, with_buttons(job.note))
        elif job.state == PROCESSING:
            text = progress_text(job, 0, int(job.extra.get("round_rows", job.rows)))
            await self._edit(job, text, progress_blocks(job, text))

    async def _discard(self, job_id: str, user: str) -> None:
        job = await self.service.discard(job_id, user)
        if job is not None and job.state == "discarded":
            text = f"Batch on `{job.filename}` not run."
            await self._edit(job, text, with_buttons(text))

    async def _cancel(self, job_id: str, user: str) -> None:
        job = await self.service.cancel(job_id, user)
        if job is not None and job.state == CANCELING:
            text = f"Canceling the batch on `{job.filename}`… what finished stays in the results."
            await self._edit(job, text, with_buttons(text))

    async def _retry(self, job_id: str, user: str) -> None:
        job = await self.service.retry(job_id, user)
        if job is None or job.state != PROCESSING:
            return
        text = progress_text(job, 0, int(job.extra.get("round_rows", job.rows)))
        posted = await call_waiting_out_limits(
            self.clock,
            self.client.chat_postMessage,
            channel=job.channel,
            thread_ts=job.thread_ts,
            text=text,
            blocks=progress_blocks(job, text),
        )
        await self.service.store.update(job.id, lambda j: j.moved(status_ts=str(posted["ts"])))


def register_batch(app: AsyncApp, commands: BatchCommands) -> None:
    """Attach /claude-batch and its buttons."""
    app.command(COMMAND)(commands.on_command)
    for action_id in (CONFIRM, DISCARD, CANCEL, RETRY):
        app.action(action_id)(commands.on_action)
