"""Failures the core knows how to explain to a person, and the words it uses."""

from __future__ import annotations

from enum import StrEnum


class FailureKind(StrEnum):
    """What went wrong, in the terms a user can act on."""

    OVERLOADED = "overloaded"
    RATE_LIMITED = "rate_limited"
    SPEND_LIMIT = "spend_limit"
    BAD_REQUEST = "bad_request"
    PROMPT_TOO_LONG = "prompt_too_long"
    AUTH = "auth"
    MODEL_NOT_FOUND = "model_not_found"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    SERVER = "server"
    INTERRUPTED = "interrupted"
    STORAGE = "storage"
    INTERNAL = "internal"


class ChatFailure(Exception):
    """Raised by the model adapter; carries what the user and the operator need."""

    def __init__(
        self,
        kind: FailureKind,
        detail: str = "",
        *,
        request_id: str | None = None,
        status: int | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(f"{kind.value}: {detail}" if detail else kind.value)
        self.kind = kind
        self.detail = detail
        self.request_id = request_id
        self.status = status
        self.model = model


class StorageUnavailable(Exception):
    """The thread store could not be reached."""


class ReplyUnavailable(Exception):
    """The answer cannot be shown at all (the channel is gone or closed to the bot)."""


_USER_TEXT: dict[FailureKind, str] = {
    FailureKind.OVERLOADED: "Claude is overloaded right now. Try again in a minute.",
    FailureKind.RATE_LIMITED: (
        "Claude's rate limit for this workspace was reached. Try again in a minute."
    ),
    FailureKind.SPEND_LIMIT: (
        "This workspace's Claude spend limit has been reached, so I can't answer. "
        "Ask the bot's operator to raise the limit in the Claude Console."
    ),
    FailureKind.BAD_REQUEST: (
        "Claude rejected the request. The operator can find the request id in the bot's logs."
    ),
    FailureKind.PROMPT_TOO_LONG: (
        "This conversation is too long for the model. Start a new thread "
        "(mention me outside this thread) and summarise what matters."
    ),
    FailureKind.AUTH: (
        "I can't reach Claude: the API key was refused. Ask the bot's operator to check "
        "ANTHROPIC_API_KEY."
    ),
    FailureKind.MODEL_NOT_FOUND: "The configured model was not found.",
    FailureKind.TIMEOUT: "Claude took too long to answer. Try again in a moment.",
    FailureKind.CONNECTION: "I couldn't connect to Claude. Try again in a moment.",
    FailureKind.SERVER: "Claude had an internal error. Try again in a moment.",
    FailureKind.INTERRUPTED: (
        "The answer was interrupted before it finished. Mention me to continue."
    ),
    FailureKind.STORAGE: (
        "I can't reach my conversation store right now, so I can't answer safely. "
        "Try again in a minute."
    ),
    FailureKind.INTERNAL: "Something went wrong on my side. Try again; if it keeps happening, "
    "tell the bot's operator.",
}


def user_message(failure: ChatFailure, model_variable: str | None = None) -> str:
    """The short, human sentence shown in the thread for a failure."""
    if failure.kind is FailureKind.MODEL_NOT_FOUND and failure.model:
        where = f" Ask the bot's operator to fix {model_variable}." if model_variable else ""
        return f"The model `{failure.model}` was not found.{where}"
    return _USER_TEXT[failure.kind]


class CodeUnavailable(Exception):
    """A repository cannot be read (unknown, cannot be fetched, over the size cap); the message
    is for the user."""
