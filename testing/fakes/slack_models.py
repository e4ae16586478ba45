"""Data records of the fake Slack: what it stores, what it observed, and its rate limiter."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]

# What would notify many people if a message carried it: the special mentions (also with a
# label), a user group, and the bare words (Slack does not document whether markdown_text links
# them, so the fake counts them too).
BROADCAST = re.compile(
    r"<!(?:channel|here|everyone)(?:\|[^>]*)?>|<!subteam\^\w+(?:\|[^>]*)?>"
    r"|(?<![^\W_])@(?:channel|here|everyone)\b",
    re.IGNORECASE,
)

INLINE_TYPES = frozenset(
    {"text", "user", "link", "emoji", "channel", "broadcast", "date", "usergroup"}
)


class SlackError(Exception):
    """An app-level Slack error: answered as HTTP 200 `{"ok": false, "error": code, ...}`."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra

    def body(self) -> JsonDict:
        return {"ok": False, "error": self.code, **self.extra}


@dataclass
class SlackRateLimits:
    """Token buckets per method; a `None` rate means unlimited."""

    update_per_minute: float | None = 50.0  # chat.update, Tier 3, per workspace (whole app)
    update_burst: int = 10
    post_per_second_per_channel: float | None = 1.0  # chat.postMessage ~1/s per channel
    post_burst: int = 5
    default_per_minute: float | None = None  # every other method; None = its tier's rate
    default_burst: int = 5
    # Every other method is held to its spec's tier (t1 1/min, t2 20/min, t3 50/min, t4 100/min,
    # per workspace, with a minute's worth as burst); t5 ("special") methods are not limited.
    tiers: bool = True


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One Web API request as the fake saw it (the token is not kept in `args`)."""

    method: str
    args: JsonDict
    at: float
    status: int
    response: JsonDict
    team: str = ""  # the workspace whose token made the call ("" when none was valid)
    token: str = ""  # the token sent (to tell a rotated token from the one before)


@dataclass(frozen=True, slots=True)
class Ack:
    """A Socket Mode acknowledgement and how long after the push it arrived."""

    envelope_id: str
    payload: JsonDict | None
    latency_s: float
    status: int = 200  # HTTP mode: the app's response status (Socket Mode: always acked)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What `user_message` did: the stored ts and, if an event was pushed, its ids."""

    ts: str
    envelope_id: str | None
    event_id: str | None
    event: JsonDict


@dataclass(eq=False)
class StoredMessage:
    """A message as Slack keeps it. `edits` holds (monotonic time, visible text) per write."""

    ts: str
    channel: str
    thread_ts: str | None
    user: str
    bot_id: str | None
    text: str = ""
    markdown_text: str | None = None
    blocks: list[JsonDict] | None = None
    files: list[JsonDict] | None = None
    edits: list[tuple[float, str]] = field(default_factory=list)
    deleted: bool = False
    attachments: list[JsonDict] | None = None
    metadata: JsonDict | None = None
    client_msg_id: str | None = None
    reply_broadcast: bool = False
    reactions: dict[str, list[str]] = field(default_factory=dict)
    streaming: bool = False
    edited_ts: str | None = None
    broadcasts: list[str] = field(default_factory=list)  # each broadcast it ever showed
    timeline: list[JsonDict] = field(default_factory=list)  # a stream's text and task chunks

    def tasks(self) -> dict[str, list[str]]:
        """Each streamed task's statuses, in the order they were shown."""
        seen: dict[str, list[str]] = {}
        for chunk in self.timeline:
            if chunk.get("type") == "task_update":
                seen.setdefault(str(chunk["id"]), []).append(str(chunk["status"]))
        return seen

    @property
    def visible_text(self) -> str:
        """What a user reads: markdown_text if set, else text, else the text of the blocks."""
        if self.markdown_text is not None:
            return self.markdown_text
        if self.text:
            return self.text
        return blocks_text(self.blocks or [])

    def record_edit(self, now: float) -> None:
        self.edits.append((now, self.visible_text))
        shown = [self.markdown_text or "", self.text, blocks_text(self.blocks or [])]
        for mention in (m.group(0) for text in shown for m in BROADCAST.finditer(text)):
            if mention not in self.broadcasts:
                self.broadcasts.append(mention)


@dataclass(eq=False)
class PendingUpload:
    """A file between files.getUploadURLExternal and files.completeUploadExternal."""

    file_id: str
    filename: str
    length: int
    ticket: str
    alt_txt: str | None = None
    snippet_type: str | None = None
    data: bytes | None = None  # set when the bytes are POSTed to the upload URL


@dataclass(frozen=True, slots=True)
class EphemeralMessage:
    """A chat.postEphemeral (or ephemeral response_url) message, seen only by `user`."""

    ts: str
    channel: str
    user: str
    text: str
    markdown_text: str | None
    blocks: list[JsonDict] | None
    thread_ts: str | None
    at: float


