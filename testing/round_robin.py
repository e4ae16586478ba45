"""A loopback load balancer for HTTP-mode tests: each request goes to the next backend in turn
(method, path, query, headers and body passed through untouched, so Slack's signature still
verifies), the backend's answer comes back as it was."""

from __future__ import annotations

import itertools
import socket
from types import TracebackType

import aiohttp
from aiohttp import web

HOP_BY_HOP = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class RoundRobin:
    """`async with RoundRobin([url_a, url_b]) as lb:` then send to `lb.url`."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.sent_to: list[str] = []  # the backend of each request, in order
        self._next = itertools.cycle(backends)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> RoundRobin:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()
        self._session = aiohttp.ClientSession(auto_decompress=False)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()
        self._sock.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        backend = next(self._next)
        self.sent_to.append(backend)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with self._session.request(
            request.method,
            backend + request.rel_url.path_qs,
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as answer:
            body = await answer.read()
            passed = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
            return web.Response(status=answer.status, body=body, headers=passed)
