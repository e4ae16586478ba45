"""The Slack Web API clients the whole bot shares: one HTTP session, a client per token on it."""

from __future__ import annotations

import logging
import weakref

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

CALL_TIMEOUT_S = 30  # slack_sdk's default per call

# slack_sdk formats a debug line with the whole payload for every call whenever its logger's own
# level is unset (it tests `logger.level`, not the effective level). Ours drops library debug
# lines anyway (bot/logs.py); this keeps them from being built at all.
_QUIET = logging.getLogger("slack_sdk.web.async_client.calls")
_QUIET.setLevel(logging.INFO)


class WebClients:
    """Web API clients on one shared HTTP session: keep-alive connections to Slack for every
    workspace's token, instead of a new session (and TCP + TLS handshake) per call, which is
    what slack_sdk does without one.

    Build inside the running event loop; close() closes the session."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT_S))
        self._handlers: list[AsyncRetryHandler] = []
        self._clients: weakref.WeakSet[AsyncWebClient] = weakref.WeakSet()

    def client(self, token: str | None) -> AsyncWebClient:
        """A client sending this token (None: for calls that authenticate otherwise, such as
        oauth.v2.access)."""
        client = AsyncWebClient(
            token=token,
            base_url=self.base_url,
            session=self._session,
            timeout=CALL_TIMEOUT_S,
            logger=_QUIET,
        )
        client.retry_handlers.extend(self._handlers)
        self._clients.add(client)
        return client

    def add_retry_handler(self, handler: AsyncRetryHandler) -> None:
        """Every client, made so far and from now on, consults the handler (e.g. counts 429s)."""
        self._handlers.append(handler)
        for client in self._clients:
            client.retry_handlers.append(handler)

    async def close(self) -> None:
        """Close the shared HTTP session."""
        await self._session.close()
