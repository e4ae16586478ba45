"""Batch jobs in Redis: the job record, its table, its results, the set of running jobs, one-time
claims, and the poller's leader lock. Any replica can follow any job; everything has a TTL.

    csb:v1:{batch}:job:<id>             the job (JSON); changed by WATCH/MULTI compare-and-set
    csb:v1:{batch}:active               set of the jobs the poller follows
    csb:v1:batch:table:<id>             the job's rows (compressed JSON)
    csb:v1:batch:results:<id>           hash row id -> result
    csb:v1:batch:claim:<id>:<what>      one-time marks (SET NX)
    csb:v1:batch:leader                 the poller's lock

A job and the active set change in one transaction, so they share the `{batch}` hash tag (one
slot of a Redis Cluster: small records); tables and results, the big values, are each used alone
and spread over the cluster.
"""

from __future__ import annotations

import asyncio
import json
import uuid
import zlib
from collections.abc import Callable
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import WatchError

from bot.batch.jobs import Job
from bot.batch.results import RowResult
from bot.batch.table import Table
from bot.storage.connect import RedisClient
from bot.storage.key_layout import PREFIX

JOB_TTL_SECONDS = 30 * 86_400  # the API keeps results 29 days
PENDING_TTL_SECONDS = 86_400  # an unconfirmed job is forgotten after a day

