"""A start-up check that Redis will not evict the bot's keys when it fills up.

Dedupe marks, thread locks and the usage ledger's totals must stay until their own expiry: a
Redis that evicts keys under memory pressure (any `maxmemory-policy` but `noeviction`) could make
the bot answer a message twice, run two answers in one thread at once, or forget spend.
"""

from __future__ import annotations

import redis.asyncio as redis
import structlog
from redis.exceptions import RedisError

log = structlog.get_logger("bot.storage")

SAFE_POLICY = "noeviction"


async def warn_if_evicting(client: redis.Redis) -> str | None:
    """Log a warning when the server's maxmemory-policy can evict keys; returns the policy
    (None when the server does not say, e.g. a managed Redis that disables CONFIG)."""
    try:
        reply = await client.config_get("maxmemory*")
    except RedisError as exc:
        log.info("redis.policy_unknown", error=type(exc).__name__)
        return None
    config = {_text(name): _text(value) for name, value in reply.items()}
    policy, maxmemory = config.get("maxmemory-policy", ""), config.get("maxmemory", "0")
    if policy and policy != SAFE_POLICY:
        log.warning(
            "redis.eviction_possible",
            maxmemory_policy=policy,
            maxmemory=maxmemory,
            risk="dedupe marks, thread locks and ledger totals may be evicted when Redis is full",
            fix="set maxmemory-policy noeviction on this Redis (or give the bot its own)",
        )
    return policy


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")
