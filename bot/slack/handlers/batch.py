"""/claude-batch <template> and "@Claude batch: <template>": a CSV (see batch_files for which),
checked and estimated in its thread, then run through the Message Batches API after the Run
button; Cancel and Retry buttons."""

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
from bot.batch.service import BatchService, NotAllowed, OverBudget
from bot.batch.table import BatchInputError
from bot.conversation.mentions import defuse_broadcasts
from bot.conversation.messages import Question
from bot.conversation.ports import Clock
from bot.slack.api.calls import RateLimited, call_waiting_out_limits
from bot.slack.api.files import SlackFileSource
from bot.slack.api.workspaces import NotInstalled, SlackWorkspaces, workspace_of
from bot.slack.blocks.batch import (
    CANCEL,
    CONFIRM,
    DISCARD,
    RETRY,
    confirm_blocks,
    progress_blocks,
    with_buttons,
)
from bot.slack.handlers.access import AccessPolicy
from bot.slack.handlers.batch_csv import CsvFinder, FoundCsv, is_csv
from bot.slack.handlers.batch_notifier import edit_status
from bot.slack.handlers.events import Marks
from bot.slack.handlers.inbound import (
    batch_template,
    file_ref_from,
    is_batch_mention,
    is_external_author,
    message_mark,
    question_from_event,
)
from bot.vision.problems import FileProblem

log = structlog.get_logger("bot.slack.batch")

COMMAND = "/claude-batch"
USAGE = (
    "Share a CSV file, then run `/claude-batch <prompt>` (or, in the file's thread, mention me: "
    "`@Claude batch: <prompt>`) naming its columns, e.g. "
    "`/claude-batch Classify this ticket as bug, question or request: {title} {body}`."
)
NO_CSV = (
    "I found no CSV file you shared among the recent messages of this channel and their "
    "threads (I only run a batch on your own file). Share one, then run the command again."
)
NO_CSV_HERE = (
    "I found no CSV file you shared in this thread (I only run a batch on your own file). "
    "Attach one to your message, or share it here."
)
NOT_INSTALLED = "I'm no longer installed in this workspace; ask an admin to reinstall me."
NOT_YOURS = "Only the person who started this batch (or a bot admin) can do that."
UNAVAILABLE = "I can't reach my job store right now. Try again in a minute."

Ack = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class BatchAsk:
    """Someone asks for a batch: by the slash command (no thread known) or by a mention."""

    team: str
    channel: str
    user: str
    template: str
    thread_ts: str | None = None  # the mention's thread (None: a top-level mention or command)
    ts: str = ""  # the mention's ts
    attached: tuple[dict[str, Any], ...] = ()  # files attached to the mention


