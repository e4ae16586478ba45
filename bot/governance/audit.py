"""The audit log: every admin action, approval, forget and export, as a structured log event
(`audit`) and an entry of a Redis stream per workspace, kept for BOT_AUDIT_RETENTION_DAYS.

    csb:v1:audit:{team}   stream (entry id: the time, ms); fields: action, actor and the
                          action's own (channel, thread, scope, path, counts, result …) —
                          ids and counts, never message text

Each XADD trims entries older than the retention (MINID, approximate: whole stream nodes), and
the stream expires a retention after its newest entry, so it stays bounded without a sweeper.
Recording is best effort: an unreachable Redis is logged and the action goes on.
`python -m bot audit --since 7d` reads it (bot/governance/cli.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from redis.exceptions import RedisError

from bot.storage.connect import RedisClient
from bot.storage.key_layout import PREFIX

log = structlog.get_logger("bot.audit")

AUDIT = f"{PREFIX}:audit"
Field = str | int | float | bool


def audit_key(team: str) -> str:
    """The workspace's audit stream."""
    return f"{AUDIT}:{{{team}}}"


class Auditor(Protocol):
    """Where audited actions go."""

    async def record(self, team: str, action: str, actor: str, **fields: Field) -> None:
        """Note one action by `actor` (a user id) in `team` (never raises)."""
        ...


@dataclass(frozen=True)
class AuditEvent:
    """One entry of the log."""

    team: str
    at_ms: int
    action: str
    actor: str
    fields: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        """A JSON-lines record: time (ISO, UTC), team, action, actor, then the rest."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.at_ms / 1000))
        head = {"time": f"{stamp}.{self.at_ms % 1000:03d}Z", "team": self.team}
        return {**head, "action": self.action, "actor": self.actor, **self.fields}


class AuditLog:
    """Auditor over a Redis stream per workspace, plus the structured log line."""

    def __init__(
        self,
        client: RedisClient,
        retention_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._retention_ms = int(retention_seconds * 1000)
        self._clock = clock

    async def record(self, team: str, action: str, actor: str, **fields: Field) -> None:
        """XADD the event (trimming what is past the retention) and log it."""
        now_ms = int(self._clock() * 1000)
        values = {k: _text(v) for k, v in fields.items()}
        log.info("audit", action=action, actor=actor, team=team, **values)
        entry: dict[Any, Any] = {"action": action, "actor": actor, **values}
        key = audit_key(team)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.xadd(key, entry, minid=str(now_ms - self._retention_ms), approximate=True)
                pipe.expire(key, self._retention_ms // 1000 + 1)
                await pipe.execute()
        except RedisError as exc:
            log.warning("audit.not_stored", action=action, error=type(exc).__name__)

    async def read(self, since_seconds: float, team: str | None = None) -> list[AuditEvent]:
        """Events of the last `since_seconds`, oldest first (every workspace unless `team`)."""
        start = int((self._clock() - since_seconds) * 1000)
        keys = [audit_key(team)] if team else await self._all_keys()
        events: list[AuditEvent] = []
        for key in keys:
            owner = key.split("{", 1)[1].rstrip("}")
            for entry_id, raw in await self._redis.xrange(key, min=str(max(start, 0))) or []:
                if entry_id is not None and raw is not None:
                    events.append(_event(owner, entry_id, raw))
        return sorted(events, key=lambda event: event.at_ms)

    async def _all_keys(self) -> list[str]:
        keys = []
        async for key in self._redis.scan_iter(match=f"{AUDIT}:{{*}}", count=200):
            keys.append(key.decode() if isinstance(key, bytes) else str(key))
        return sorted(keys)


def _text(value: Field) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _event(team: str, entry_id: bytes | str, raw: dict[Any, Any]) -> AuditEvent:
    decoded = {
        (k.decode() if isinstance(k, bytes) else str(k)): (
            v.decode() if isinstance(v, bytes) else str(v)
        )
        for k, v in raw.items()
    }
    ident = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    action, actor = decoded.pop("action", ""), decoded.pop("actor", "")
    return AuditEvent(team, int(ident.split("-")[0]), action, actor, decoded)


class NoAudit:
    """An Auditor that only logs (tests, tools without Redis)."""

    async def record(self, team: str, action: str, actor: str, **fields: Field) -> None:
        """Log the action."""
        log.info("audit", action=action, actor=actor, team=team, **fields)
