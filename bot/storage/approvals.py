"""Tool-approval requests in Redis, so a click handled by any replica reaches the answer that
waits for it.

A request is a hash (`csb:v1:approval:{id}`: who asked, where — workspace and channel —, what the
tool would do) created
before the Approve / Deny message is posted. A decision — approved or denied by a click, expired
or canceled by the waiter — is taken by one Lua script: the first one sets `decision` and pushes
it onto the request's list (`…:decision`); every later one only reads what was decided. The
waiting answer blocks on that list with BLPOP, so it wakes the moment any replica decides, and
spends nothing meanwhile. The hash outlives the wait (`keep_seconds`) so a late click is told
what happened.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage.connect import RedisClient
from bot.storage.key_layout import approval_key

# KEYS: request hash, decision list. ARGV: decision, by, list ttl seconds.
# Returns {1 if this call decided, the decision in force, by whom}; {0, '', ''}: no such request.
_DECIDE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, '', ''} end
local current = redis.call('HMGET', KEYS[1], 'decision', 'by')
if current[1] then return {0, current[1], current[2] or ''} end
redis.call('HSET', KEYS[1], 'decision', ARGV[1], 'by', ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return {1, ARGV[1], ARGV[2]}
"""

DECISION = "decision"
MIN_BLOCK_SECONDS = 0.01  # a BLPOP timeout that rounds to 0 would block forever


@dataclass(frozen=True)
class ApprovalRequest:
    """A request as stored: who may decide, where its message is, what it shows, and the
    decision once there is one ("" while open)."""

    asker: str
    channel: str
    message_ts: str
    label: str  # "demo › create_ticket"
    shown_input: str  # the input as the message shows it (already made safe and short)
    decision: str = ""
    by: str = ""
    workspace: str = ""  # the workspace id of the thread ("" in a request stored before it was)


@dataclass(frozen=True)
class Decided:
    """What a decide call found: whether it made the decision, and the decision in force
    ("" when the request no longer exists)."""

    won: bool
    decision: str
    by: str


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


class RedisApprovals:
    """The requests and their decisions."""

    def __init__(self, client: RedisClient, *, keep_seconds: float) -> None:
        self._redis = client
        self._keep = max(int(keep_seconds), 1)
        self._decide = client.register_script(_DECIDE)

    async def open(self, approval_id: str, request: ApprovalRequest) -> None:
        """Store a new, undecided request."""
        key = approval_key(approval_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "asker": request.asker,
                    "channel": request.channel,
                    "message_ts": request.message_ts,
                    "label": request.label,
                    "shown_input": request.shown_input,
                    "workspace": request.workspace,
                },
            )
            pipe.expire(key, self._keep)
            await pipe.execute()

    async def posted(self, approval_id: str, message_ts: str) -> None:
        """Remember the request's message (a click also names it; the waiter edits it)."""
        await self._redis.hset(approval_key(approval_id), "message_ts", message_ts)

    async def get(self, approval_id: str) -> ApprovalRequest | None:
        """The request, or None when there is none (never made, or long gone)."""
        raw = await self._redis.hgetall(approval_key(approval_id))
        if not raw:
            return None
        fields = {_text(k): _text(v) for k, v in raw.items()}
        return ApprovalRequest(
            asker=fields.get("asker", ""),
            channel=fields.get("channel", ""),
            message_ts=fields.get("message_ts", ""),
            label=fields.get("label", ""),
            shown_input=fields.get("shown_input", ""),
            decision=fields.get("decision", ""),
            by=fields.get("by", ""),
            workspace=fields.get("workspace", ""),
        )

    async def decide(self, approval_id: str, decision: str, by: str) -> Decided:
        """Decide the request unless it already is (atomically: the first decision stands)."""
        keys = [approval_key(approval_id), approval_key(approval_id, DECISION)]
        won, current, who = await self._decide(keys=keys, args=[decision, by, self._keep])
        return Decided(bool(int(won)), _text(current), _text(who))

    async def wait(self, approval_id: str, seconds: float) -> str | None:
        """Block until the request is decided (its decision) or `seconds` pass (None)."""
        if seconds <= 0:
            return None
        key = approval_key(approval_id, DECISION)
        popped = await self._redis.blpop([key], timeout=max(seconds, MIN_BLOCK_SECONDS))
        if popped is None:
            return None
        return _text(popped[1])
