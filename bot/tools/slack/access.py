"""Whose eyes the Slack tools read with: a channel is read for a person only when the bot is in
it, the operator allows it, and the person could read it themselves.

- the bot must be a member (it reads with its own token, the workspace's);
- the channel must be allowed: `BOT_ALLOWED_CHANNELS` (and, when profiles exist, the channel's
  profile) — `allowed` is that predicate;
- a private channel, a group DM, or any channel for a guest or a person of another organisation:
  the person must be a member (conversations.members); a DM only when it is the person's own
  DM with the bot. A public channel is readable by every full member of the workspace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.tools.slack.directory import ChannelFacts, WorkspaceDirectory

NOT_VISIBLE = (
    "I can't see {ref}: it does not exist or it is private and I'm not in it. Ask someone to "
    "invite me (`/invite @Claude`) if it should be readable."
)
BOT_NOT_IN = "I'm not a member of {ref}, so I can't read it. Invite me with `/invite @Claude`."
NOT_ALLOWED = "{ref} is not a channel this bot may read (the operator's allowlist)."
NOT_A_MEMBER = "{ref} is private to its members, and the person asking is not one of them."
NOT_YOURS = "That is someone else's direct message; I can't read it for you."
UNKNOWN_PERSON = "I can't tell who is asking, so I can't read channels for them."


@dataclass(frozen=True)
class Readable:
    """The channel may be read for this person."""

    channel: ChannelFacts


@dataclass(frozen=True)
class Refused:
    """Why not (said to Claude, who tells the person)."""

    reason: str


class ChannelAccess:
    """Decides, per workspace, person and channel, whether the tools may read it."""

    def __init__(self, allowed: Callable[[str], bool]) -> None:
        self._allowed = allowed

    async def check(
        self, directory: WorkspaceDirectory, user: str, channel_id: str, *, fresh: bool = False
    ) -> Readable | Refused:
        """Readable (with the channel's facts) or Refused with the reason, in the directory's
        workspace; `fresh`: ask Slack for the membership now, not from the minute-long cache
        (a routine's owner)."""
        ref = f"<#{channel_id}>"
        if not self._allowed(channel_id):
            return Refused(NOT_ALLOWED.format(ref=ref))
        facts = await directory.channel(channel_id)
        if facts is None:
            return Refused(NOT_VISIBLE.format(ref=ref))
        ref = facts.label
        if facts.is_im:
            return Readable(facts) if facts.im_user == user else Refused(NOT_YOURS)
        if not facts.bot_is_member:
            return Refused(BOT_NOT_IN.format(ref=ref))
        members_only = facts.is_private or facts.is_mpim or await _limited(directory, user)
        if members_only and not await directory.is_member(channel_id, user, fresh=fresh):
            return Refused(NOT_A_MEMBER.format(ref=ref))
        return Readable(facts)


async def _limited(directory: WorkspaceDirectory, user: str) -> bool:
    """A guest, someone of another organisation (a team other than the workspace's), or
    someone Slack does not know: they see only the channels they are in."""
    person = await directory.person(user)
    if person is None or person.deleted:
        return True
    team = directory.workspace.team_id
    return person.guest or bool(team and person.team and person.team != team)
