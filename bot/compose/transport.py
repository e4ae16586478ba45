"""How Slack's events reach the bot (BOT_MODE), chosen once here: Socket Mode (the bot dials
out, no public URL) or HTTP (Slack posts to /slack/events). The rest of the bot is the same
Bolt app either way: same listeners, same exactly-once marks.

HTTP mode is Bolt's own aiohttp server (`AsyncSlackAppServer`): Bolt checks each request's
signature with SLACK_SIGNING_SECRET (a bad or missing one, or a timestamp more than five minutes
off, is refused with 401), answers `url_verification`, acks within Slack's three seconds and runs
the listener after the ack. The OAuth install pages (/slack/install, /slack/oauth_redirect) are
served by the same server; /healthz and /metrics too, unless BOT_METRICS_PORT gives them their own.
"""

from __future__ import annotations

from typing import Protocol

import structlog
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_server import AsyncSlackAppServer
from slack_bolt.async_app import AsyncApp

from bot.config import Settings, required
from bot.metrics.server import Mount, start_server

log = structlog.get_logger("bot")

EVENTS_PATH = "/slack/events"


class Transport(Protocol):
    """Where events come from, and where /healthz and /metrics are served."""

    async def start(self, monitoring: Mount) -> None:
        """Start taking events; serve the monitoring routes where this transport does."""
        ...

    async def stop(self) -> None:
        """Stop taking events (answers in flight go on)."""
        ...

    async def close(self) -> None:
        """Release everything."""
        ...

    async def connected(self) -> bool:
        """Whether Slack can reach the bot now (for /healthz and the heartbeat file)."""
        ...


async def serve_monitoring(monitoring: Mount, host: str, port: int) -> web.AppRunner:
    """/healthz and /metrics on a server of their own (BOT_METRICS_PORT)."""
    app = web.Application()
    monitoring(app)
    return await start_server(app, host, port)


class SocketTransport:
    """Socket Mode with the app-level token; /healthz and /metrics on BOT_METRICS_PORT if set."""

    def __init__(self, app: AsyncApp, app_token: str, host: str, port: int | None) -> None:
        self._handler = AsyncSocketModeHandler(app, app_token)
        self._host, self._port = host, port
        self._monitor: web.AppRunner | None = None

    async def start(self, monitoring: Mount) -> None:
        """Connect, then start the monitoring server."""
        await self._handler.connect_async()  # type: ignore[no-untyped-call]
        if self._port is not None:
            self._monitor = await serve_monitoring(monitoring, self._host, self._port)

    async def stop(self) -> None:
        """Disconnect: Slack sends new events to the other replicas."""
        await self._handler.disconnect_async()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        """Stop the monitoring server and the Socket Mode client."""
        if self._monitor is not None:
            await self._monitor.cleanup()
        await self._handler.close_async()  # type: ignore[no-untyped-call]

    async def connected(self) -> bool:
        """The websocket is open."""
        return bool(await self._handler.client.is_connected())


class HttpTransport:
    """The Events API over HTTP on PORT (Bolt's aiohttp server); /healthz and /metrics on
    BOT_METRICS_PORT when it is set (kept off the port the load balancer exposes), else on PORT."""

    def __init__(
        self, app: AsyncApp, host: str, port: int, monitor_host: str, monitor_port: int | None
    ) -> None:
        self._server = AsyncSlackAppServer(port=port, path=EVENTS_PATH, app=app, host=host)
        self._monitor_at = (monitor_host, monitor_port)
        self._runner: web.AppRunner | None = None
        self._monitor: web.AppRunner | None = None

    async def start(self, monitoring: Mount) -> None:
        """Serve /slack/events (and the install pages under OAuth), then /healthz and /metrics."""
        host, port = self._monitor_at
        if port is None:
            monitoring(self._server.web_app)
        self._runner = await start_server(
            self._server.web_app, self._server.host, self._server.port
        )
        log.info("slack.http_serving", port=self._server.port, path=EVENTS_PATH)
        if port is not None:
            self._monitor = await serve_monitoring(monitoring, host, port)

    async def stop(self) -> None:
        """Stop serving Slack: the load balancer sends its requests to the other replicas."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def close(self) -> None:
        """Stop serving Slack and the monitoring routes."""
        await self.stop()
        if self._monitor is not None:
            await self._monitor.cleanup()
            self._monitor = None

    async def connected(self) -> bool:
        """Serving."""
        return self._runner is not None


def transport(settings: Settings, app: AsyncApp) -> Transport:
    """The transport BOT_MODE names."""
    if settings.bot_mode == "http":
        return HttpTransport(
            app,
            settings.http_host,
            settings.http_port,
            settings.metrics_host,
            settings.metrics_port,
        )
    return SocketTransport(
        app,
        required(settings.slack_app_token, "SLACK_APP_TOKEN"),
        settings.metrics_host,
        settings.metrics_port,
    )
