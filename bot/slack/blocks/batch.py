"""Block Kit for batch jobs: the estimate with its Run/Discard buttons, progress with Cancel, the
summary with Retry (pure)."""

from __future__ import annotations

from typing import Any

import structlog

from bot.batch.jobs import Job
from bot.batch.plan import Estimate
from bot.conversation.mentions import defuse_broadcasts

log = structlog.get_logger("bot.slack.batch")

CONFIRM, DISCARD, CANCEL, RETRY = "batch_confirm", "batch_discard", "batch_cancel", "batch_retry"


def button(text: str, action_id: str, job_id: str, style: str | None = None) -> dict[str, Any]:
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
        return with_buttons(text, button("Cancel", DISCARD, job.id))
    return with_buttons(
        estimate_text(job, guess),
        button("Run batch", CONFIRM, job.id, "primary"),
        button("Cancel", DISCARD, job.id),
    )


def progress_blocks(job: Job, text: str) -> list[dict[str, Any]]:
    """A running job's status, with its Cancel button."""
    return with_buttons(text, button("Cancel batch", CANCEL, job.id, "danger"))
