"""What the Slack tools ask Slack about people and channels, cached, and within Slack's rate tiers.

Each workspace is asked with its own client (`SlackDirectory.of(workspace)`: the bot token of
that workspace); the caches are shared, keyed by workspace, so two workspaces with the same
channel or user ids never see each other's facts.

Every call goes through `call`: a 429 is waited out (Slack's Retry-After) a few times, never past
a bound, so a tool answers "Slack is rate-limiting me" rather than hanging. Channel facts
(conversations.info, Tier 3), memberships (conversations.members, Tier 4) and people
(users.info, Tier 4) are cached per process for a short time: membership briefly, so someone
removed from a channel loses access within a minute.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.conversation.ports import Clock
from bot.slack.api.calls import RateLimited, call_slack
from bot.slack.api.workspaces import SlackWorkspaces, Workspace

log = structlog.get_logger("bot.tools.slack")

CHANNEL_TTL_S = 300.0
PERSON_TTL_S = 600.0
MEMBERS_TTL_S = 60.0
MAX_RATE_LIMIT_WAIT_S = 20.0  # a tool gives up on a rate-limited method after waiting this long
MEMBERS_PAGE = 500
MAX_MEMBER_PAGES = 20  # 10,000 members: larger channels are checked no further (refused)

T = TypeVar("T")


class SlackUnavailable(Exception):
    """Slack refused or rate-limited a call; the message says which, for Claude."""


@dataclass(frozen=True)
class ChannelFacts:
    """What the tools need to know about a conversation."""

    id: str
    name: str
    is_private: bool
    is_im: bool
    is_mpim: bool
    bot_is_member: bool
    im_user: str | None = None
    is_archived: bool = False

    @property
    def label(self) -> str:
        """How Claude and Slack show it: <#C…|name>."""
        return f"<#{self.id}|{self.name}>" if self.name else f"<#{self.id}>"


@dataclass(frozen=True)
class Person:
    """A workspace member as users.info describes them."""

    id: str
    name: str
    tz: str
    deleted: bool
    guest: bool  # restricted or ultra-restricted: sees only the channels they are in
    team: str


class _TtlCache(Generic[T]):
    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._items: dict[str, tuple[float, T]] = {}

    def get(self, key: str) -> T | None:
        hit = self._items.get(key)
        if hit is None or time.monotonic() - hit[0] > self._ttl:
            return None
        return hit[1]

    def put(self, key: str, value: T) -> T:
        if len(self._items) > 10_000:
            self._items.clear()
        self._items[key] = (time.monotonic(), value)
        return value


@dataclass
class _Caches:
    """What the directory remembers, for every workspace, keyed "<workspace>/<id>"."""

    channels: _TtlCache[ChannelFacts | None]
    people: _TtlCache[Person | None]
    members: _TtlCache[frozenset[str]]


class SlackDirectory:
    """People, channels and memberships of every workspace the bot serves, cached."""

    def __init__(self, workspaces: SlackWorkspaces, clock: Clock) -> None:
        self._workspaces = workspaces
        self._clock = clock
        self._caches = _Caches(
            _TtlCache(CHANNEL_TTL_S), _TtlCache(PERSON_TTL_S), _TtlCache(MEMBERS_TTL_S)
        )

    async def of(self, workspace: str) -> WorkspaceDirectory:
        """The directory of one workspace (a workspace id, as thread keys carry it), asking
        with that workspace's client; NotInstalled when it has no installation."""
        found = await self._workspaces.get(workspace)
        return WorkspaceDirectory(found, workspace, self._clock, self._caches)