@dataclass
class BatchCommands:
    """The slash command, the mention form and the buttons."""

    service: BatchService
    workspaces: SlackWorkspaces
    files: SlackFileSource
    clock: Clock
    access: AccessPolicy
    finder: CsvFinder
    marks: Marks

    async def on_command(self, ack: Ack, command: dict[str, Any], respond: Ack) -> None:
        """Check the file and the template, show the estimate and the Run button."""
        text = str(command.get("text") or "").strip()
        user, channel = str(command["user_id"]), str(command["channel_id"])
        refusal = self.access.refusal(user, channel, is_direct_message=channel.startswith("D"))
        if not text or refusal is not None:
            await ack(response_type="ephemeral", text=refusal or USAGE)
            return
        await ack()
        reply = await self._ask(BatchAsk(workspace_of(command), channel, user, text))
        if reply:
            await respond(response_type="ephemeral", text=reply)

    async def on_mention(self, body: dict[str, Any], context: dict[str, Any]) -> None:
        """The mention form, "@Claude batch: <template>": a CSV attached to it, else the most
        recent one in its thread (or, at top level, in the channel)."""
        event = body.get("event") or {}
        question = question_from_event(event, team_id=workspace_of(body), bot_user_id=_bot(context))
        template = batch_template(question.text) if isinstance(question, Question) else None
        if not isinstance(question, Question) or template is None:
            return
        if not await self.marks.claim(message_mark(question)):
            return  # a redelivery
        channel, user = question.key.channel, question.user
        reply = self.access.refusal(
            user,
            channel,
            is_direct_message=question.is_direct_message,
            external=is_external_author(body),
        )
        if reply is None and not template:
            reply = USAGE
        if reply is None:
            ask = BatchAsk(
                question.key.team,
                channel,
                user,
                template,
                thread_ts=str(event["thread_ts"]) if event.get("thread_ts") else None,
                ts=question.ts,
                attached=tuple(f for f in event.get("files") or [] if isinstance(f, dict)),
            )
            reply = await self._ask(ask)
        if reply:
            await self._tell(question.key.team, channel, user, question.reply_thread_ts, reply)

    async def _client(self, team: str) -> AsyncWebClient:
        return (await self.workspaces.get(team)).client

    async def _tell(
        self, team: str, channel: str, user: str, thread_ts: str | None, text: str
    ) -> None:
        try:
            client = await self._client(team)
            await client.chat_postEphemeral(
                channel=channel, user=user, text=text, thread_ts=thread_ts
            )
        except SlackApiError as exc:
            log.warning("batch.ephemeral_failed", error=exc.response.get("error"))
        except NotInstalled:
            log.warning("batch.workspace_gone")

    async def _ask(self, ask: BatchAsk) -> str:
        """Prepare the job; returns what to tell the asker ("" when the estimate is posted)."""
        try:
            return await self._prepare(ask)
        except BatchInputError as exc:
            return str(exc)
        except (SlackApiError, RateLimited) as exc:
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else "ratelimited"
            return f"I couldn't read this channel or post in it (Slack said `{error}`)."
        except RedisError:
            return UNAVAILABLE
        except NotInstalled:
            return NOT_INSTALLED

    async def _find(self, ask: BatchAsk, client: AsyncWebClient) -> FoundCsv | None:
        """The CSV attached to the ask, else the newest one its author shared (never anyone
        else's)."""
        csv = next((f for f in ask.attached if is_csv(f)), None)
        if csv is not None:
            return FoundCsv(csv, ask.ts, ask.thread_ts or ask.ts)
        if ask.thread_ts:
            return await self.finder.in_thread(client, ask.channel, ask.thread_ts, owner=ask.user)
        return await self.finder.in_channel(client, ask.channel, owner=ask.user)

    async def _prepare(self, ask: BatchAsk) -> str:
        client = await self._client(ask.team)
        found = await self._find(ask, client)
        ref = file_ref_from(found.file, ask.team) if found is not None else None
        if found is None or ref is None:
            return NO_CSV_HERE if ask.thread_ts else NO_CSV
        try:
            fetched = await self.files.fetch(ref)
        except FileProblem as problem:
            return f"I couldn't read `{ref.name}`: {problem}"
        prepared = await self.service.prepare(
            team=ask.team,
            channel=ask.channel,
            owner=ask.user,
            filename=ref.name or "file.csv",
            data=fetched.data,
            text=ask.template,
        )
        job = prepared.job
        posted = await call_waiting_out_limits(
            self.clock,
            client.chat_postMessage,
            channel=ask.channel,
            thread_ts=found.thread_ts,
            text=defuse_broadcasts(f"<@{ask.user}> wants to run a batch on {job.filename}"),
            blocks=confirm_blocks(job, prepared.estimate, prepared.over_budget),
        )
        await self.service.attach_thread(job.id, found.thread_ts, str(posted["ts"]))
        log.info("batch.prepared", job=job.id, rows=job.rows, model=job.model)
        return ""

    async def _edit(self, job: Job, text: str, blocks: list[dict[str, Any]]) -> None:
        await edit_status(await self._client(job.team), self.clock, job, text, blocks)

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
        except OverBudget as refused:  # the estimate no longer fits: nothing was submitted
            await respond(response_type="ephemeral", replace_original=False, text=str(refused))
        except RedisError:
            await respond(response_type="ephemeral", replace_original=False, text=UNAVAILABLE)
        except (SlackApiError, RateLimited, NotInstalled) as exc:
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
            (await self._client(job.team)).chat_postMessage,
            channel=job.channel,
            thread_ts=job.thread_ts,
            text=defuse_broadcasts(text),
            blocks=progress_blocks(job, text),
        )
        await self.service.store.update(job.id, lambda j: j.moved(status_ts=str(posted["ts"])))


def _bot(context: dict[str, Any]) -> str:
    """The bot's user id, from Bolt's context."""
    return str(context.get("bot_user_id") or "")


async def _is_batch_mention(body: dict[str, Any], context: dict[str, Any]) -> bool:
    return is_batch_mention(body.get("event") or {}, _bot(context))


def register_batch(app: AsyncApp, commands: BatchCommands) -> None:
    """Attach /claude-batch, "@Claude batch: …" mentions and the buttons."""
    app.command(COMMAND)(commands.on_command)
    app.event("app_mention", matchers=[_is_batch_mention])(commands.on_mention)
    for action_id in (CONFIRM, DISCARD, CANCEL, RETRY):
        app.action(action_id)(commands.on_action)