# KEYS: lock. ARGV: token, ttl ms. Take the lock if free, or renew it if ours.
_HOLD = """
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
# KEYS: lock. ARGV: token.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _pack(table: Table) -> bytes:
    """The table as compressed JSON (Table.to_json's shape), encoded a row at a time: one
    json.dumps of a big table would hold the GIL, and so the event loop, for a third of a second."""
    packer = zlib.compressobj()
    columns = json.dumps(list(table.columns), ensure_ascii=False)
    parts = [packer.compress(f'{{"columns":{columns},"rows":['.encode())]
    for index, row in enumerate(table.rows):
        text = ("," if index else "") + json.dumps(list(row), ensure_ascii=False)
        parts.append(packer.compress(text.encode()))
    parts += [packer.compress(b"]}"), packer.flush()]
    return b"".join(parts)


def _unpack(data: bytes) -> Table:
    return Table.from_json(json.loads(zlib.decompress(data)))


def _key(*parts: str) -> str:
    return ":".join((PREFIX, "batch", *parts))


def _job_key(job_id: str) -> str:
    return f"{PREFIX}:{{batch}}:job:{job_id}"


ACTIVE_KEY = f"{PREFIX}:{{batch}}:active"
_MIGRATED_KEY = f"{PREFIX}:migrated:batch-jobs"


class JobStore:
    """Jobs, tables and results (redis.asyncio; raises RedisError)."""

    def __init__(self, client: RedisClient) -> None:
        self._redis = client

    async def create(self, job: Job, table: Table) -> None:
        """Store a new (pending) job and its table (the table first: a job never lacks one)."""
        packed = await asyncio.to_thread(_pack, table)  # a big table takes a while: off the loop
        await self._redis.set(_key("table", job.id), packed, ex=PENDING_TTL_SECONDS)
        await self._redis.set(_job_key(job.id), job.to_json(), ex=PENDING_TTL_SECONDS)

    async def get(self, job_id: str) -> Job | None:
        """The job, or None when unknown or expired."""
        raw = await self._redis.get(_job_key(job_id))
        return Job.from_json(raw) if raw is not None else None

    async def table(self, job_id: str) -> Table | None:
        """The job's table."""
        raw = await self._redis.get(_key("table", job_id))
        if raw is None:
            return None
        data = raw if isinstance(raw, bytes) else raw.encode("latin-1")
        return await asyncio.to_thread(_unpack, data)

    async def update(
        self, job_id: str, change: Callable[[Job], Job | None], *, activate: bool = False
    ) -> Job | None:
        """Apply `change` atomically (optimistic: retried if another replica wrote meanwhile).
        `change` returns None to leave the job as it is; the stored job is returned. With
        `activate`, a change also makes the poller follow the job (in the same transaction).
        Every change keeps the table as long as the job (renewed by the next change if this
        one's EXPIRE is lost)."""
        key = _job_key(job_id)
        while True:
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        return None
                    current = Job.from_json(raw)
                    changed = change(current)
                    if changed is None:
                        return current
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(key, changed.to_json(), ex=JOB_TTL_SECONDS)
                    if activate:
                        pipe.sadd(ACTIVE_KEY, job_id)
                    await pipe.execute()
                except WatchError:
                    continue
            await self._redis.expire(_key("table", job_id), JOB_TTL_SECONDS)
            return changed

    async def activate(self, job_id: str) -> None:
        """Make the job one the poller follows."""
        await self._redis.sadd(ACTIVE_KEY, job_id)

    async def deactivate(self, job_id: str) -> None:
        """The poller stops following the job."""
        await self._redis.srem(ACTIVE_KEY, job_id)

    async def active(self) -> list[str]:
        """Ids of the jobs being followed."""
        members: set[Any] = await self._redis.smembers(ACTIVE_KEY)
        return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)

    async def claim(self, job_id: str, what: str) -> bool:
        """True the first time `what` is claimed for the job (across replicas and restarts)."""
        key = _key("claim", job_id, what)
        return bool(await self._redis.set(key, "1", nx=True, ex=JOB_TTL_SECONDS))

    async def save_results(self, job_id: str, results: list[RowResult]) -> None:
        """Store results by row id (a later round's result replaces an earlier one)."""
        if not results:
            return
        key = _key("results", job_id)
        mapping: dict[str | bytes, str] = {r.custom_id: r.to_json() for r in results}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=mapping)  # type: ignore[arg-type]
            pipe.expire(key, JOB_TTL_SECONDS)
            await pipe.execute()

    async def results(self, job_id: str) -> dict[str, RowResult]:
        """Every stored result of the job, by row id."""
        raw: dict[Any, Any] = await self._redis.hgetall(_key("results", job_id))
        out: dict[str, RowResult] = {}
        for field, value in raw.items():
            custom_id = field.decode() if isinstance(field, bytes) else str(field)
            out[custom_id] = RowResult.from_json(custom_id, value)
        return out

    async def adopt_legacy_jobs(self) -> int:
        """Jobs stored by a version before the `{batch}` hash tag (`csb:v1:batch:job:<id>`,
        `csb:v1:batch:active`) moved to their keys now, once per Redis; returns how many.
        Only a single server can hold them: on a cluster, the old transactions never ran."""
        if isinstance(self._redis, RedisCluster) or await self._redis.exists(_MIGRATED_KEY):
            return 0
        moved = 0
        async for raw in self._redis.scan_iter(match=_key("job", "*"), count=1000):
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            if await self._redis.renamenx(name, _job_key(name.rsplit(":", 1)[1])):
                moved += 1
        legacy_active: set[Any] = await self._redis.smembers(_key("active"))
        if legacy_active:
            await self._redis.sadd(ACTIVE_KEY, *legacy_active)
            await self._redis.delete(_key("active"))
        await self._redis.set(_MIGRATED_KEY, "1")
        return moved


class LeaderLock:
    """One poller at a time across replicas: a Redis key with a token and a TTL, renewed by
    every hold(); a dead leader's lock expires and another replica takes over."""

    def __init__(self, client: RedisClient, *, ttl_seconds: float, key: str = "") -> None:
        self._redis = client
        self._key = key or _key("leader")  # routines lead under their own key
        self._token = uuid.uuid4().hex
        self._ttl_ms = int(ttl_seconds * 1000)
        self._hold = client.register_script(_HOLD)
        self._release = client.register_script(_RELEASE)

    async def hold(self) -> bool:
        """Take or renew the lock; True while this process leads."""
        return bool(await self._hold(keys=[self._key], args=[self._token, self._ttl_ms]))

    async def release(self) -> None:
        """Step down (on shutdown), if leading."""
        await self._release(keys=[self._key], args=[self._token])
