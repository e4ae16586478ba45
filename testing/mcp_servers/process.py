"""Run the demo MCP server for tests: over streamable HTTP on a loopback port (a subprocess that
can be killed and started again on the same port), or as the config of a stdio server."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from testing.paths import ROOT

DEMO = "testing.mcp_servers.demo"


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stdio_entry(**extra: Any) -> dict[str, Any]:
    """The mcpServers entry that launches the demo server over stdio."""
    return {"command": sys.executable, "args": ["-m", DEMO], "cwd": str(ROOT), **extra}


class HttpDemoServer:
    """The demo server as a subprocess serving streamable HTTP at http://127.0.0.1:<port>/mcp;
    started again after a kill, it listens on the same port."""

    def __init__(self, log_path: Path, *, legacy: bool = False) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.legacy = legacy  # speak only the handshake era (2025-11-25 and older)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The MCP endpoint."""
        return f"http://127.0.0.1:{self.port}/mcp"

    @property
    def flags(self) -> list[str]:
        """The demo server's options."""
        return ["--legacy"] if self.legacy else []

    def entry(self, **extra: Any) -> dict[str, Any]:
        """The mcpServers entry for this server."""
        return {"type": "http", "url": self.url, **extra}

    async def start(self, timeout: float = 30.0) -> None:
        """Start the process and wait until the port accepts connections."""
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: ASYNC220, S603  # our own server; returns at once
                [sys.executable, "-m", DEMO, *self.flags, "http", str(self.port)],
                cwd=ROOT,
                stdout=log,
                stderr=log,
            )
        await wait_for(self._accepts, timeout, f"the MCP server on port {self.port} to listen")

    async def _accepts(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"the MCP server exited: see {self.log_path}")
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return False
        writer.close()
        return True

    def kill(self) -> None:
        """Kill the process (SIGKILL: no goodbye to the client) and reap it."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None


async def wait_for(
    condition: Callable[[], Awaitable[bool]] | Callable[[], bool], timeout: float, what: str
) -> None:
    """Poll the condition until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        outcome = condition()
        if not isinstance(outcome, bool):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.05)
