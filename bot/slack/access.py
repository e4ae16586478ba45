"""Who may use the bot where: optional allowlists of users and channels (pure)."""

from __future__ import annotations

from dataclasses import dataclass

NOT_FOR_YOU = "Sorry, I'm not enabled for you. Ask the bot's operator if you need access."
NOT_HERE = "Sorry, I'm not enabled in this channel. Ask the bot's operator to allow it."


@dataclass(frozen=True)
class AccessPolicy:
    """Empty sets mean everyone / everywhere."""

    users: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()

    def refusal(self, user: str, channel: str, *, is_direct_message: bool) -> str | None:
        """The polite refusal for this user in this channel, or None when allowed.

        The channel list applies to channels, not to a person's DM with the bot."""
        if self.users and user not in self.users:
            return NOT_FOR_YOU
        if self.channels and not is_direct_message and channel not in self.channels:
            return NOT_HERE
        return None


def parse_ids(value: str) -> frozenset[str]:
    """Comma- or space-separated Slack ids from a setting."""
    return frozenset(part for part in value.replace(",", " ").split() if part)
