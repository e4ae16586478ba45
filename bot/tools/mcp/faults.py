"""What the MCP connections report: their state, call failures, the retry backoff."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from mcp.shared.exceptions import MCPError

State = Literal["connecting", "connected", "down"]
CallFailure = Literal["not_connected", "timeout", "dropped", "refused", "failed"]


class CallError(Exception):
    """A call that did not reach a result. The message is for Claude (it may quote the server);
    the log gets only the kind."""

    def __init__(self, kind: CallFailure, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class ConnectionLost(Exception):
    """The session is no longer usable; the connection's task reconnects."""


@dataclass(frozen=True)
class Backoff:
    """Waits between connection attempts: doubling from `initial` up to `maximum`, jittered."""

    initial: float = 1.0
    maximum: float = 60.0

    def delay(self, failures: int) -> float:
        """The wait after the given number of failures in a row (1 = the first)."""
        base = min(self.maximum, self.initial * 2.0 ** max(0, failures - 1))
        return base * random.uniform(0.5, 1.0)  # noqa: S311  # jitter, not a secret


DEFAULT_BACKOFF = Backoff()


@dataclass(frozen=True)
class ServerStatus:
    """A server as an admin sees it (no secrets: the URL without query, the command's name)."""

    name: str
    transport: str
    where: str
    state: State
    tools: int
    protocol: str | None
    error: str | None  # the last failure, while not connected
    since: float  # time.time() of the last change of state
    attempts: int  # connection attempts so far (1 while the first session lasts)


def describe(exc: BaseException) -> str:
    """A short reason for a failure: the innermost cause of an exception group, by type and
    message (one line, at most 300 characters)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, MCPError):
        text = exc.error.message
    else:
        text = str(exc) or type(exc).__name__
        if type(exc).__name__ not in text:
            text = f"{type(exc).__name__}: {text}"
    line = " ".join(text.split())
    return line if len(line) <= 300 else line[:299] + "…"
