"""Answers in progress, so one left behind by a killed process is marked, not left hanging.

Every replica has an instance id and a heartbeat: its expiry (server time, ms) in one hash.
While an answer streams, a record names its instance, where its last message is and what that
message shows. A sweeper (on every replica, every few seconds) takes records whose instance's
heartbeat has expired and hands them over to be marked "interrupted".

    csb:v1:{inflight}:answers     hash answer id -> JSON record
    csb:v1:{inflight}:instances   hash instance id -> heartbeat expiry (ms)

Both share one hash tag, so the sweep script declares both keys and runs on one Redis and on a
Redis Cluster alike (it never builds a key name). The load is a few small writes per answer.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass

from redis.exceptions import RedisError

from bot.storage.connect import RedisClient
from bot.storage.key_layout import PREFIX

JOURNAL_TAG = "{inflight}"
RECORDS = f"{PREFIX}:{JOURNAL_TAG}:answers"
INSTANCES = f"{PREFIX}:{JOURNAL_TAG}:instances"

_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""
# KEYS: instances. ARGV: instance id, heartbeat ms.
_BEAT = (
    _NOW_MS
    + """
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', now + tonumber(ARGV[2])))
return 1
"""
)
# KEYS: records, instances. Takes (deletes) the records of instances whose heartbeat expired,
# and forgets those instances.
_TAKE_ORPHANS = (
    _NOW_MS
    + """
local alive = {}
local beats = redis.call('HGETALL', KEYS[2])
for i = 1, #beats, 2 do
  if tonumber(beats[i + 1]) > now then
    alive[beats[i]] = true
  else
    redis.call('HDEL', KEYS[2], beats[i])
  end
end
local out = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local rec = cjson.decode(all[i + 1])
  if not alive[rec['instance']] then
    redis.call('HDEL', KEYS[1], all[i])
    table.insert(out, all[i + 1])
  end
end
return out
"""
)


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

    def __init__(self, client: RedisClient, *, heartbeat_seconds: float) -> None:
        self._redis = client
        self.instance = uuid.uuid4().hex[:12]
        self._heartbeat_ms = int(heartbeat_seconds * 1000)
        self._beat = client.register_script(_BEAT)
        self._take_orphans = client.register_script(_TAKE_ORPHANS)

    async def beat(self) -> None:
        """Say this replica is alive (call more often than the heartbeat lasts)."""
        await self._beat(keys=[INSTANCES], args=[self.instance, self._heartbeat_ms])

    async def stop(self) -> None:
        """This replica is going away cleanly."""
        await self._redis.hdel(INSTANCES, self.instance)

    async def forget(self, instance: str) -> None:
        """Another instance is known to be dead (its process is gone): drop its heartbeat, so
        the next sweep takes its answers now rather than when the heartbeat expires."""
        await self._redis.hdel(INSTANCES, instance)

    async def restore(self, orphan: InflightAnswer) -> None:
        """Put back an orphan that could not be marked, for a later sweep (any replica's)."""
        field = f"orphan:{orphan.channel}:{orphan.message_ts}"
        await self._redis.hset(RECORDS, field, json.dumps(asdict(orphan)))

    async def shown(
        self, answer_id: str, channel: str, message_ts: str, text: str, *, workspace: str = ""
    ) -> None:
        """Record what the answer's last message shows (best effort)."""
        record = {
            "instance": self.instance,
            "channel": channel,
            "message_ts": message_ts,
            "text": text,
            "workspace": workspace,
        }  # InflightAnswer's fields (asdict is slow, and this runs on every edit)
        try:
            await self._redis.hset(RECORDS, answer_id, json.dumps(record))
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
        raw = await self._take_orphans(keys=[RECORDS, INSTANCES])
        return [InflightAnswer(**json.loads(item)) for item in raw]
