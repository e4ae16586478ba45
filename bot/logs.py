"""structlog setup: JSON lines (console when on a TTY), with secrets scrubbed from every line.

The bot never logs tokens or message bodies on purpose; the scrubber is the second line of
defence for what libraries put in their own log messages (e.g. a URL or an error body).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

# Slack tokens (xoxb-, xoxp-, xapp-, ...), Anthropic keys (sk-ant-...), and Bearer headers.
SECRET_PATTERN = re.compile(
    r"(xox[abeoprs]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|sk-ant-[A-Za-z0-9_-]+|Bearer\s+[^\s'\"]+)"
)
REDACTED = "[redacted]"
QUIET_LIBRARIES = ("slack_bolt", "slack_sdk", "anthropic", "httpx", "httpx2", "httpcore", "aiohttp")


def scrub(value: Any, secrets: Iterable[str] = ()) -> Any:
    """The value with anything token-shaped, or equal to a known secret, replaced."""
    if isinstance(value, str):
        for secret in secrets:
            if secret:
                value = value.replace(secret, REDACTED)
        return SECRET_PATTERN.sub(REDACTED, value)
    if isinstance(value, dict):
        return {key: scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub(item, secrets) for item in value)
    return value


class SecretScrubber:
    """A structlog processor applying scrub() to every field of every line."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = tuple(s for s in secrets if s)

    def __call__(
        self, logger: Any, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in list(event_dict.items()):
            event_dict[key] = scrub(value, self._secrets)
        return event_dict


class QuietLibraries(logging.Filter):
    """Drops library records below WARNING, whatever level a library set on its own logger.

    Slack's and HTTP clients' debug lines carry whole payloads (message text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not record.name.startswith(QUIET_LIBRARIES)


def configure_logging(level: str, fmt: str, secrets: Iterable[str] = ()) -> None:
    """Route structlog and the standard library's logging through one scrubbed renderer."""
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer() if use_console else structlog.processors.JSONRenderer()
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        SecretScrubber(secrets),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    handler.addFilter(QuietLibraries())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
