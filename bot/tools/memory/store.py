"""Memory in Redis: one hash per scope, a field per file (JSON: text, author, time).

    csb:v1:memory:{team}:channel:<channel>:<public|private>   a channel's notes
    csb:v1:memory:{team}:user:<user>:<public|private>         one person's notes

A scope carries the privacy of the conversations that may use it: what is written in a private
channel or a DM lands in a `private` hash, which is never offered in a public channel. Every
change is one optimistic transaction (WATCH, read, check the caps, write), so two answers writing
to the same scope at once cannot overrun its limits; the hash's TTL is refreshed on each change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from redis.exceptions import WatchError

from bot.storage.connect import RedisClient
from bot.storage.key_layout import PREFIX
from bot.tools.memory.files import Change, Entry, Files
from bot.tools.memory.paths import MemoryProblem

Kind = Literal["channel", "user"]
WATCH_ATTEMPTS = 5


@dataclass(frozen=True)
class Scope:
    """Whose notes, and from which kind of conversation."""

    team: str
    kind: Kind
    owner: str  # the channel id, or the user id
    private: bool

    @property
    def key(self) -> str:
        """Its Redis hash."""
        return f"{PREFIX}:memory:{{{self.team}}}:{self.token}"

    @property
    def token(self) -> str:
        """`channel:C123:public`: names the scope within its workspace (button values)."""
        return f"{self.kind}:{self.owner}:{'private' if self.private else 'public'}"

    @classmethod
    def from_token(cls, team: str, token: str) -> Scope | None:
        """The scope a token names, or None for a malformed one."""
        parts = token.split(":")
        if len(parts) != 3 or parts[0] not in ("channel", "user") or not parts[1]:
            return None
        if parts[2] not in ("public", "private"):
            return None
        kind: Kind = "channel" if parts[0] == "channel" else "user"
        return cls(team, kind, parts[1], parts[2] == "private")


def _load(raw: Mapping[bytes | str, bytes | str]) -> dict[str, Entry]:
    files = {}
    for field, value in raw.items():
        data = json.loads(value)
        name = field.decode() if isinstance(field, bytes) else field
        files[name] = Entry(str(data["text"]), str(data["by"]), float(data["at"]))
    return files


def _dump(entry: Entry) -> str:
    return json.dumps({"text": entry.text, "by": entry.by, "at": entry.at}, ensure_ascii=False)


Edit = Callable[[Files], Change]


class MemoryStore:
    """Reads and changes scopes (raises RedisError when Redis is unreachable)."""

    def __init__(self, client: RedisClient, ttl_seconds: int) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    async def files(self, scope: Scope) -> dict[str, Entry]:
        """A scope's files by inner path."""
        return _load(await self._redis.hgetall(scope.key))

    async def change(self, scope: Scope, edit: Edit) -> Change:
        """Apply `edit` to the scope's current files atomically; MemoryProblem from the edit
        passes through and nothing is written."""
        for _ in range(WATCH_ATTEMPTS):
            try:
                return await self._try_change(scope, edit)
            except WatchError:
                continue
        raise MemoryProblem("The memory is busy being changed; try again.")

    async def _try_change(self, scope: Scope, edit: Edit) -> Change:
        async with self._redis.pipeline(transaction=True) as pipe:
            await pipe.watch(scope.key)
            current = _load(await pipe.hgetall(scope.key))
            change = edit(current)
            pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
            if change.delete - set(change.put):
                pipe.hdel(scope.key, *(change.delete - set(change.put)))
            if change.put:
                pipe.hset(scope.key, mapping={k: _dump(v) for k, v in change.put.items()})
                pipe.expire(scope.key, self._ttl)
            await pipe.execute()
        return change

    async def remove(self, scope: Scope, inner: str) -> Entry | None:
        """Delete one file (the /claude-memory Forget button); what it held, or None."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hget(scope.key, inner)
            pipe.hdel(scope.key, inner)
            raw, _ = await pipe.execute()
        if raw is None:
            return None
        return _load({inner: raw})[inner]
