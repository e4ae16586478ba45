"""The Slack Web API client the whole bot shares."""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

CALL_TIMEOUT_S = 30  # slack_sdk's default per call

# slack_sdk formats a debug line with the whole payload for every call whenever its logger's own
# level is unset (it tests `logger.level`, not the effective level). Ours drops library debug
# lines anyway (bot/logs.py); this keeps them from being built at all.
_QUIET = logging.getLogger("slack_sdk.web.async_client.calls")
_QUIET.setLevel(logging.INFO)


def web_client(token: str, base_url: str) -> AsyncWebClient:
    """A client on one shared HTTP session: keep-alive connections to Slack, instead of a new
    session (and TCP + TLS handshake) per call, which is what slack_sdk does without one.

    Call from inside the running event loop; close with close_web_client."""
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT_S))
    return AsyncWebClient(
        token=token, base_url=base_url, session=session, timeout=CALL_TIMEOUT_S, logger=_QUIET
    )


async def close_web_client(client: AsyncWebClient) -> None:
    """Close the client's HTTP session."""
    if client.session is not None:
        await client.session.close()
