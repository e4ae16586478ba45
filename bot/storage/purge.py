"""Forgetting one workspace: every key that names it (threads, their locks and queues, dedupe
marks, cached names, surface state, feedback, the usage ledger, budgets and holds, the edit
budget) is deleted when the app is uninstalled from it.

Every key builder puts the workspace id in a key segment of its own, inside or beside a hash tag
(`csb:v1:{T1:C1:171…}:history`, `csb:v1:usage:{E1:T1}:day:…`, `csb:v1:user:T1:U1`), so the
keys of a workspace are those with a segment equal to its team id (or, for an organisation's
org-wide install, its enterprise id). Ids of other kinds (C…, U…, D…, timestamps) never equal a
team id. Batch jobs (keyed by job id) are left to expire; their results can no longer be posted.
"""

from __future__ import annotations

import re

import structlog

from bot.storage.connect import RedisClient
from bot.storage.key_layout import PREFIX

log = structlog.get_logger("bot.storage.purge")

SCAN_COUNT = 1000
DELETE_BATCH = 500


def names_workspace(key: str, ident: str) -> bool:
    """True when one of the key's segments (split at `:`, `{`, `}`) is `ident` (pure)."""
    return re.search(rf"(?:^|[:{{]){re.escape(ident)}(?:[:}}]|$)", key) is not None


async def purge_workspace(client: RedisClient, ident: str) -> int:
    """Delete every key of the bot that names the workspace (team id, or enterprise id for an
    org-wide install); returns how many were deleted."""
    if not re.fullmatch(r"[A-Z0-9]+", ident):
        raise ValueError("a Slack team or enterprise id is expected")
    batch: list[str] = []
    deleted = 0
    async for raw in client.scan_iter(match=f"{PREFIX}:*{ident}*", count=SCAN_COUNT):
        key = raw.decode() if isinstance(raw, bytes) else str(raw)
        if names_workspace(key, ident):
            batch.append(key)
        if len(batch) >= DELETE_BATCH:
            deleted += await client.unlink(*batch)
            batch = []
    if batch:
        deleted += await client.unlink(*batch)
    log.info("workspace.purged", workspace=ident, keys=deleted)
    return deleted
