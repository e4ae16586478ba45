"""Who may use the bot where: optional allowlists of users and channels, and whether people
from another organisation (Slack Connect) are served (pure)."""

from __future__ import annotations

from dataclasses import dataclass

NOT_FOR_YOU = "Sorry, I'm not enabled for you. Ask the bot's operator if you need access."
NOT_HERE = "Sorry, I'm not enabled in this channel. Ask the bot's operator to allow it."
NOT_EXTERNAL = (
    "Sorry, I only answer people of the organisation that runs me, not guests from other "
    "organisations in shared channels. Ask someone there to ask me, or the bot's operator."
)


@dataclass(frozen=True)
class AccessPolicy:
    """Empty sets mean everyone / everywhere; people of another organisation only when
    `allow_external`."""

    users: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    allow_external: bool = False

    def refusal(
        self, user: str, channel: str, *, is_direct_message: bool, external: bool = False
    ) -> str | None:
        """The polite refusal for this user in this channel, or None when allowed.

        The channel list applies to channels, not to a person's DM with the bot; `external`:
        the person belongs to another organisation (a Slack Connect guest)."""
        if external and not self.allow_external:
            return NOT_EXTERNAL
        if self.users and user not in self.users:
            return NOT_FOR_YOU
        if not self.may_read(channel, is_direct_message=is_direct_message):
            return NOT_HERE
        return None

    def may_read(self, channel: str, *, is_direct_message: bool = False) -> bool:
        """Whether the bot may work in (and read) this channel: DMs always, channels when the
        channel list is empty or names them."""
        return is_direct_message or not self.channels or channel in self.channels


def parse_ids(value: str) -> frozenset[str]:
    """Comma- or space-separated Slack ids from a setting."""
    return frozenset(part for part in value.replace(",", " ").split() if part)
