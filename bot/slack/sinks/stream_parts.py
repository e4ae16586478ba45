"""The parts of a native stream (pure values): where it goes, the messages it has written, and
where a full message is cut."""

from __future__ import annotations

from dataclasses import dataclass


class StreamBroken(Exception):
    """Slack refused a streaming call (the error code is the message)."""


@dataclass(frozen=True)
class StreamTarget:
    """Where an answer streams: a thread (Slack requires one), and outside DMs its reader."""

    channel: str
    thread_ts: str
    recipient_user: str | None = None
    recipient_team: str | None = None

    def recipients(self) -> dict[str, str]:
        """The recipient arguments of chat.startStream (none in a DM)."""
        if self.recipient_user and self.recipient_team:
            return {
                "recipient_user_id": self.recipient_user,
                "recipient_team_id": self.recipient_team,
            }
        return {}


@dataclass
class Segment:
    """One streamed message: where its text starts in the answer, and what it shows."""

    ts: str
    start: int
    prefix: str  # put in front of the answer text (a code fence reopened)
    text: str
    streaming: bool = True


def cut_point(text: str, window: int, has_content: bool) -> int:
    """Where to end a message inside the next `window` characters of text: a paragraph, line or
    word end; 0 (end it before this text) when it already has content and no such end is near."""
    head = text[:window]
    for separator in ("\n\n", "\n", " "):
        at = head.rfind(separator)
        if at >= window // 2 and at > 0:
            return at + len(separator)
    return 0 if has_content else max(window, 1)
