"""`/claude-routine`: create, list and delete routines (every answer is ephemeral), each kept
under the workspace the command came from."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import structlog
from redis.exceptions import RedisError

from bot.routines.parse import Create, Delete, Listing, parse_routine
from bot.routines.store import Routine, RoutineStore, new_id
from bot.slack.api.workspaces import NotInstalled, workspace_of
from bot.slack.handlers.access import AccessPolicy
from bot.tools.slack.access import ChannelAccess, Refused
from bot.tools.slack.directory import SlackDirectory, SlackUnavailable, WorkspaceDirectory
from bot.tools.slack.since import zone

log = structlog.get_logger("bot.routines")

COMMAND = "/claude-routine"
Respond = Callable[..., Awaitable[Any]]
UNAVAILABLE = "I can't reach my routine store right now. Try again in a minute."
TOO_MANY = "You have {count} routines, the most one person may have. Delete one first."
NOT_YOURS = "There is no routine `{id}` of yours. `/claude-routine list` shows yours."
CANNOT_POST = "I'm not in this channel, so a routine could not post here. Invite me first."
NOT_INSTALLED = "I'm not installed in this workspace any more; ask an admin to add me again."
ID_TRIES = 8  # a routine id is drawn again while another routine (any workspace's) has it


class Jobs(Protocol):
    """The scheduler, as the command sees it."""

    async def schedule(self, routine: Routine) -> datetime | None:
        """Add or replace; the next run time."""
        ...

    async def next_run(self, routine_id: str) -> datetime | None:
        """When it runs next."""
        ...

    async def taken(self, routine_id: str) -> bool:
        """Whether some routine (of any workspace) already has this id."""
        ...

    async def unschedule(self, routine_id: str) -> None:
        """Remove."""
        ...


def when_text(moment: datetime | None, tz: str) -> str:
    """ "Mon 9 Dec 09:00 (Europe/London)"."""
    if moment is None:
        return "not scheduled"
    local = moment.astimezone(zone(tz))
    return f"{local:%a} {local.day} {local:%b %H:%M} ({tz})"


@dataclass(frozen=True)
class RoutineCommands:
    """The /claude-routine handler."""

    store: RoutineStore
    jobs: Jobs
    directory: SlackDirectory
    access: ChannelAccess
    policy: AccessPolicy
    per_user: int

    async def on_command(self, ack: Respond, command: dict[str, Any], respond: Respond) -> None:
        """Ack at once; the outcome goes back to the person alone."""
        user, channel = str(command["user_id"]), str(command["channel_id"])
        refusal = self.policy.refusal(user, channel, is_direct_message=channel.startswith("D"))
        if refusal is not None:
            await ack(response_type="ephemeral", text=refusal)
            return
        parsed = parse_routine(str(command.get("text") or ""))
        if isinstance(parsed, str):
            await ack(response_type="ephemeral", text=parsed)
            return
        await ack()
        team = workspace_of(command)
        try:
            if isinstance(parsed, Listing):
                text = await self._list(team, user)
            elif isinstance(parsed, Delete):
                text = await self._delete(team, user, parsed.routine_id)
            else:
                text = await self._create(await self.directory.of(team), user, channel, parsed)
        except NotInstalled:
            text = NOT_INSTALLED
        except RedisError as exc:
            log.warning("routine.store_unavailable", error=type(exc).__name__)
            text = UNAVAILABLE
        except SlackUnavailable as exc:
            text = str(exc)
        await respond(response_type="ephemeral", text=text)

    async def _list(self, team: str, user: str) -> str:
        mine = await self.store.owned_by(team, user)
        if not mine:
            return "You have no routines. `/claude-routine` with no text shows how to make one."
        lines = ["Your routines:"]
        for routine in mine:
            upcoming = when_text(await self.jobs.next_run(routine.id), routine.tz)
            lines.append(
                f"• `{routine.id}` {routine.label} → <#{routine.target_channel}>, next {upcoming}"
            )
        return "\n".join(lines)

    async def _delete(self, team: str, user: str, routine_id: str) -> str:
        routine = await self.store.get(team, routine_id)
        if routine is None or routine.owner != user:
            return NOT_YOURS.format(id=routine_id)
        await self.store.delete(team, routine_id)
        await self.jobs.unschedule(routine_id)
        log.info("routine.deleted", routine=routine_id)
        return f"Deleted routine `{routine_id}` ({routine.label})."

    async def _create(
        self, directory: WorkspaceDirectory, user: str, channel: str, parsed: Create
    ) -> str:
        team = directory.key
        if len(await self.store.owned_by(team, user)) >= self.per_user:
            return TOO_MANY.format(count=self.per_user)
        if not channel.startswith("D"):
            facts = await directory.channel(channel)
            if facts is None or not facts.bot_is_member:
                return CANNOT_POST
        if parsed.source_channel:
            source = parsed.source_channel
            verdict = await self.access.check(directory, user, source, fresh=True)
            if isinstance(verdict, Refused):
                return f"I can't summarise that channel for you: {verdict.reason}"
        person = await directory.person(user)
        schedule = parsed.schedule
        routine = Routine(
            id=await self._free_id(),
            team=team,
            owner=user,
            target_channel=channel,
            tz=person.tz if person else "UTC",
            day_of_week=schedule.day_of_week,
            hour=schedule.hour,
            minute=schedule.minute,
            second=schedule.second,
            when=schedule.text,
            source_channel=parsed.source_channel,
            source_name=parsed.source_name,
            prompt=parsed.prompt,
            created_at=time.time(),
        )
        await self.store.save(routine)
        upcoming = await self.jobs.schedule(routine)
        log.info("routine.created", routine=routine.id)
        return (
            f"Routine `{routine.id}` set: {routine.label}, posting here. Next: "
            f"{when_text(upcoming, routine.tz)}. It runs with your permissions at the time; "
            f"`/claude-routine delete {routine.id}` stops it."
        )

    async def _free_id(self) -> str:
        """A routine id no routine of any workspace has (they share one job store)."""
        for _ in range(ID_TRIES - 1):
            routine_id = new_id()
            if not await self.jobs.taken(routine_id):
                return routine_id
        return new_id()
