"""Calling Slack's Web API: a 429 as RateLimited with its Retry-After, calls that must happen
waiting out the limits, and the arguments every post and edit of model text carries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.conversation.ports import Clock

FINAL_ATTEMPTS = 8
DEFAULT_RETRY_AFTER = 1.0
# chat.postMessage / chat.update: no linking of bare names (@here, @group, #channel) by Slack.
NO_LINKING: dict[str, Any] = {"parse": "none", "link_names": False}


class RateLimited(Exception):
    """Slack answered 429; retry after the given seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after}s")
        self.retry_after = retry_after


async def call_slack(
    method: Callable[..., Awaitable[AsyncSlackResponse]], **kwargs: Any
) -> dict[str, Any]:
    """Call a Web API method; a 429 becomes RateLimited with Slack's Retry-After."""
    try:
        response = await method(**kwargs)
    except SlackApiError as exc:
        if exc.response.status_code == 429:
            retry_after = exc.response.headers.get("Retry-After", DEFAULT_RETRY_AFTER)
            raise RateLimited(float(retry_after)) from None
        raise
    return response.data if isinstance(response.data, dict) else {}


async def call_waiting_out_limits(
    clock: Clock, method: Callable[..., Awaitable[AsyncSlackResponse]], **kwargs: Any
) -> dict[str, Any]:
    """Call a method that must happen (not an interim edit), waiting out 429s a few times."""
    for _ in range(FINAL_ATTEMPTS - 1):
        try:
            return await call_slack(method, **kwargs)
        except RateLimited as limited:
            await clock.sleep(limited.retry_after)
    return await call_slack(method, **kwargs)
