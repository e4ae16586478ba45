"""Redis key layout: one versioned prefix, the thread key as a cluster hash tag."""

from __future__ import annotations

from bot.conversation.messages import ThreadKey

PREFIX = "csb:v1"


def thread_key(key: ThreadKey, part: str) -> str:
    """csb:v1:{T:C:thread_ts}:<part> (history, meta, lock)."""
    return f"{PREFIX}:{{{key}}}:{part}"


def event_key(event_id: str) -> str:
    """Marks a Slack event (or message) as taken, so a retry is answered once."""
    return f"{PREFIX}:event:{event_id}"


def user_name_key(team: str, user: str) -> str:
    """A cached display name."""
    return f"{PREFIX}:user:{team}:{user}"


def approval_key(approval_id: str, part: str = "") -> str:
    """csb:v1:approval:{<id>} holds a tool-approval request; …:decision is the list its waiter
    blocks on (one hash tag, so a script may touch both)."""
    key = f"{PREFIX}:approval:{{{approval_id}}}"
    return f"{key}:{part}" if part else key


def code_file_key(file_id: str) -> str:
    """Marks a file code execution made as posted into its thread (posted once)."""
    return f"{PREFIX}:codefile:{file_id}"
