"""Counts Slack's HTTP 429 answers for the metrics: a slack_sdk retry handler that never retries
(the reply sink waits out Retry-After itself) but sees every response of the Web API client."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState


def method_of(url: str) -> str:
    """The Web API method of a request URL, e.g. chat.update."""
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "unknown"


class RateLimitCounter(AsyncRetryHandler):
    """Calls `on_rate_limited(method)` for each 429; never asks for a retry."""

    def __init__(self, on_rate_limited: Callable[[str], None]) -> None:
        super().__init__(max_retry_count=0)
        self._on_rate_limited = on_rate_limited

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        """Count a 429; the answer is always "do not retry"."""
        if response is not None and response.status_code == 429:
            self._on_rate_limited(method_of(request.url))
        return False
