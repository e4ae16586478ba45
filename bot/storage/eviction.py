"""A start-up check that Redis will not evict the bot's keys when it fills up.

Dedupe marks, thread locks and the usage ledger's totals must stay until their own expiry: a
Redis that evicts keys under memory pressure (any `maxmemory-policy` but `noeviction`) could make
the bot answer a message twice, run two answers in one thread at once, or forget spend. The bot
refuses to start on such a server unless BOT_REDIS_ALLOW_EVICTION says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from bot.storage.connect import RedisClient

SAFE_POLICY = "noeviction"


@dataclass(frozen=True)
class EvictionPolicy:
    """What the server (every primary of a cluster) says about eviction."""

    policies: dict[str, str]  # node ("host:port", or "server") -> maxmemory-policy
    unknown_reason: str = ""  # why the server would not say (e.g. CONFIG disabled)

    @property
    def evicting(self) -> dict[str, str]:
        """The nodes whose policy may evict the bot's keys."""
        return {node: policy for node, policy in self.policies.items() if policy != SAFE_POLICY}


async def eviction_policy(client: RedisClient) -> EvictionPolicy:
    """Each primary's maxmemory-policy (a managed Redis that disables CONFIG does not say)."""
    try:
        if isinstance(client, RedisCluster):
            reply = await client.config_get("maxmemory-policy", target_nodes=RedisCluster.PRIMARIES)
            per_node = {str(node): _policy(config) for node, config in reply.items()}
        else:
            per_node = {"server": _policy(await client.config_get("maxmemory-policy"))}
    except RedisError as exc:
        return EvictionPolicy({}, type(exc).__name__)
    return EvictionPolicy({node: policy for node, policy in per_node.items() if policy})


def _policy(config: object) -> str:
    if not isinstance(config, dict):
        return ""
    for name, value in config.items():
        if _text(name) == "maxmemory-policy":
            return _text(value)
    return ""


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")
