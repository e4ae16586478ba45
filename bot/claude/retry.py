"""When a Claude call is tried again, and after how long (tenacity, honouring retry-after).

Only the opening of a stream is retried: once text has streamed, a failure is shown instead.
A 429 that is a spend limit (no retry-after, or `enforced_spend_limit_reached`) is never retried:
it will not pass by waiting.
"""

from __future__ import annotations

import anthropic
import httpx2
from tenacity import RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_base, wait_exponential_jitter

MAX_WAIT_SECONDS = 60.0
RETRYABLE_STATUS = frozenset({408, 409, 500, 502, 503, 504, 529})


def is_spend_limit(exc: anthropic.APIStatusError) -> bool:
    """A 429 that means the organisation's spend limit, not a momentary rate limit."""
    if exc.status_code != 429:
        return False
    message = (exc.api_message or "").lower()
    return (
        exc.error_code == "enforced_spend_limit_reached"
        or "spend limit" in message
        or retry_after_seconds(exc) is None
    )


def retry_after_seconds(exc: BaseException) -> float | None:
    """The server's retry-after (or retry-after-ms), when it gave one."""
    if not isinstance(exc, anthropic.APIStatusError):
        return None
    headers = exc.response.headers
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        if "retry-after" in headers:
            return float(headers["retry-after"])
    except ValueError:
        return None
    return None


def is_retryable(exc: BaseException) -> bool:
    """Overload, rate limits (not spend limits), server errors and lost connections."""
    if isinstance(exc, anthropic.APIStatusError):
        if exc.status_code == 429:
            return not is_spend_limit(exc)
        return exc.status_code in RETRYABLE_STATUS
    return isinstance(exc, anthropic.APIConnectionError | httpx2.TransportError)


class WaitRetryAfter(wait_base):
    """Wait what the server asked for; otherwise exponential backoff with jitter."""

    def __init__(self) -> None:
        self._backoff = wait_exponential_jitter(multiplier=0.5, max=8.0)

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        asked = retry_after_seconds(exc) if exc is not None else None
        if asked is not None:
            return min(max(asked, 0.0), MAX_WAIT_SECONDS)
        return float(self._backoff(retry_state))


def retry_policy(max_retries: int) -> dict[str, object]:
    """Keyword arguments for tenacity.AsyncRetrying."""
    return {
        "stop": stop_after_attempt(max_retries + 1),
        "wait": WaitRetryAfter(),
        "retry": retry_if_exception(is_retryable),
        "reraise": True,
    }
