"""Answers in progress, so one left behind by a killed process is marked, not left hanging.

Every replica has an instance id with a heartbeat key. While an answer streams, a record names
its instance, where its last message is and what that message shows. A sweeper (on every replica,
every few seconds) takes records whose instance's heartbeat has expired and hands them over to be
marked "interrupted".
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass

import redis.asyncio as redis
from redis.exceptions import RedisError

from bot.storage.key_layout import PREFIX

RECORDS = f"{PREFIX}:inflight"

# KEYS: records. ARGV: instance key prefix. Takes (deletes) the orphaned records.
_TAKE_ORPHANS = """
local out = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local rec = cjson.decode(all[i + 1])
  if redis.call('EXISTS', ARGV[1] .. rec['instance']) == 0 then
    redis.call('HDEL', KEYS[1], all[i])
    table.insert(out, all[i + 1])
  end
end
return out
"""


@dataclass(frozen=True)
class InflightAnswer:
    """Where an unfinished answer's last message is, and what it shows."""

    instance: str
    channel: str
    message_ts: str
    text: str
    workspace: str = ""  # whose client edits it ("": a record of an older bot, one workspace)


class InflightJournal:
    """The records of this replica's answers in progress, and the sweeper of orphans."""

    def __init__(self, client: redis.Redis, *, heartbeat_seconds: float) -> None:
        self._redis = client
        self.instance = uuid.uuid4().hex[:12]
        self._heartbeat_ms = int(heartbeat_seconds * 1000)
        self._take_orphans = client.register_script(_TAKE_ORPHANS)

    async def beat(self) -> None:
        """Say this replica is alive (call more often than the heartbeat lasts)."""
        await self._redis.set(_instance_key(self.instance), "1", px=self._heartbeat_ms)

    async def stop(self) -> None:
        """This replica is going away cleanly."""
        await self._redis.delete(_instance_key(self.instance))

    async def forget(self, instance: str) -> None:
        """Another instance is known to be dead (its process is gone): drop its heartbeat, so
        the next sweep takes its answers now rather than when the heartbeat expires."""
        await self._redis.delete(_instance_key(instance))

    async def restore(self, orphan: InflightAnswer) -> None:
        """Put back an orphan that could not be marked, for a later sweep (any replica's)."""
        field = f"orphan:{orphan.channel}:{orphan.message_ts}"
        await self._redis.hset(RECORDS, field, json.dumps(asdict(orphan)))

    async def shown(
        self, answer_id: str, channel: str, message_ts: str, text: str, *, workspace: str = ""
    ) -> None:
        """Record what the answer's last message shows (best effort)."""
        record = InflightAnswer(self.instance, channel, message_ts, text, workspace)
        try:
            await self._redis.hset(RECORDS, answer_id, json.dumps(asdict(record)))
        except RedisError:
            return

    async def closed(self, answer_id: str) -> None:
        """The answer ended with its final message."""
        try:
            await self._redis.hdel(RECORDS, answer_id)
        except RedisError:
            return

    async def take_orphans(self) -> list[InflightAnswer]:
        """Records of answers whose replica died; each is returned to exactly one sweeper."""
        raw = await self._take_orphans(keys=[RECORDS], args=[f"{PREFIX}:instance:"])
        return [InflightAnswer(**json.loads(item)) for item in raw]


def _instance_key(instance: str) -> str:
    return f"{PREFIX}:instance:{instance}"
