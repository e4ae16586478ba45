"""The batch poller's Slack side: the job's status message edited as it runs, the results file
uploaded into its thread (files.uploadV2) and the summary."""

from __future__ import annotations

from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.batch.jobs import CANCELED, Job
from bot.batch.results import Summary
from bot.conversation.mentions import defuse_broadcasts
from bot.conversation.ports import Clock
from bot.slack.api.calls import RateLimited, call_waiting_out_limits
from bot.slack.api.workspaces import NotInstalled, SlackWorkspaces
from bot.slack.blocks.batch import RETRY, button, progress_blocks, with_buttons

log = structlog.get_logger("bot.slack.batch")


async def edit_status(
    client: AsyncWebClient, clock: Clock, job: Job, text: str, blocks: list[dict[str, Any]]
) -> None:
    """Edit the job's status message (if it has one), waiting out rate limits."""
    if job.status_ts:
        await call_waiting_out_limits(
            clock,
            client.chat_update,
            channel=job.channel,
            ts=job.status_ts,
            text=defuse_broadcasts(text),
            blocks=blocks,
        )


class SlackJobNotifier:
    """The poller's JobNotifier over the Web API, with the client of each job's workspace."""

    def __init__(self, workspaces: SlackWorkspaces, clock: Clock) -> None:
        self._workspaces = workspaces
        self._clock = clock

    async def _client(self, job: Job) -> AsyncWebClient | None:
        try:
            return (await self._workspaces.get(job.team)).client
        except NotInstalled:
            log.warning("batch.workspace_gone", job=job.id)
            return None

    async def progress(self, job: Job, text: str) -> None:
        """Edit the status message."""
        await self._update(job, text, progress_blocks(job, text))

    async def _update(self, job: Job, text: str, blocks: list[dict[str, Any]]) -> None:
        client = await self._client(job)
        if client is None:
            return
        try:
            await edit_status(client, self._clock, job, text, blocks)
        except (SlackApiError, RateLimited) as exc:
            log.warning("batch.status_edit_failed", job=job.id, error=type(exc).__name__)

    async def failed(self, job: Job) -> None:
        """The status message says why the job could not be submitted."""
        await self._update(job, job.note, with_buttons(job.note))

    async def finished(self, job: Job, data: bytes, summary: Summary, cost_usd: float) -> None:
        """Upload the results into the thread; the status message becomes the summary."""
        verb = "canceled" if job.state == CANCELED else "finished"
        text = f"Batch on `{job.filename}` {verb}. {summary.text(cost_usd)}"
        stem = job.filename.rsplit(".", 1)[0] or "batch"
        client = await self._client(job)
        if client is None:
            return
        try:
            await client.files_upload_v2(
                channel=job.channel,
                thread_ts=job.thread_ts,
                content=data,
                filename=f"{stem}-results.csv",
                title=f"Results of {job.filename}",
                initial_comment=defuse_broadcasts(text),
            )
        except SlackApiError as exc:
            log.warning("batch.upload_failed", job=job.id, error=exc.response.get("error"))
            text += " (I couldn't upload the results file here.)"
        buttons = []
        if summary.retryable:
            label = f"Retry {summary.retryable:,} failed rows"
            buttons.append(button(label, RETRY, job.id))
        await self._update(job, text, with_buttons(text, *buttons))
