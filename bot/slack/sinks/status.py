"""The thread status under an answer being written (assistant.threads.setStatus): "Thinking…",
"Reading 2 images…", "Searching the repository…", with loading messages.

Slack clears the status when the app posts in the thread, and on its own after two minutes
without a message, so a status that stays the same is sent again every REFRESH_SECONDS.
"""

from __future__ import annotations

import re

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.display import is_status
from bot.conversation.ports import Clock
from bot.slack.api.calls import RateLimited, call_slack

log = structlog.get_logger("bot.slack.sinks.status")

REFRESH_SECONDS = 60.0
MAX_LOADING_CHARS = 50  # Slack's limit per loading message
_SECONDS = re.compile(r"\s+\d+(\.\d+)?\s*s$")


def plain_status(text: str) -> str:
    """A status line as setStatus shows it: "_Thinking… 4 s_" -> "Thinking…" (the seconds
    counter is left out: Slack animates the status itself)."""
    line = text.strip().strip("_").strip()
    return _SECONDS.sub("", line).strip()


def trailing_status(text: str) -> tuple[str, str | None]:
    """Split live text into what can be shown as answer and a status line at its end, if any:
    "_Thinking… 3 s_" -> ("", "Thinking…"); "> thought\\n\\n_Thinking…_" -> ("> thought", …)."""
    if is_status(text):
        return "", plain_status(text) or None
    body, sep, last = text.rpartition("\n\n")
    if sep and is_status(last):
        return body, plain_status(last) or None
    return text, None


def loading_messages(status: str) -> list[str]:
    """What Slack rotates through while the status shows (at most 50 characters each)."""
    if len(status) <= MAX_LOADING_CHARS:
        return [status]
    return [status[: MAX_LOADING_CHARS - 1].rstrip() + "…"]


class ThreadStatus:
    """The status of one thread; raises SlackApiError / RateLimited like the Web API."""

    def __init__(self, client: AsyncWebClient, channel: str, thread_ts: str, clock: Clock) -> None:
        self._client = client
        self._channel = channel
        self._thread_ts = thread_ts
        self._clock = clock
        self._current = ""
        self._sent_at = float("-inf")

    @property
    def current(self) -> str:
        """The status as last set ("" when none shows)."""
        return self._current

    async def show(self, status: str) -> None:
        """Set the status, unless it already shows (and was sent recently)."""
        fresh = self._clock.now() - self._sent_at < REFRESH_SECONDS
        if status == self._current and fresh:
            return
        await call_slack(
            self._client.assistant_threads_setStatus,
            channel_id=self._channel,
            thread_ts=self._thread_ts,
            status=status,
            loading_messages=loading_messages(status),
        )
        self._current = status
        self._sent_at = self._clock.now()

    def posted(self) -> None:
        """The app posted in the thread: Slack has cleared the status."""
        self._current = ""

    async def clear(self) -> None:
        """Clear a status that still shows (best effort)."""
        if not self._current:
            return
        self._current = ""
        try:
            await call_slack(
                self._client.assistant_threads_setStatus,
                channel_id=self._channel,
                thread_ts=self._thread_ts,
                status="",
            )
        except (SlackApiError, RateLimited) as exc:  # cosmetic: Slack times a status out
            log.info("slack.status_clear_failed", error=type(exc).__name__)
