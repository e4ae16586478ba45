"""The one place a Redis client is made from REDIS_URL: a single server (`redis://`, TLS with
`rediss://`), a Redis Cluster (`redis+cluster://`, `rediss+cluster://`, or any of the first two
with BOT_REDIS_CLUSTER=true), or the primary a Sentinel group names (`redis+sentinel://`,
`rediss+sentinel://`). redis-py does the work: `Redis`, `RedisCluster` and `Sentinel.master_for`.

    redis+cluster://[[user]:password@]host:port[,host:port…][?options]
    redis+sentinel://[[user]:password@]host:port[,host:port…]/<service>[/<db>][?options]

The user and password are the data servers' (every cluster node's, the primary's); a Sentinel's
own are `sentinel_username` / `sentinel_password` options. Other options are redis-py's URL
options (`ssl_ca_certs`, `ssl_cert_reqs`, `socket_timeout`, …), passed on as redis-py parses them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias
from urllib.parse import quote, unquote, urlsplit

import redis.asyncio as redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import SSLConnection, parse_url
from redis.asyncio.sentinel import Sentinel

RedisClient: TypeAlias = redis.Redis | RedisCluster
SyncRedisClient: TypeAlias = Any  # redis.Redis or redis.cluster.RedisCluster (synchronous)
"""What every part of the bot that talks to Redis is given: commands, pipelines (a transaction's
keys in one hash slot) and Lua scripts (every key declared, all in one slot) work on both."""

Kind = Literal["single", "cluster", "sentinel"]

_SCHEMES: dict[str, tuple[Kind, bool]] = {  # scheme -> (kind, TLS)
    "redis": ("single", False),
    "rediss": ("single", True),
    "unix": ("single", False),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
}
_HOST = re.compile(r"^(?:\[(?P<ipv6>[^\]]+)\]|(?P<name>[^:\[\]]+))(?::(?P<port>\d{1,5}))?$")
_SENTINEL_AUTH = ("sentinel_username", "sentinel_password")


class RedisUrlError(ValueError):
    """REDIS_URL cannot be used; the message never contains the password."""


@dataclass(frozen=True)
class RedisTarget:
    """What REDIS_URL names: its kind, its hosts, the service (Sentinel) and redis-py's
    connection options (password included: never log this object)."""

    kind: Kind
    tls: bool
    hosts: tuple[tuple[str, int], ...]
    service: str = ""
    options: dict[str, Any] = field(default_factory=dict, repr=False)
    sentinel_auth: dict[str, str] = field(default_factory=dict, repr=False)
    url: str = field(default="", repr=False)  # a single server's URL, as given

    def describe(self) -> str:
        """For logs: the kind and hosts, no credentials."""
        hosts = ",".join(f"{host}:{port}" for host, port in self.hosts)
        service = f" service={self.service}" if self.service else ""
        return f"{self.kind}{' tls' if self.tls else ''} {hosts}{service}".strip()


def parse_redis_url(url: str, *, cluster: bool = False) -> RedisTarget:
    """REDIS_URL as a RedisTarget; `cluster` (BOT_REDIS_CLUSTER) makes a redis:// or rediss://
    URL a cluster's seed. Raises RedisUrlError saying what is wrong."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in _SCHEMES:
        raise RedisUrlError(
            "REDIS_URL must start with redis://, rediss://, unix://, redis+cluster://, "
            "rediss+cluster://, redis+sentinel:// or rediss+sentinel://"
        )
    kind, tls = _SCHEMES[scheme]
    if scheme == "unix":
        if cluster:
            raise RedisUrlError("BOT_REDIS_CLUSTER=true needs a redis:// or rediss:// REDIS_URL")
        return RedisTarget("single", False, (), url=url)
    if cluster and kind == "single":
        kind = "cluster"
    parts = urlsplit(url)
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    hosts = tuple(_host(item, kind) for item in hostlist.split(",") if item)
    if not hosts:
        raise RedisUrlError("REDIS_URL names no host")
    if kind == "single" and len(hosts) > 1:
        raise RedisUrlError(
            "REDIS_URL names several hosts: use redis+cluster:// or redis+sentinel://"
        )
    path = [unquote(piece) for piece in parts.path.split("/") if piece]
    service, db_path = "", path
    if kind == "sentinel":
        if not path:
            raise RedisUrlError("a redis+sentinel:// URL needs the service name as its path")
        service, db_path = path[0], path[1:]
    if len(db_path) > 1 or (db_path and not db_path[0].isdigit()):
        raise RedisUrlError("REDIS_URL's path must be a database number")
    if kind == "cluster" and db_path and db_path[0] != "0":
        raise RedisUrlError("a Redis Cluster has only database 0")
    options = _options(tls, userinfo, db_path[0] if db_path else "", parts.query)
    sentinel_auth = {key: str(options.pop(key)) for key in _SENTINEL_AUTH if key in options}
    single_url = url if kind == "single" else ""
    return RedisTarget(kind, tls, hosts, service, options, sentinel_auth, single_url)


