"""`McpToolbox`: the MCP servers of BOT_MCP_CONFIG, as the tools Claude is offered.

Built at the composition root from `Settings.mcp_servers`; `start()` launches one connection
task per server and waits (a bounded time) for each first attempt, so a server that is down at
start costs the bot nothing: its tools are left out, a warning is logged, and it is retried in
the background. `tools()` is read per answer: the current tools of every server that has
connected (a server that dropped keeps its last tools while it reconnects; calling one then is
an error result saying so).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from pathlib import Path

import structlog

from bot.conversation.messages import Question
from bot.conversation.tools import Tool
from bot.tools.mcp.client import POLL_SECONDS, ServerConnection
from bot.tools.mcp.config import ServerConfig, tool_names
from bot.tools.mcp.faults import DEFAULT_BACKOFF, Backoff, ServerStatus
from bot.tools.mcp.tools import McpTool, tool_spec

log = structlog.get_logger("bot.tools.mcp")

DEFAULT_CALL_TIMEOUT_SECONDS = 60.0
DEFAULT_MAX_RESULT_CHARS = 100_000  # about 25,000 tokens, Claude Code's default cap for MCP output


class McpToolbox:
    """Connections to the configured MCP servers and the tools they offer."""

    def __init__(
        self,
        servers: Sequence[ServerConfig],
        *,
        call_timeout_seconds: float = DEFAULT_CALL_TIMEOUT_SECONDS,
        max_result_chars: int = DEFAULT_MAX_RESULT_CHARS,
        stderr_dir: Path | None = None,
        backoff: Backoff = DEFAULT_BACKOFF,
        poll_seconds: float = POLL_SECONDS,
        preapproved: frozenset[str] = frozenset(),
    ) -> None:
        self._max_result_chars = max_result_chars
        self._preapproved = preapproved  # tools by the name Claude sees (BOT_TOOLS_PREAPPROVED)
        self._connections = [
            ServerConnection(
                config,
                timeout_seconds=call_timeout_seconds,
                backoff=backoff,
                stderr_dir=stderr_dir,
                poll_seconds=poll_seconds,
                on_tools=self._changed,
            )
            for config in servers
        ]
        self._tasks: list[asyncio.Task[None]] = []
        self._tools: list[Tool] | None = None

    async def start(self, *, wait_seconds: float = 10.0) -> None:
        """Start every server's connection task; wait up to `wait_seconds` for each to connect
        or fail once, so the first answers see the tools of the servers that are up."""
        if self._tasks:
            return
        for connection in self._connections:
            task = asyncio.create_task(connection.run(), name=f"mcp:{connection.name}")
            self._tasks.append(task)
        if not self._connections:
            return
        waits = [asyncio.ensure_future(c.settled.wait()) for c in self._connections]
        _done, pending = await asyncio.wait(waits, timeout=wait_seconds)
        for wait in pending:
            wait.cancel()
        for status in self.status():
            if status.state != "connected":
                log.warning(
                    "mcp.not_connected_at_start",
                    server=status.name,
                    where=status.where,
                    error=status.error or "still connecting",
                )

    async def aclose(self) -> None:
        """Close every session (stdio servers are stopped) and end the tasks."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def tools(self) -> list[Tool]:
        """The current tools of every connected (or reconnecting) server, sorted by name."""
        if self._tools is None:
            self._tools = sorted(self._build(), key=lambda tool: tool.spec.name)
        return list(self._tools)

    async def tools_for(self, question: Question) -> list[Tool]:
        """As a ToolProvider: every connected server's tools, whoever asks (channel profiles
        narrow this later)."""
        return self.tools()

    def status(self) -> list[ServerStatus]:
        """Each server's state, in config order (for the admin log and health)."""
        return [connection.status() for connection in self._connections]

    def _changed(self) -> None:
        self._tools = None

    def _build(self) -> list[Tool]:
        tools: list[Tool] = []
        for connection in self._connections:
            listing = connection.tools
            names = tool_names(connection.name, [tool.name for tool in listing])
            for tool in listing:
                preapproved = (
                    connection.config.is_preapproved(tool.name)
                    or names[tool.name] in self._preapproved
                )
                spec = tool_spec(names[tool.name], tool, preapproved=preapproved)
                tools.append(McpTool(spec, tool, connection, self._max_result_chars))
        return tools
