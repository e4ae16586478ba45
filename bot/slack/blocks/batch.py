"""Block Kit for batch jobs (confirm, cancel, retry buttons), and the poller's Slack side: status
edits, the results file (files.uploadV2) and the summary. Also the ledger entry of a batch."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.batch.jobs import CANCELED, Job
from bot.batch.plan import Estimate
from bot.batch.results import RowResult, Summary, batch_cost_usd, total_usage
from bot.claude.catalog import CATALOG
from bot.claude.cost import uncached_cost_usd
from bot.conversation.mentions import defuse_broadcasts
from bot.conversation.ports import Clock
from bot.slack.sinks.edit_in_place import RateLimited, call_waiting_out_limits
from bot.usage.ledger import RedisLedger
from bot.usage.records import CallRecord, to_nanos

log = structlog.get_logger("bot.slack.batch")

CONFIRM, DISCARD, CANCEL, RETRY = "batch_confirm", "batch_discard", "batch_cancel", "batch_retry"


def _button(text: str, action_id: str, job_id: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": job_id,
    }
    if style:
        button["style"] = style
    return button


def with_buttons(text: str, *buttons: dict[str, Any]) -> list[dict[str, Any]]:
    """A section with the text (a file name or a prompt in it never broadcasts), and an
    actions block when there are buttons."""
    section = {"type": "mrkdwn", "text": defuse_broadcasts(text)}
    blocks: list[dict[str, Any]] = [{"type": "section", "text": section}]
    if buttons:
        blocks.append({"type": "actions", "elements": list(buttons)})
    return blocks


def estimate_text(job: Job, guess: Estimate) -> str:
    """The confirmation message: rows, model, estimated cost with the batch discount."""
    return (
        f"*Batch on `{job.filename}`*: {job.rows:,} rows, one request each, with {job.model}.\n"
        f"Prompt: `{job.template[:300]}`\n"
        f"Estimated cost (50 % batch discount): about *${guess.input_usd:,.4f}* for the prompts "
        f"({guess.input_tokens:,} tokens), plus at most ${guess.max_output_usd:,.4f} for the "
        f"answers. Results usually come back within an hour (at most 24 h)."
    )


def confirm_blocks(job: Job, guess: Estimate, over_budget: str = "") -> list[dict[str, Any]]:
    """The estimate with Run and Cancel buttons; over the budget, why it cannot run, and no Run
    button."""
    if over_budget:
        text = f"{estimate_text(job, guess)}\n:no_entry: {over_budget}"
        return with_buttons(text, _button("Cancel", DISCARD, job.id))
    return with_buttons(
        estimate_text(job, guess),
        _button("Run batch", CONFIRM, job.id, "primary"),
        _button("Cancel", DISCARD, job.id),
    )


def progress_blocks(job: Job, text: str) -> list[dict[str, Any]]:
    """A running job's status, with its Cancel button."""
    return with_buttons(text, _button("Cancel batch", CANCEL, job.id, "danger"))


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
    """The poller's JobNotifier over the Web API."""

    def __init__(self, client: AsyncWebClient, clock: Clock) -> None:
        self._client = client
        self._clock = clock

    async def progress(self, job: Job, text: str) -> None:
        """Edit the status message."""
        await self._update(job, text, progress_blocks(job, text))

    async def _update(self, job: Job, text: str, blocks: list[dict[str, Any]]) -> None:
        try:
            await edit_status(self._client, self._clock, job, text, blocks)
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
        try:
            await self._client.files_upload_v2(
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
            buttons.append(_button(label, RETRY, job.id))
        await self._update(job, text, with_buttons(text, *buttons))


class BatchUsage:
    """Records each ended batch in the usage ledger, as feature `batch`, at batch prices."""

    def __init__(self, ledger: RedisLedger) -> None:
        self._ledger = ledger

    async def __call__(self, job: Job, results: list[RowResult]) -> float:
        """Add one ledger entry for the batch's results; returns its cost in USD."""
        model = CATALOG.get(job.model)
        usage = total_usage(results)
        cost = batch_cost_usd(model, results)
        uncached = sum(uncached_cost_usd(model, r.usage) for r in results) / 2 if model else 0.0
        await self._ledger.add(
            CallRecord(
                team=job.team,
                channel=job.channel,
                user=job.owner,
                feature="batch",
                model=job.model,
                usage=usage,
                cost_nanos=to_nanos(cost),
                uncached_nanos=to_nanos(uncached),
                priced=model is not None,
                at=datetime.now(UTC),
            )
        )
        return cost
