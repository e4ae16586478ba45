"""The workspace the fake Slack holds: users, conversations, messages, files and app state."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from .slack_events import Identity
from .slack_models import Channel, EphemeralMessage, JsonDict, PendingUpload, StoredMessage, User
from .slack_specs import AppManifest, scope_granted

EventSink = Callable[[JsonDict], None]
ACTION_TOKEN_TTL_S = 600.0  # how long an event's action_token stays good for search
TS_BASE_MICROS = 1_700_000_000_000_000
TS_STEP_MICROS = 100


@dataclass
class CommandHook:
    """A response_url handed out with a slash command."""

    command: str
    user: str
    channel: str
    uses: int = 0


@dataclass
class Workspace:
    """Everything Slack knows, shared by the Web API handlers and the test-facing facade."""

    ids: Identity
    granted: frozenset[str]
    manifest: AppManifest
    event_scopes: dict[str, tuple[str, ...]]
    echo_bot_messages: bool = True
    base_url: str = ""
    violations: list[str] = field(default_factory=list)
    users: dict[str, User] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    files: dict[str, JsonDict] = field(default_factory=dict)
    file_contents: dict[str, bytes] = field(default_factory=dict)
    uploads: dict[str, PendingUpload] = field(default_factory=dict)  # by upload ticket
    ephemerals: list[EphemeralMessage] = field(default_factory=list)
    views: list[JsonDict] = field(default_factory=list)
    statuses: list[tuple[float, str, str, str]] = field(default_factory=list)
    current_status: dict[tuple[str, str], str] = field(default_factory=dict)
    triggers: dict[str, float] = field(default_factory=dict)
    used_triggers: set[str] = field(default_factory=set)
    hooks: dict[str, CommandHook] = field(default_factory=dict)
    bot_tokens: set[str] = field(default_factory=set)  # the bot's valid tokens (rotation: several)
    sink: EventSink | None = None
    action_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # -> (user, issued)
    ai_search_enabled: bool = True
    _last_ts: int = TS_BASE_MICROS

    # ---- ids and time ---------------------------------------------------------------
    def next_ts(self) -> str:
        """A fresh, strictly increasing message timestamp like "1700000000.000100"."""
        self._last_ts += TS_STEP_MICROS
        seconds, micros = divmod(self._last_ts, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def violation(self, text: str) -> None:
        self.violations.append(text)

    # ---- world setup ----------------------------------------------------------------
    def add_user(self, user: User) -> None:
        self.users[user.id] = user

    def add_channel(self, channel: Channel) -> None:
        if channel.id in self.channels:
            raise ValueError(f"channel {channel.id} already exists")
        self.channels[channel.id] = channel

    def require_channel(self, channel_id: str) -> Channel:
        channel = self.channels.get(channel_id)
        if channel is None:
            known = ", ".join(sorted(self.channels)) or "none"
            raise ValueError(f"unknown channel {channel_id!r} (known: {known}); add it first")
        return channel

    def require_user(self, user_id: str) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise ValueError(f"unknown user {user_id!r}; call add_user({user_id!r}, ...) first")
        return user

    def find_message_channel(self, ts: str) -> Channel | None:
        return next((c for c in self.channels.values() if ts in c.by_ts), None)

    # ---- lookups used by the Web API -------------------------------------------------
    def resolve_channel(self, ref: str) -> Channel | None:
        """By id; by name (`general` or `#general`); or a user id -> that user's DM with the bot."""
        channel = self.channels.get(ref)
        if channel is not None:
            return channel
        name = ref.removeprefix("#")
        for candidate in self.channels.values():
            if (not candidate.is_im and candidate.name == name) or candidate.im_user == ref:
                return candidate
        return None

    def store(self, msg: StoredMessage) -> None:
        channel = self.channels[msg.channel]
        channel.messages.append(msg)
        channel.by_ts[msg.ts] = msg
        if msg.thread_ts is not None:
            channel.replies.setdefault(msg.thread_ts, []).append(msg)

    def thread(self, channel: Channel, root_ts: str) -> list[StoredMessage]:
        root = channel.by_ts.get(root_ts)
        head = [root] if root is not None else []
        return head + channel.replies.get(root_ts, [])

    # ---- who may see what --------------------------------------------------------------
    def can_see(self, user_id: str, channel: Channel) -> bool:
        """Whether a person may read a conversation: a member always; a public channel also
        anyone of this workspace who is not a guest; a DM only its person (and the bot)."""
        if user_id in channel.members:
            return True
        if channel.is_im or channel.is_private:
            return False
        user = self.users.get(user_id)
        return user is not None and not user.restricted and user.team is None

    def issue_action_token(self, user_id: str) -> str:
        """A fresh action_token for an event by this person (what search runs as)."""
        token = f"{int(time.time())}.{len(self.action_tokens) + 1}.{uuid.uuid4().hex[:16]}"
        self.action_tokens[token] = (user_id, time.monotonic())
        return token

    def action_token_user(self, token: str) -> str | None:
        """The person an action_token was issued for, while it is still good."""
        issued = self.action_tokens.get(token)
        if issued is None or time.monotonic() - issued[1] > ACTION_TOKEN_TTL_S:
            return None
        return issued[0]

    # ---- events ----------------------------------------------------------------------
    def subscribed(self, event_name: str) -> bool:
        """The manifest subscribes to the event and the scopes it needs are granted."""
        if event_name not in self.manifest.bot_events:
            return False
        return all(scope_granted(s, self.granted) for s in self.event_scopes.get(event_name, ()))

    def emit(self, event: JsonDict) -> None:
        """Hand an event to the socket side (delivered asynchronously, like Slack)."""
        if self.sink is not None:
            self.sink(event)

    def clear_status(self, channel: str, thread_ts: str | None) -> None:
        """Slack clears an assistant thread status when the app replies in that thread."""
        if thread_ts is not None and self.current_status.pop((channel, thread_ts), ""):
            self.statuses.append((time.monotonic(), channel, thread_ts, ""))
