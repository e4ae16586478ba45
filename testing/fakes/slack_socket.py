"""Socket Mode: tickets from apps.connections.open, the websocket, pushes and acks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass

from aiohttp import WSMsgType, web

from .slack_events import Identity, disconnect_message, hello_message
from .slack_models import Ack, JsonDict

log = logging.getLogger("fake_slack")
MAX_CONNECTIONS = 10


@dataclass(eq=False)
class _Conn:
    ws: web.WebSocketResponse
    request: web.Request
    number: int


@dataclass(frozen=True, slots=True)
class _Pushed:
    sent_at: float
    accepts_response_payload: bool


class SocketHub:
    """Live Socket Mode connections; envelopes go round-robin to the ones that got `hello`."""

    def __init__(self, ids: Identity, violations: list[str]) -> None:
        self.ids = ids
        self.violations = violations
        self.acks: dict[str, Ack] = {}
        self.connections_opened = 0
        self.pending: list[JsonDict] = []
        self._tickets: dict[str, bool] = {}
        self._conns: list[_Conn] = []
        self._draining: list[_Conn] = []
        self._next = 0
        self._pushed: dict[str, _Pushed] = {}
        self._waiters: dict[str, asyncio.Future[Ack]] = {}
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def connection_count(self) -> int:
        return len(self._conns)

    def issue_ticket(self) -> str:
        ticket = str(uuid.uuid4())
        self._tickets[ticket] = False
        return ticket

    # ---- the websocket -------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if self._tickets.get(ticket) is not False:
            return web.Response(status=401, text="invalid or already used ticket")
        if request.query.get("app_id") != self.ids.app_id:
            return web.Response(status=400, text="app_id does not match the ticket")
        self._tickets[ticket] = True
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        if len(self._conns) >= MAX_CONNECTIONS:
            await ws.send_json(disconnect_message("too_many_websockets"))
            await ws.close()
            return ws
        conn = _Conn(ws, request, self.connections_opened + 1)
        await ws.send_json(hello_message(self.ids, len(self._conns) + 1))
        await self._flush_pending(conn)
        self.connections_opened += 1
        self._conns.append(conn)
        self._notify()
        try:
            await self._read_loop(conn)
        finally:
            self._forget(conn)
        return ws

    async def _read_loop(self, conn: _Conn) -> None:
        async for msg in conn.ws:
            if msg.type == WSMsgType.TEXT:
                self._on_text(str(msg.data))
            elif msg.type == WSMsgType.BINARY:
                self.violations.append("socket: binary frame from the app")

    def _forget(self, conn: _Conn) -> None:
        for group in (self._conns, self._draining):
            if conn in group:
                group.remove(conn)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ---- acks ------------------------------------------------------------------------------
    def _on_text(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            message = None
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        if not isinstance(envelope_id, str):
            self.violations.append(f"socket: unexpected message from the app: {data[:200]}")
            return
        pushed = self._pushed.get(envelope_id)
        if pushed is None:
            self.violations.append(f"socket: ack for unknown envelope {envelope_id}")
            return
        if envelope_id in self.acks:
            return
        payload = message.get("payload")
        if payload is not None and not pushed.accepts_response_payload:
            self.violations.append(f"socket: ack payload for {envelope_id}, which takes none")
        ack = Ack(envelope_id, payload, time.monotonic() - pushed.sent_at)
        self.acks[envelope_id] = ack
        waiter = self._waiters.pop(envelope_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(ack)

    async def wait_ack(self, envelope_id: str, within: float) -> Ack:
        if envelope_id in self.acks:
            return self.acks[envelope_id]
        waiter = self._waiters.get(envelope_id)
        if waiter is None:
            waiter = self._waiters[envelope_id] = asyncio.get_running_loop().create_future()
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), within)
        except TimeoutError:
            queued = any(e["envelope_id"] == envelope_id for e in self.pending)
            known = "queued, no connection" if queued else "pushed"
            if not queued and envelope_id not in self._pushed:
                known = "never pushed"
            raise TimeoutError(
                f"no ack for envelope {envelope_id} within {within}s ({known}; "
                f"{self.connection_count} connection(s) open)"
            ) from None

    # ---- pushing -------------------------------------------------------------------------
    async def wait_connected(self, within: float) -> None:
        deadline = time.monotonic() + within
        while not self._conns:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"no Socket Mode connection got hello within {within}s "
                    f"({self.connections_opened} opened, {len(self._tickets)} tickets issued)"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def push(self, envelope: JsonDict, connection: int | None = None) -> None:
        """Send to one connection (round-robin); with none open, queue it for the next one
        (Slack keeps undelivered events and retries them when the app is back). `connection`
        picks the open connection with that number (the n-th opened) instead: a test's way to
        say which replica gets it."""
        if connection is not None:
            conn = next((c for c in self._conns if c.number == connection), None)
            if conn is None:
                raise AssertionError(f"no open Socket Mode connection number {connection}")
            if not await self._send(conn, envelope):
                raise AssertionError(f"connection {connection} is gone")
            return
        while self._conns:
            conn = self._conns[self._next % len(self._conns)]
            self._next += 1
            if await self._send(conn, envelope):
                return
            self._forget(conn)
        self.pending.append(envelope)

    async def _send(self, conn: _Conn, envelope: JsonDict) -> bool:
        accepts = bool(envelope.get("accepts_response_payload"))
        self._pushed[envelope["envelope_id"]] = _Pushed(time.monotonic(), accepts)
        try:
            await conn.ws.send_str(json.dumps(envelope))
        except (ConnectionError, RuntimeError):
            return False
        return True

    async def _flush_pending(self, conn: _Conn) -> None:
        while self.pending:
            envelope = self.pending.pop(0)
            if not await self._send(conn, envelope):
                self.pending.insert(0, envelope)
                return

    # ---- connection control ------------------------------------------------------------------
    def drop_all(self) -> None:
        """Kill every connection without a close frame (like a network failure)."""
        conns = self._conns + self._draining
        self._conns, self._draining = [], []
        self._notify()
        for conn in conns:
            transport = conn.request.transport
            if transport is not None:
                transport.abort()

    async def disconnect_all(self, reason: str, close_after: float) -> None:
        """Send Slack's `disconnect` message; close those sockets `close_after` seconds later."""
        conns, self._conns = self._conns, []
        self._draining.extend(conns)
        self._notify()
        for conn in conns:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.ws.send_json(disconnect_message(reason))
        task = asyncio.create_task(self._close_later(conns, close_after))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close_later(self, conns: list[_Conn], delay: float) -> None:
        await asyncio.sleep(delay)
        for conn in conns:
            if not conn.ws.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await conn.ws.close(code=1001, message=b"refresh")

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for conn in self._conns + self._draining:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.ws.close(code=1001, message=b"server shutdown")
        self._conns, self._draining = [], []
        for waiter in self._waiters.values():
            waiter.cancel()
