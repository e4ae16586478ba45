"""One long-lived MCP session per server, shared by every answer (the official `mcp` SDK).

`ServerConnection.run()` is the server's own task: connect (streamable HTTP or a stdio
subprocess), list the tools, then keep the session open — refreshing the list when the server
says it changed — until the connection drops; then reconnect with backoff, for ever. Answers
call `ServerConnection.call()` from their own tasks; a call never raises for a server's fault:
it raises `CallError` with a message Claude can read.

The SDK's `Client` negotiates the protocol era itself ("auto": `server/discover` for 2026-07-28
servers, the `initialize` handshake for older ones). A tools/list_changed notification reaches
the message handler in both eras; on a 2026-07-28 session it is only sent to a client that
holds a `subscriptions/listen` stream open, so the connection holds one.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2
import structlog
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ListenNotSupportedError, SubscriptionLost
from mcp.shared.exceptions import MCPError
from mcp_types import (
    CONNECTION_CLOSED,
    REQUEST_TIMEOUT,
    CallToolResult,
    Implementation,
    Tool,
)
from mcp_types import ToolListChangedNotification as ListChanged
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from bot.tools.mcp.config import ServerConfig
from bot.tools.mcp.faults import (
    DEFAULT_BACKOFF,
    Backoff,
    CallError,
    ConnectionLost,
    ServerStatus,
    State,
    describe,
)

log = structlog.get_logger("bot.tools.mcp")

CLIENT_INFO = Implementation(name="claude-slack-bot", version="0.1.0")
SESSION_HEADER = "mcp-session-id"
POLL_SECONDS = 60.0  # how often a handshake-era session is checked (it has no change stream)
MAX_TOOL_PAGES = 100  # a server whose tools/list never ends cannot hang the connection
HTTP_TIMEOUT = httpx2.Timeout(30.0, read=300.0)  # the SDK's defaults: a stream may stay quiet


class ServerConnection:
    """One configured server: its session, its current tools, its state."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        timeout_seconds: float,
        backoff: Backoff = DEFAULT_BACKOFF,
        stderr_dir: Path | None = None,
        poll_seconds: float = POLL_SECONDS,
        on_tools: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self._poll_seconds = poll_seconds
        self.timeout_seconds = config.timeout_seconds or timeout_seconds
        self._backoff = backoff
        self._stderr_dir = stderr_dir
        self._on_tools = on_tools
        self._client: Client | None = None
        self._tools: tuple[Tool, ...] = ()
        self._state: State = "connecting"
        self._since = time.time()
        self._error: str | None = None
        self._protocol: str | None = None
        self._wake = asyncio.Event()
        self._stale = False
        self._lost: str | None = None
        self._connections = 0  # how many times a session reached "connected"
        self._attempts = 0
        self.settled = asyncio.Event()  # set once the first attempt connected or failed

    @property
    def name(self) -> str:
        """The server's name in the config (its tools' prefix)."""
        return self.config.name

    @property
    def tools(self) -> tuple[Tool, ...]:
        """The tools of the last listing (kept while reconnecting; empty until first connected)."""
        return self._tools

    def status(self) -> ServerStatus:
        """Where the server stands now."""
        return ServerStatus(
            name=self.name,
            transport=self.config.transport,
            where=self.config.where,
            state=self._state,
            tools=len(self._tools),
            protocol=self._protocol,
            error=self._error,
            since=self._since,
            attempts=self._attempts,
        )

    async def run(self) -> None:
        """Connect, serve, reconnect with backoff; returns only when cancelled."""
        failures = 0
        while True:
            self._set_state("connecting")
            self._attempts += 1
            connections = self._connections
            try:
                await self._session()
                reason = "the session ended"  # not reached: a session ends by an exception
            except Exception as exc:
                reason = self.config.redact(describe(exc))
            failures = 1 if self._connections > connections else failures + 1
            self._error = reason
            self._set_state("down")
            delay = self._backoff.delay(failures)
            log.warning(
                "mcp.server_down",
                server=self.name,
                where=self.config.where,
                error=reason,
                retry_in_seconds=round(delay, 2),
            )
            await asyncio.sleep(delay)

    def _set_state(self, state: State) -> None:
        if state != self._state:
            self._state, self._since = state, time.time()
        if state == "connected":
            self._connections += 1
            self._error = None
        if state in ("connected", "down"):
            self.settled.set()

    async def _session(self) -> None:
        """One session, from connecting to the drop (raised as an exception)."""
        self._stale, self._lost = False, None
        self._wake.clear()
        async with (
            self._transport() as transport,
            Client(
                transport,
                read_timeout_seconds=self.timeout_seconds,
                message_handler=self._on_message,
                client_info=CLIENT_INFO,
                cache=None,  # the connection keeps the listing itself
            ) as client,
        ):
            self._protocol = client.protocol_version
            await self._refresh(client)
            self._client = client
            self._set_state("connected")
            log.info(
                "mcp.connected",
                server=self.name,
                where=self.config.where,
                protocol=self._protocol,
                tools=len(self._tools),
            )
            try:
                async with anyio.create_task_group() as tasks:
                    modern = self._protocol in MODERN_PROTOCOL_VERSIONS
                    if modern:
                        tasks.start_soon(self._listen, client)
                    await self._watch(client, poll=None if modern else self._poll_seconds)
            finally:
                self._client = None

    @contextlib.asynccontextmanager
    async def _transport(self) -> AsyncIterator[Any]:
        """The SDK transport for the server: a stdio subprocess, or streamable HTTP."""
        config = self.config
        if config.transport == "stdio":
            params = StdioServerParameters(
                command=config.command, args=list(config.args), env=dict(config.env), cwd=config.cwd
            )
            with self._stderr() as errlog:
                yield stdio_client(params, errlog=errlog)
            return
        hooks = {"response": [self._check_session]}
        async with httpx2.AsyncClient(
            headers=dict(config.headers), timeout=HTTP_TIMEOUT, event_hooks=hooks
        ) as http:
            yield streamable_http_client(config.url, http_client=http)

    async def _check_session(self, response: httpx2.Response) -> None:
        """HTTP 404 to a request naming a session: the server no longer knows it (it restarted),
        and the spec says to start a new one. The SDK reports the server's error body but not
        the status, so the connection watches the responses itself."""
        if response.status_code == 404 and SESSION_HEADER in response.request.headers:
            self._mark_lost("the server no longer knows the session (HTTP 404)")

    @contextlib.contextmanager
    def _stderr(self) -> Any:
        """Where a stdio server's stderr goes: `<stderr_dir>/<name>.stderr.log`, or the bot's."""
        if self._stderr_dir is None:
            yield sys.stderr
            return
        self._stderr_dir.mkdir(parents=True, exist_ok=True)
        path = self._stderr_dir / f"{self.name}.stderr.log"
        with path.open("a", encoding="utf-8") as errlog:
            yield errlog

    async def _watch(self, client: Client, *, poll: float | None) -> None:
        """Refresh the tools when they change; raise ConnectionLost when the session broke.

        A handshake-era session has no stream whose end would say the server went away (its
        GET stream gives up quietly, and a restarted server no longer knows the session), so
        every `poll` seconds the listing is read again: a failure ends the session, and a
        server that changes its tools without saying so is caught up with."""
        while True:
            woke = True
            try:
                async with asyncio.timeout(poll):
                    await self._wake.wait()
            except TimeoutError:
                woke = False
            self._wake.clear()
            if self._lost is not None:
                raise ConnectionLost(self._lost)
            if self._stale or not woke:
                self._stale = False
                await self._refresh(client)

    async def _listen(self, client: Client) -> None:
        """Hold a 2026-07-28 `subscriptions/listen` stream for tools/list_changed; its end means
        the connection ended."""
        try:
            async with client.listen(tools_list_changed=True) as events:
                async for _event in events:
                    self._mark_stale()
        except ListenNotSupportedError:
            return
        except SubscriptionLost as exc:
            self._mark_lost(f"the change stream dropped ({exc})")
            return
        except MCPError as exc:
            log.info("mcp.listen_refused", server=self.name, error=exc.error.message)
            return
        self._mark_lost("the server closed the change stream")

    async def _on_message(self, message: Any) -> None:
        """The SDK's message handler: notifications, and transport faults as values."""
        if isinstance(message, ListChanged):
            self._mark_stale()
        elif isinstance(message, Exception):
            log.debug("mcp.transport_fault", server=self.name, error=type(message).__name__)

    def _mark_stale(self) -> None:
        self._stale = True
        self._wake.set()

    def _mark_lost(self, reason: str) -> None:
        if self._lost is None:
            self._lost = reason
        self._wake.set()

    async def _refresh(self, client: Client) -> None:
        """Read the whole tool listing (every page) and publish it."""
        tools: list[Tool] = []
        cursor: str | None = None
        for _ in range(MAX_TOOL_PAGES):
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        before = {tool.name for tool in self._tools}
        after = {tool.name for tool in tools}
        self._tools = tuple(tools)
        if before != after and self._connections:
            log.info(
                "mcp.tools_changed",
                server=self.name,
                added=sorted(after - before),
                removed=sorted(before - after),
            )
        self._on_tools()

    async def call(self, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        """Run one tool call on the shared session, within the timeout; raises CallError."""
        client = self._client
        if client is None:
            reason = f" ({self._error})" if self._error else ""
            raise CallError(
                "not_connected",
                f'The MCP server "{self.name}" is not connected right now{reason}; '
                "the bot keeps trying to reconnect.",
            )
        try:
            async with asyncio.timeout(self.timeout_seconds + 1):  # a stuck write, too
                return await client.call_tool(
                    tool, arguments, read_timeout_seconds=self.timeout_seconds
                )
        except TimeoutError:
            raise self._timed_out() from None
        except MCPError as exc:
            if exc.code == REQUEST_TIMEOUT:
                raise self._timed_out() from None
            if exc.code == CONNECTION_CLOSED:
                self._mark_lost("the connection closed")
            if self._lost is not None:
                raise CallError(
                    "dropped",
                    f'The connection to the MCP server "{self.name}" dropped during the call; '
                    "the bot is reconnecting. The call may or may not have run.",
                ) from None
            raise CallError(
                "refused",
                f'The MCP server "{self.name}" refused the call: '
                f"{self.config.redact(exc.error.message)}",
            ) from None
        except Exception as exc:
            raise CallError(
                "failed",
                f'The call to the MCP server "{self.name}" failed: '
                f"{self.config.redact(describe(exc))}",
            ) from None

    def _timed_out(self) -> CallError:
        log.warning("mcp.call_timeout", server=self.name, seconds=self.timeout_seconds)
        return CallError(
            "timeout",
            f'The MCP server "{self.name}" did not answer within {self.timeout_seconds:g} seconds; '
            "the call was abandoned.",
        )
