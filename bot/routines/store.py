"""Routines in Redis: one hash per workspace, `csb:v1:routines:{team}`, routine id -> JSON;
and the mark that lets exactly one replica run each occurrence."""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass

from bot.storage.connect import RedisClient
from bot.storage.key_layout import PREFIX

OCCURRENCE_MARK_TTL_S = 7 * 24 * 3600


def routines_key(team: str) -> str:
    """The hash of a workspace's routines."""
    return f"{PREFIX}:routines:{team}"


def occurrence_key(team: str, routine_id: str, scheduled: float) -> str:
    """Claimed by the replica that runs this occurrence."""
    return f"{PREFIX}:routines:{team}:ran:{routine_id}:{int(scheduled)}"


def new_id() -> str:
    """A short id people can type in `delete <id>`."""
    return secrets.token_hex(3)


@dataclass(frozen=True)
class Routine:
    """One routine, as stored."""

    id: str
    team: str
    owner: str
    target_channel: str  # where it posts
    tz: str  # the owner's timezone (users.info) when it was created
    day_of_week: str
    hour: int
    minute: int
    second: int
    when: str  # the schedule as the owner wrote it
    source_channel: str | None = None  # summarise this channel …
    source_name: str = ""
    prompt: str | None = None  # … or ask this
    created_at: float = 0.0
    last_run: float = 0.0  # the last occurrence that ran (a summary reads since then)

    @property
    def label(self) -> str:
        """ "every weekday at 9:00: summarise #incidents"."""
        what = (
            f"summarise <#{self.source_channel}>"
            if self.source_channel
            else f"ask: {self.prompt or ''}"
        )
        return f"{self.when}: {what}"

    def dumps(self) -> str:
        """JSON for the hash."""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def loads(cls, raw: bytes | str) -> Routine:
        """From the hash's JSON."""
        return cls(**json.loads(raw))


class RoutineStore:
    """CRUD on a workspace's routines, and the per-occurrence claim."""

    def __init__(self, client: RedisClient) -> None:
        self._redis = client

    async def save(self, routine: Routine) -> None:
        """Create or replace."""
        await self._redis.hset(routines_key(routine.team), routine.id, routine.dumps())

    async def get(self, team: str, routine_id: str) -> Routine | None:
        """One routine, or None."""
        raw = await self._redis.hget(routines_key(team), routine_id)
        return Routine.loads(raw) if raw else None

    async def all(self, team: str) -> list[Routine]:
        """Every routine of the workspace, oldest first."""
        raw = await self._redis.hvals(routines_key(team))
        return sorted((Routine.loads(r) for r in raw), key=lambda r: r.created_at)

    async def owned_by(self, team: str, owner: str) -> list[Routine]:
        """A person's routines."""
        return [r for r in await self.all(team) if r.owner == owner]

    async def delete(self, team: str, routine_id: str) -> bool:
        """Remove it; False when there was none."""
        return bool(await self._redis.hdel(routines_key(team), routine_id))

    async def claim(self, team: str, routine_id: str, scheduled: float) -> bool:
        """True for the one replica that runs this occurrence (SET NX)."""
        key = occurrence_key(team, routine_id, scheduled)
        return bool(await self._redis.set(key, "1", nx=True, ex=OCCURRENCE_MARK_TTL_S))

    async def ran(self, routine: Routine, scheduled: float) -> None:
        """Remember the occurrence that ran (if the routine still exists)."""
        current = await self.get(routine.team, routine.id)
        if current is not None:
            updated = Routine(**{**json.loads(current.dumps()), "last_run": scheduled})
            await self.save(updated)
