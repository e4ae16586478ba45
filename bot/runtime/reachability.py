"""Start-up calls to Slack and Claude that tell a network problem from a refused credential.

A service that cannot be reached (no DNS, connection refused, TLS intercepted, no answer) gets one
warning line naming its host, why, and what to check, and the call is retried with backoff until
it succeeds. A refused credential is not retried: the caller turns it into one line naming the
variable, and the bot exits.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit

import aiohttp
import anthropic
import structlog

log = structlog.get_logger("bot.startup")

T = TypeVar("T")
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY")


class Unreachable(Exception):
    """A call failed before the service could answer; the message says why, in a few words."""


def host_of(url: str, default_port: int = 443) -> str:
    """`host:port` of a URL, for the log line."""
    parts = urlsplit(url)
    port = parts.port or (80 if parts.scheme == "http" else default_port)
    return f"{parts.hostname or url}:{port}"


def network_reason(exc: BaseException) -> str | None:
    """Why a call could not reach its service, or None when the error is not a network one
    (walks the exception's causes: the SDKs wrap the socket error)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        reason = _reason_of(current)
        if reason:
            return reason
        current = current.__cause__ or current.__context__
    if isinstance(exc, aiohttp.ClientConnectionError | anthropic.APIConnectionError | OSError):
        return f"connection failed ({type(exc).__name__})"
    return None


def _reason_of(exc: BaseException) -> str | None:
    if isinstance(exc, socket.gaierror) or type(exc).__name__ == "ClientConnectorDNSError":
        return "its name does not resolve (DNS)"
    if isinstance(exc, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return "the proxy could not be reached"
    if isinstance(exc, ssl.SSLError | aiohttp.ClientSSLError):
        return "the TLS handshake failed (a proxy or firewall intercepting HTTPS?)"
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError | anthropic.APITimeoutError):
        return "no answer in time"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return _reason_of(exc.os_error) or f"connection failed ({exc.os_error.strerror})"
    return None


def what_to_check(host: str) -> str:
    """The hint of the log line: the proxy variables in use, or the egress to allow."""
    proxies = [name for name in PROXY_VARIABLES if os.environ.get(name)]
    if proxies:
        return (
            f"the proxy in {'/'.join(proxies)} (and NO_PROXY), and that it lets this machine "
            f"reach {host}"
        )
    return (
        f"that this machine may open HTTPS connections to {host} (firewall, egress rules); "
        "behind a proxy, set HTTPS_PROXY"
    )


async def until_reachable(
    service: str,
    host: str,
    call: Callable[[], Awaitable[T]],
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """`call()`'s result; while it fails for a network reason, log one line and retry with
    backoff (other errors are raised as they are)."""
    delay = FIRST_RETRY_SECONDS
    while True:
        try:
            return await call()
        except Exception as exc:
            reason = network_reason(exc) if not isinstance(exc, Unreachable) else str(exc)
            if reason is None:
                raise
            log.warning(
                "startup.unreachable",
                service=service,
                host=host,
                reason=reason,
                check=what_to_check(host),
                retry_in_s=delay,
            )
        await sleep(delay)
        delay = min(delay * 2, MAX_RETRY_SECONDS)