class WorkspaceDirectory:
    """People, channels and memberships of one workspace, as the bot's token there sees them."""

    def __init__(self, workspace: Workspace, key: str, clock: Clock, caches: _Caches) -> None:
        self._workspace = workspace
        self._client = workspace.client
        self._key = key
        self._clock = clock
        self._channels = caches.channels
        self._people = caches.people
        self._members = caches.members

    @property
    def client(self) -> AsyncWebClient:
        """The workspace's Web API client."""
        return self._client

    @property
    def workspace(self) -> Workspace:
        """The workspace: its team id and who the bot is there."""
        return self._workspace

    @property
    def key(self) -> str:
        """The workspace's id ("T…", or "E…:T…" on Enterprise Grid), as keys carry it."""
        return self._key

    async def call(
        self, method: Callable[..., Awaitable[AsyncSlackResponse]], **kwargs: Any
    ) -> dict[str, Any]:
        """Call a method, waiting out 429s up to MAX_RATE_LIMIT_WAIT_S in all."""
        waited = 0.0
        while True:
            try:
                return await call_slack(method, **kwargs)
            except RateLimited as limited:
                if waited + limited.retry_after > MAX_RATE_LIMIT_WAIT_S:
                    name = getattr(method, "__name__", "a method")
                    log.warning("slack.tool_rate_limited", method=name)
                    raise SlackUnavailable(
                        "Slack is rate-limiting me right now; try again in a minute."
                    ) from None
                waited += limited.retry_after
                await self._clock.sleep(limited.retry_after)

    async def channel(self, channel_id: str) -> ChannelFacts | None:
        """The channel's facts; None when the bot cannot see it (not found, or private and
        the bot is not in it)."""
        cached = self._channels.get(f"{self._key}/{channel_id}")
        if cached is not None:
            return cached
        try:
            data = await self.call(self._client.conversations_info, channel=channel_id)
        except SlackApiError as exc:
            log.info("slack.tool_channel_unknown", error=exc.response.get("error"))
            return None
        raw = data.get("channel") or {}
        facts = ChannelFacts(
            id=channel_id,
            name=str(raw.get("name") or ""),
            is_private=bool(raw.get("is_private") or raw.get("is_group")),
            is_im=bool(raw.get("is_im")),
            is_mpim=bool(raw.get("is_mpim")),
            bot_is_member=bool(raw.get("is_member") or raw.get("is_im")),
            im_user=raw.get("user") if isinstance(raw.get("user"), str) else None,
            is_archived=bool(raw.get("is_archived")),
        )
        return self._channels.put(f"{self._key}/{channel_id}", facts)

    async def person(self, user_id: str) -> Person | None:
        """users.info for a person; None when Slack does not know them."""
        cached = self._people.get(f"{self._key}/{user_id}")
        if cached is not None:
            return cached
        try:
            data = await self.call(self._client.users_info, user=user_id)
        except SlackApiError as exc:
            log.info("slack.tool_person_unknown", error=exc.response.get("error"))
            return None
        raw = data.get("user") or {}
        profile = raw.get("profile") or {}
        person = Person(
            id=user_id,
            name=str(profile.get("real_name") or raw.get("real_name") or raw.get("name") or ""),
            tz=str(raw.get("tz") or "UTC"),
            deleted=bool(raw.get("deleted")),
            guest=bool(raw.get("is_restricted") or raw.get("is_ultra_restricted")),
            team=str(raw.get("team_id") or profile.get("team") or ""),
        )
        return self._people.put(f"{self._key}/{user_id}", person)

    async def is_member(self, channel_id: str, user_id: str, *, fresh: bool = False) -> bool:
        """Whether the person is in the conversation (conversations.members, all pages)."""
        key = f"{self._key}/{channel_id}"
        members = None if fresh else self._members.get(key)
        if members is None:
            members = self._members.put(key, await self._all_members(channel_id))
        return user_id in members

    async def _all_members(self, channel_id: str) -> frozenset[str]:
        found: set[str] = set()
        cursor = ""
        for _ in range(MAX_MEMBER_PAGES):
            kwargs: dict[str, Any] = {"channel": channel_id, "limit": MEMBERS_PAGE}
            if cursor:
                kwargs["cursor"] = cursor
            try:
                data = await self.call(self._client.conversations_members, **kwargs)
            except SlackApiError as exc:
                log.info("slack.tool_members_failed", error=exc.response.get("error"))
                return frozenset()
            found.update(str(m) for m in data.get("members") or [])
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        return frozenset(found)