def _host(item: str, kind: Kind) -> tuple[str, int]:
    match = _HOST.match(item)
    if match is None:
        raise RedisUrlError(f"REDIS_URL has a malformed host: {item!r}")
    host = match["ipv6"] or match["name"]
    port = int(match["port"]) if match["port"] else (26379 if kind == "sentinel" else 6379)
    if not 0 < port < 65536:
        raise RedisUrlError(f"REDIS_URL has a port out of range: {item!r}")
    return host, port


def _options(tls: bool, userinfo: str, db: str, query: str) -> dict[str, Any]:
    """redis-py's own parsing of credentials, database and query options."""
    scheme = "rediss" if tls else "redis"
    auth = f"{userinfo}@" if userinfo else ""
    try:
        parsed: dict[str, Any] = dict(
            parse_url(f"{scheme}://{auth}placeholder/{quote(db)}{'?' + query if query else ''}")
        )
    except ValueError as exc:
        raise RedisUrlError(f"REDIS_URL: {exc}") from None
    parsed.pop("host", None)
    parsed.pop("port", None)
    if parsed.pop("connection_class", None) is SSLConnection:
        parsed["ssl"] = True
    return parsed


def open_redis(target: RedisTarget, **options: Any) -> RedisClient:
    """A client for the target (not connected yet: the first command connects)."""
    if target.kind == "single":
        return redis.Redis.from_url(target.url, **options)
    merged = {**options, **target.options}
    if target.kind == "cluster":
        merged.pop("db", None)
        nodes = [ClusterNode(host, port) for host, port in target.hosts]
        return RedisCluster(startup_nodes=nodes, **merged)
    sentinel_kwargs = {
        **{k: v for k, v in merged.items() if k.startswith(("socket_", "ssl"))},
        **{key.removeprefix("sentinel_"): value for key, value in target.sentinel_auth.items()},
    }
    sentinel = Sentinel(list(target.hosts), sentinel_kwargs=sentinel_kwargs, **merged)
    client: redis.Redis = sentinel.master_for(target.service)
    return client


async def close_redis(client: RedisClient) -> None:
    """Close the client's connections (and a Sentinel client's connections to the Sentinels)."""
    await client.aclose()
    pool = getattr(client, "connection_pool", None)
    manager = getattr(pool, "sentinel_manager", None)
    for sentinel in getattr(manager, "sentinels", ()):
        await sentinel.aclose()


def connect_url(url: str, *, cluster: bool = False, **options: Any) -> RedisClient:
    """parse_redis_url then open_redis: for tools and tests that hold a URL."""
    return open_redis(parse_redis_url(url, cluster=cluster), **options)


def open_sync_redis(url: str, *, cluster: bool = False) -> SyncRedisClient:
    """A synchronous client for the same target (libraries that want one, e.g. the routines'
    job store, which runs in its own thread)."""
    import redis as sync
    from redis.cluster import ClusterNode as SyncNode
    from redis.cluster import RedisCluster as SyncCluster
    from redis.sentinel import Sentinel as SyncSentinel

    target = parse_redis_url(url, cluster=cluster)
    if target.kind == "single":
        return sync.Redis.from_url(target.url)
    options = dict(target.options)
    if target.kind == "cluster":
        options.pop("db", None)
        nodes = [SyncNode(h, p) for h, p in target.hosts]  # type: ignore[no-untyped-call]
        return SyncCluster(startup_nodes=nodes, **options)
    sentinel_kwargs = {
        **{k: v for k, v in options.items() if k.startswith(("socket_", "ssl"))},
        **{key.removeprefix("sentinel_"): value for key, value in target.sentinel_auth.items()},
    }
    sentinel = SyncSentinel(list(target.hosts), sentinel_kwargs=sentinel_kwargs, **options)
    return sentinel.master_for(target.service)
