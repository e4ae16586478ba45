"""Which Claude failures are retried, and how long the bot waits."""

from __future__ import annotations

import anthropic
import httpx2
import pytest
from tenacity import RetryCallState

from bot.claude.retry import WaitRetryAfter, is_retryable, is_spend_limit

REQUEST = httpx2.Request("POST", "https://api.anthropic.com/v1/messages")


def _error(status: int, error_type: str, message: str = "", **headers: str) -> Exception:
    body = {"type": "error", "error": {"type": error_type, "message": message}}
    response = httpx2.Response(status, json=body, headers=headers, request=REQUEST)
    client = anthropic.Anthropic(api_key="sk-ant-x")
    return client._make_status_error(message, body=body, response=response)


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (_error(529, "overloaded_error", "Overloaded"), True),
        (_error(500, "api_error"), True),
        (_error(429, "rate_limit_error", "slow down", **{"retry-after": "2"}), True),
        (_error(429, "rate_limit_error", "You have reached your spend limit"), False),
        (_error(429, "rate_limit_error", "no header means spend limit"), False),
        (_error(400, "invalid_request_error"), False),
        (_error(401, "authentication_error"), False),
        (_error(404, "not_found_error"), False),
        (anthropic.APIConnectionError(request=REQUEST), True),
        (anthropic.APITimeoutError(request=REQUEST), True),  # what anthropic >= 2.17 raises
        (httpx2.ReadError("reset", request=REQUEST), True),  # what older SDKs let through
        (httpx2.ReadTimeout("silent", request=REQUEST), True),
    ],
)
def test_is_retryable(error: Exception, retried: bool) -> None:
    """Overload, rate limits, 5xx and lost connections (the SDK's typed errors or the raw
    httpx2 ones) retry; 4xx and spend limits never."""
    assert is_retryable(error) is retried


def test_spend_limit_is_recognised() -> None:
    """A 429 without retry-after is a spend limit; with retry-after it is a rate limit."""
    spend = _error(429, "rate_limit_error", "limit")
    rate = _error(429, "rate_limit_error", "limit", **{"retry-after": "1"})
    assert isinstance(spend, anthropic.APIStatusError)
    assert isinstance(rate, anthropic.APIStatusError)
    assert is_spend_limit(spend)
    assert not is_spend_limit(rate)


def test_wait_honours_retry_after() -> None:
    """The wait is the server's retry-after when given, else a bounded backoff."""
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = 1
    state.set_exception((anthropic.APIStatusError, _error(529, "x", **{"retry-after": "3"}), None))
    assert WaitRetryAfter()(state) == 3.0
    state.set_exception((anthropic.APIStatusError, _error(529, "x"), None))
    assert 0 <= WaitRetryAfter()(state) <= 8.0
