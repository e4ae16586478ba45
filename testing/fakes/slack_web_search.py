"""Slack as knowledge: the Real-time Search API (assistant.search.context / .info) and
conversations.members, with per-person visibility.

Search runs as the person whose event carried the `action_token`: it sees a public channel's
messages unless they are a guest (then only channels they are in), a private channel's only as
a member, never someone else's DM. A bot token can search only the channel types its scopes
allow (`search:read.public` for public channels; private ones need `search:read.private`, a
user-token scope), else `missing_scope`. Matching is by keyword (the real API is semantic too):
a message matches when it contains a word of the query.
"""

from __future__ import annotations

import base64
import binascii
import re

from .slack_models import Channel, JsonDict, SlackError, StoredMessage
from .slack_state import Workspace
from .slack_web_common import Call, Handler, flag, get_channel, opt_str, permalink

MAX_SEARCH_LIMIT = 20
MAX_QUERY_CHARS = 1000
CHANNEL_TYPE_SCOPES = {
    "public_channel": "search:read.public",
    "private_channel": "search:read.private",
    "mpim": "search:read.mpim",
    "im": "search:read.im",
}
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "about",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "our",
        "the",
        "this",
        "that",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "with",
        "you",
    ]
)
_WORD = re.compile(r"[a-z0-9][a-z0-9_\-']*")


def _terms(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1}


def _listed(call: Call, key: str, default: str) -> list[str]:
    raw = call.args.get(key)
    if isinstance(raw, list):
        return [str(item) for item in raw]
    return [part.strip() for part in str(raw or default).split(",") if part.strip()]


def _channel_type(channel: Channel) -> str:
    if channel.is_im:
        return "im"
    return "private_channel" if channel.is_private else "public_channel"


def _searcher(ws: Workspace, call: Call) -> str:
    token = opt_str(call, "action_token")
    user = ws.action_token_user(token) if token else None
    if user is None:  # a bot token searches only for a person who just acted
        raise SlackError("invalid_action_token")
    return user


def _number(call: Call, key: str) -> float | None:
    raw = opt_str(call, key)
    try:
        return float(raw) if raw else None
    except ValueError:
        raise SlackError("invalid_arguments") from None


def _candidates(ws: Workspace, call: Call, user: str) -> list[tuple[Channel, StoredMessage]]:
    types = _listed(call, "channel_types", "public_channel")
    for kind in types:
        scope = CHANNEL_TYPE_SCOPES.get(kind)
        if scope is None:
            raise SlackError("invalid_arguments")
        if scope not in ws.granted:
            raise SlackError("missing_scope", needed=scope, provided=",".join(sorted(ws.granted)))
    after, before = _number(call, "after"), _number(call, "before")
    archived, bots = flag(call, "include_archived_channels"), flag(call, "include_bots")
    found: list[tuple[Channel, StoredMessage]] = []
    for channel in ws.channels.values():
        if _channel_type(channel) not in types or not ws.can_see(user, channel):
            continue
        if channel.is_archived and not archived:
            continue
        for msg in channel.messages:
            if msg.deleted or (msg.bot_id is not None and not bots):
                continue
            moment = float(msg.ts)
            if (after is not None and moment <= after) or (before is not None and moment >= before):
                continue
            found.append((channel, msg))
    return found


def _offset(call: Call) -> int:
    cursor = opt_str(call, "cursor")
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor, validate=True).decode().removeprefix("offset:"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise SlackError("invalid_cursor") from None


def _result(ws: Workspace, channel: Channel, msg: StoredMessage) -> JsonDict:
    author = ws.users.get(msg.user)
    out: JsonDict = {
        "author_name": author.real_name if author else msg.user,
        "author_user_id": msg.user,
        "team_id": ws.ids.team_id,
        "channel_id": channel.id,
        "channel_name": channel.name,
        "message_ts": msg.ts,
        "content": msg.visible_text,
        "is_author_bot": msg.bot_id is not None,
        "permalink": permalink(ws, channel, msg),
    }
    replies = [r for r in channel.replies.get(msg.ts, []) if not r.deleted]
    if msg.thread_ts is None and replies:
        out["reply_count"] = len(replies)
    return out


def search_context(ws: Workspace, call: Call) -> JsonDict:
    """assistant.search.context: messages the action token's person may see that match."""
    if not ws.ai_search_enabled:
        raise SlackError("feature_not_enabled")
    query = opt_str(call, "query") or ""
    if not query.strip():
        raise SlackError("missing_query")
    if len(query) > MAX_QUERY_CHARS:
        raise SlackError("query_too_long")
    user = _searcher(ws, call)
    context = opt_str(call, "context_channel_id")
    if context and (context not in ws.channels or not ws.can_see(user, ws.channels[context])):
        raise SlackError("context_channel_not_found")
    terms = _terms(query)
    scored = []
    for channel, msg in _candidates(ws, call, user):
        score = len(terms & _terms(msg.visible_text))
        if score:
            scored.append((score, channel, msg))
    if opt_str(call, "sort") == "timestamp":
        scored.sort(key=lambda item: float(item[2].ts))
        if opt_str(call, "sort_dir") != "asc":
            scored.reverse()
    else:
        scored.sort(key=lambda item: (item[0], float(item[2].ts)), reverse=True)
    limit = int(_number(call, "limit") or MAX_SEARCH_LIMIT)
    limit = max(1, min(limit, MAX_SEARCH_LIMIT))
    start = _offset(call)
    page = scored[start : start + limit]
    more = start + limit < len(scored)
    cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
    return {
        "ok": True,
        "results": {"messages": [_result(ws, channel, msg) for _, channel, msg in page]},
        "response_metadata": {"next_cursor": cursor},
    }


def search_info(ws: Workspace, call: Call) -> JsonDict:
    """assistant.search.info: whether AI search is on for the workspace."""
    return {"ok": True, "is_ai_search_enabled": ws.ai_search_enabled}


def conversations_members(ws: Workspace, call: Call) -> JsonDict:
    """conversations.members: a private conversation the bot is not in is not found."""
    channel = get_channel(ws, call, member=False)
    if (channel.is_private or channel.is_im) and ws.ids.bot_user_id not in channel.members:
        raise SlackError("channel_not_found")
    members = sorted(channel.members)
    try:
        start = int(base64.b64decode(opt_str(call, "cursor") or "", validate=True) or b"0")
    except (binascii.Error, ValueError):
        raise SlackError("invalid_cursor") from None
    raw_limit = opt_str(call, "limit")
    limit = int(raw_limit) if raw_limit and raw_limit.isdigit() else 100
    if not 1 <= limit <= 1000:
        raise SlackError("invalid_limit")
    page = members[start : start + limit]
    more = start + limit < len(members)
    cursor = base64.b64encode(str(start + limit).encode()).decode() if more else ""
    return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}


SEARCH_HANDLERS: dict[str, Handler] = {
    "assistant.search.context": search_context,
    "assistant.search.info": search_info,
    "conversations.members": conversations_members,
}