@dataclass(eq=False)
class User:
    id: str
    name: str
    real_name: str
    is_bot: bool = False
    deleted: bool = False
    team: str | None = None  # another organisation's team (Slack Connect); None: this workspace
    restricted: bool = False  # a guest: sees only the channels they are a member of
    tz: str = "Europe/London"  # IANA name, as users.info gives it


@dataclass(eq=False)
class Channel:
    """A conversation. `messages` is in ts order; `replies` maps a root ts to its replies."""

    id: str
    name: str
    members: set[str]
    created: int
    is_private: bool = False
    is_im: bool = False
    im_user: str | None = None
    is_archived: bool = False
    is_ext_shared: bool = False  # a Slack Connect channel, shared with another organisation
    messages: list[StoredMessage] = field(default_factory=list)
    by_ts: dict[str, StoredMessage] = field(default_factory=dict)
    replies: dict[str, list[StoredMessage]] = field(default_factory=dict)

    @property
    def channel_type(self) -> str:
        """The `channel_type` of message events: im, group (private) or channel."""
        if self.is_im:
            return "im"
        return "group" if self.is_private else "channel"

    @property
    def scope_family(self) -> str:
        """The scope prefix for this kind of conversation (channels:history, im:history...)."""
        return {"im": "im", "group": "groups", "channel": "channels"}[self.channel_type]


def blocks_text(blocks: list[JsonDict]) -> str:
    """The readable text of Block Kit blocks, one line per block."""
    return "\n".join(part for part in (_node_text(b) for b in blocks) if part)


def _node_text(node: Any) -> str:
    if isinstance(node, list):
        inline = all(isinstance(n, dict) and n.get("type") in INLINE_TYPES for n in node)
        return ("" if inline else "\n").join(_node_text(n) for n in node)
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    if kind == "user":
        return f"<@{node.get('user_id', '')}>"
    if kind == "link":
        return str(node.get("text") or node.get("url", ""))
    if kind == "emoji":
        return f":{node.get('name', '')}:"
    if kind == "broadcast":
        return f"<!{node.get('range', '')}>"
    if kind == "usergroup":
        return f"<!subteam^{node.get('usergroup_id', '')}>"
    text = node.get("text")
    if isinstance(text, str):
        return text
    parts = [_node_text(text), _node_text(node.get("elements")), _node_text(node.get("fields"))]
    return "\n".join(p for p in parts if p)


class TokenBucket:
    """A classic token bucket; `take` answers 0.0 when granted, else seconds to wait."""

    __slots__ = ("capacity", "rate", "tokens", "updated")

    def __init__(self, per_second: float, burst: int, now: float) -> None:
        self.rate = per_second
        self.capacity = float(max(burst, 1))
        self.tokens = self.capacity
        self.updated = now

    def take(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


# Slack's documented tiers: calls per minute per method per workspace ("t5" is "special").
TIER_PER_MINUTE = {"t1": 1.0, "t2": 20.0, "t3": 50.0, "t4": 100.0}


class RateLimiter:
    """Per-method buckets: chat.update per workspace, chat.postMessage per channel."""

    def __init__(self, limits: SlackRateLimits) -> None:
        self.limits = limits
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def _rule(self, method: str, tier: str = "") -> tuple[float | None, int]:
        lim = self.limits
        if method == "chat.update":
            per_min = lim.update_per_minute
            return (None if per_min is None else per_min / 60.0), lim.update_burst
        if method == "chat.postMessage":
            return lim.post_per_second_per_channel, lim.post_burst
        per_min = lim.default_per_minute
        if per_min is None and lim.tiers and tier in TIER_PER_MINUTE:
            per_tier = TIER_PER_MINUTE[tier]
            return per_tier / 60.0, int(per_tier)
        return (None if per_min is None else per_min / 60.0), lim.default_burst

    def refund(self, method: str, channel: str, team: str = "") -> None:
        """Give a token back (chat.postMessage only counts messages actually posted)."""
        scope = f"{team}/{channel}" if method == "chat.postMessage" else team
        bucket = self._buckets.get((method, scope))
        if bucket is not None:
            bucket.tokens = min(bucket.capacity, bucket.tokens + 1.0)

    def check(self, method: str, channel: str, now: float, tier: str = "", team: str = "") -> float:
        """0.0 when the call may go through; otherwise the wait in seconds (buckets are per
        workspace, and chat.postMessage's per channel too)."""
        per_second, burst = self._rule(method, tier)
        if per_second is None:
            return 0.0
        key = (method, f"{team}/{channel}" if method == "chat.postMessage" else team)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(per_second, burst, now)
        return bucket.take(now)


def retry_after_header(wait_s: float) -> str:
    """Slack's Retry-After is whole seconds, at least 1."""
    return str(max(1, math.ceil(wait_s)))
