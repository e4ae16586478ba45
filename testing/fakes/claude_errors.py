"""API errors of the fake Claude: one exception type and the JSON body the real API sends."""

from __future__ import annotations

import json
import secrets
import string
from typing import Any

_ALPHABET = string.ascii_letters + string.digits

#: HTTP status of each error type, as the Claude API documents them (docs: "Errors").
STATUS_OF_ERROR_TYPE: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}

#: Message used when a scripted error gives none.
DEFAULT_ERROR_MESSAGES: dict[str, str] = {
    "invalid_request_error": "Invalid request",
    "authentication_error": "invalid x-api-key",
    "billing_error": "Your credit balance is too low to access the Anthropic API.",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "Not found",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit",
    "api_error": "Internal server error",
    "timeout_error": "Request timed out",
    "overloaded_error": "Overloaded",
}


class ApiError(Exception):
    """A request the fake answers with an HTTP error (status, error type, message)."""

    def __init__(
        self, status: int, error_type: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {error_type}: {message}")
        self.status = status
        self.error_type = error_type
        self.message = message
        self.details = details  # `error.details` (e.g. {"error_code": ...}), when the API sends it


def invalid(message: str) -> ApiError:
    """A 400 invalid_request_error with the API's wording."""
    return ApiError(400, "invalid_request_error", message)


def new_id(prefix: str, length: int = 24) -> str:
    """An id shaped like the API's (`msg_…`, `req_…`, `toolu_…`)."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def error_payload(
    error_type: str,
    message: str,
    request_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`{"type":"error","error":{...},"request_id":...}` (request_id left out on SSE errors)."""
    payload: dict[str, Any] = {"type": "error", "error": {"type": error_type, "message": message}}
    if details is not None:
        payload["error"]["details"] = details
    if request_id is not None:
        payload["request_id"] = request_id
    return payload


def error_body(
    error_type: str, message: str, request_id: str, details: dict[str, Any] | None = None
) -> bytes:
    """The encoded JSON body of an HTTP error response."""
    return json.dumps(
        error_payload(error_type, message, request_id, details), separators=(",", ":")
    ).encode()
