"""Which memory a conversation may use, and the memory tool as a ToolProvider.

- A channel's notes (`/memories/channel`) are offered in every thread of that channel, and only
  there: never in another channel.
- A person's notes (`/memories/you`) follow them, split by privacy: what they said in DMs and
  private channels is kept apart from what they said in public channels, and only the public
  part is offered in a public channel. A DM has no channel notes (it is one person's).
- A conversation whose privacy can't be told gets no memory at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.conversation.messages import Question
from bot.conversation.tools import Tool
from bot.governance.audit import Auditor
from bot.tools.memory.files import Limits
from bot.tools.memory.store import MemoryStore, Scope
from bot.tools.memory.tool import MemoryTool, Offered


class Privacy(Protocol):
    """Tells private conversations from public ones."""

    async def is_private(self, team: str, channel: str) -> bool | None:
        """True (DM, group DM, private channel), False (public), None (unknown), for a
        channel of the workspace `team`."""
        ...


@dataclass(frozen=True)
class Place:
    """Where someone talks to the bot."""

    team: str
    channel: str
    user: str
    is_direct_message: bool = False


async def offered(place: Place, privacy: Privacy, admins: frozenset[str]) -> Offered | None:
    """The scopes this person may use here (None: no memory here)."""
    admin = place.user in admins
    if place.is_direct_message or place.channel.startswith("D"):
        you = Scope(place.team, "user", place.user, private=True)
        return Offered({"you": you}, "our DMs and private channels", place.user, admin)
    private = await privacy.is_private(place.team, place.channel)
    if private is None:
        return None
    scopes = {
        "channel": Scope(place.team, "channel", place.channel, private),
        "you": Scope(place.team, "user", place.user, private),
    }
    where = "this private conversation" if private else "this channel"
    return Offered(scopes, where, place.user, admin)


class MemoryProvider:
    """Offers the memory tool (ToolProvider)."""

    def __init__(
        self,
        store: MemoryStore,
        privacy: Privacy,
        limits: Limits,
        *,
        admins: frozenset[str] = frozenset(),
        audit: Auditor | None = None,
    ) -> None:
        self.store = store
        self.privacy = privacy
        self.limits = limits
        self.admins = admins
        self._audit = audit

    async def offered(self, place: Place) -> Offered | None:
        """The scopes of a place (shared with /claude-memory)."""
        return await offered(place, self.privacy, self.admins)

    async def tools_for(self, question: Question) -> Sequence[Tool]:
        """The memory tool over this conversation's scopes, or nothing."""
        place = Place(
            question.key.team, question.key.channel, question.user, question.is_direct_message
        )
        scopes = await self.offered(place)
        if scopes is None:
            return []
        return [MemoryTool(self.store, scopes, self.limits, self._audit)]
