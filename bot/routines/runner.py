"""One occurrence of a routine: claimed once, checked against its owner's permissions as they
are now, then answered like a question (feature `routine`: the ledger and the budgets apply),
all in the owner's workspace with that workspace's client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from slack_sdk.errors import SlackApiError

from bot.conversation.mentions import defuse_broadcasts
from bot.conversation.messages import Question, ThreadKey
from bot.routines.store import Routine, RoutineStore
from bot.slack.api.calls import NO_LINKING
from bot.slack.api.workspaces import NotInstalled
from bot.slack.handlers.access import AccessPolicy
from bot.slack.handlers.commands import AnswerStarter
from bot.slack.handlers.summaries import SHAPE
from bot.tools.slack.access import ChannelAccess, Refused
from bot.tools.slack.directory import SlackDirectory, SlackUnavailable, WorkspaceDirectory
from bot.tools.slack.since import zone

log = structlog.get_logger("bot.routines")

FIRST_PERIOD_S = 24 * 3600  # a first summary reads the last day
SUMMARY = (
    "This is a scheduled routine set up by the person asking: summarise what happened in "
    "<#{channel}> since {since}. Read it with read_channel (channel={channel}, since={since})."
    " " + SHAPE
)
ASK = (
    "This is a scheduled routine set up by the person asking (they are not here to answer "
    "follow-up questions; answer as best you can):\n\n{prompt}"
)
STOPPED = (
    "Your routine `{id}` ({label}) has stopped and was deleted: {reason} Set it up again with "
    "`/claude-routine` once that is fixed."
)
INACTIVE = "your account is no longer active."
NOT_IN_TARGET = "I'm no longer in <#{channel}>, where it posts."


def instruction(routine: Routine, scheduled: float) -> str:
    """What Claude is asked on this occurrence."""
    if routine.source_channel:
        start = routine.last_run or (scheduled - FIRST_PERIOD_S)
        since = datetime.fromtimestamp(start, UTC).astimezone(zone(routine.tz)).isoformat()
        return SUMMARY.format(channel=routine.source_channel, since=since[:19])
    return ASK.format(prompt=routine.prompt or "")


@dataclass(frozen=True)
class RoutineRunner:
    """Runs occurrences; stops a routine whose owner lost access, and tells them."""

    store: RoutineStore
    directory: SlackDirectory
    access: ChannelAccess
    policy: AccessPolicy
    answers: AnswerStarter
    unschedule: Callable[[str], Awaitable[None]]

    async def fire(self, routine_id: str, workspace: str, scheduled: float) -> None:
        """Run the occurrence due at `scheduled` of the routine of `workspace`, on exactly one
        replica."""
        structlog.contextvars.bind_contextvars(routine=routine_id)
        routine = await self.store.get(workspace, routine_id)
        if routine is None:
            await self.unschedule(routine_id)
            return
        if not await self.store.claim(workspace, routine_id, scheduled):
            log.info("routine.already_ran", scheduled=scheduled)
            return
        try:
            directory = await self.directory.of(routine.team)
        except NotInstalled:
            log.warning("routine.not_installed")
            return
        try:
            problem = await self.problem(directory, routine)
        except SlackUnavailable:
            log.warning("routine.check_unavailable")
            return
        if problem is not None:
            await self.stop(directory, routine, problem)
            return
        root = await self._post_root(directory, routine)
        if root is None:
            return
        log.info("routine.run", scheduled=scheduled, late_s=round(self._late(scheduled)))
        self.answers.spawn_answer(
            Question(
                key=ThreadKey(routine.team, routine.target_channel, root),
                user=routine.owner,
                text=instruction(routine, scheduled),
                ts=root,
                is_direct_message=routine.target_channel.startswith("D"),
                reply_thread_ts=root,
                feature="routine",
            )
        )
        await self.store.ran(routine, scheduled)

    async def problem(self, directory: WorkspaceDirectory, routine: Routine) -> str | None:
        """Why the owner may no longer run it (None: they may): their account, the
        allowlists, where it posts, and what it reads — all as they are now."""
        person = await directory.person(routine.owner)
        if person is None or person.deleted:
            return INACTIVE
        target = routine.target_channel
        refusal = self.policy.refusal(routine.owner, target, is_direct_message=target[:1] == "D")
        if refusal is not None:
            return refusal
        if target[:1] != "D":
            verdict = await self.access.check(directory, routine.owner, target, fresh=True)
            if isinstance(verdict, Refused):
                return verdict.reason
        if routine.source_channel:
            source = routine.source_channel
            verdict = await self.access.check(directory, routine.owner, source, fresh=True)
            if isinstance(verdict, Refused):
                return verdict.reason
        return None

    async def stop(self, directory: WorkspaceDirectory, routine: Routine, reason: str) -> None:
        """Delete the routine and tell its owner why (in their DM with the bot)."""
        log.info("routine.stopped")
        await self.store.delete(routine.team, routine.id)
        await self.unschedule(routine.id)
        text = STOPPED.format(id=routine.id, label=routine.label, reason=reason)
        try:
            await directory.call(
                directory.client.chat_postMessage,
                channel=routine.owner,
                text=defuse_broadcasts(text),
                **NO_LINKING,
            )
        except (SlackApiError, SlackUnavailable) as exc:
            log.warning("routine.owner_not_told", error=str(exc)[:80])

    async def _post_root(self, directory: WorkspaceDirectory, routine: Routine) -> str | None:
        text = f":alarm_clock: Routine `{routine.id}`: {routine.label}"
        try:
            posted = await directory.call(
                directory.client.chat_postMessage,
                channel=routine.target_channel,
                text=defuse_broadcasts(text),
                **NO_LINKING,
            )
        except (SlackApiError, SlackUnavailable) as exc:
            log.warning("routine.cannot_post", error=str(exc)[:80])
            return None
        return str(posted.get("ts") or "") or None

    @staticmethod
    def _late(scheduled: float) -> float:
        return datetime.now(UTC).timestamp() - scheduled
