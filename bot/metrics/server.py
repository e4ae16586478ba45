"""The metrics routes (aiohttp): /healthz (Slack connected, Redis reachable) and /metrics
(Prometheus text format). In Socket Mode they have a server of their own, off unless
BOT_METRICS_PORT is set and bound to 127.0.0.1 unless told otherwise; in HTTP mode they are
served next to /slack/events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from bot.metrics.registry import BotMetrics

log = structlog.get_logger("bot.metrics")

HealthCheck = Callable[[], Awaitable[bool]]
Mount = Callable[[web.Application], None]  # adds the routes to a server's application
CHECK_TIMEOUT_SECONDS = 2.0


async def run_check(check: HealthCheck) -> bool:
    """One check's answer; a check that raises or hangs counts as failing."""
    try:
        return await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
    except Exception:  # any failure of a dependency means "unhealthy"
        return False


def metrics_app(metrics: BotMetrics, checks: dict[str, HealthCheck]) -> web.Application:
    """An application of its own with GET /metrics and GET /healthz."""
    app = web.Application()
    add_monitoring(app, metrics=metrics, checks=checks)
    return app


def add_monitoring(
    app: web.Application, *, metrics: BotMetrics, checks: dict[str, HealthCheck]
) -> None:
    """Add GET /metrics and GET /healthz to the application."""

    async def healthz(request: web.Request) -> web.Response:
        names = list(checks)
        results = await asyncio.gather(*(run_check(checks[name]) for name in names))
        status = dict(zip(names, results, strict=True))
        healthy = all(results)
        return web.json_response(
            {"healthy": healthy, "checks": status}, status=200 if healthy else 503
        )

    app.router.add_get("/metrics", make_aiohttp_handler(metrics.registry))
    app.router.add_get("/healthz", healthz)


async def start_server(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve the application on host:port until the runner is cleaned up."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("metrics.serving", host=host, port=port)
    return runner
