"""What the AI surfaces remember in Redis: the channel a person is looking at, which threads
already have a title, which channel context a conversation was already given, and feedback.

    csb:v1:surface:{team}:viewing:<scope>       channel in view (scope: thread:<C>:<ts>, user:<U>)
    csb:v1:{T:C:thread_ts}:titled               set once, when the thread got its title
    csb:v1:{T:C:thread_ts}:viewing_passed       the channel whose context the model last got
    csb:v1:feedback:{team}:<channel>:<msg_ts>   hash user -> "positive" | "negative"
"""

from __future__ import annotations

from bot.conversation.messages import ThreadKey
from bot.storage.connect import RedisClient
from bot.storage.key_layout import PREFIX, thread_key

VIEWING_TTL_SECONDS = 24 * 3600
FEEDBACK_TTL_SECONDS = 90 * 86_400


def viewing_key(team: str, scope: str) -> str:
    """The channel a person (or an assistant thread) is looking at."""
    return f"{PREFIX}:surface:{{{team}}}:viewing:{scope}"


def feedback_key(team: str, channel: str, message_ts: str) -> str:
    """The feedback given on one answer message."""
    return f"{PREFIX}:feedback:{{{team}}}:{channel}:{message_ts}"


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


class RedisSurfaceState:
    """The surfaces' small state; every method may raise RedisError (callers are best effort)."""

    def __init__(self, client: RedisClient, thread_ttl_seconds: int) -> None:
        self._redis = client
        self._thread_ttl = thread_ttl_seconds

    async def save_viewing(self, team: str, scope: str, channel: str) -> None:
        """Remember the channel in view for a thread or a person (a day)."""
        await self._redis.set(viewing_key(team, scope), channel, ex=VIEWING_TTL_SECONDS)

    async def viewing(self, team: str, scope: str) -> str | None:
        """The channel in view for a thread or a person, if Slack told us."""
        return _text(await self._redis.get(viewing_key(team, scope)))

    async def claim_title(self, key: ThreadKey) -> bool:
        """True the first time for a thread: it gets its title from this question."""
        marked = await self._redis.set(thread_key(key, "titled"), "1", nx=True, ex=self._thread_ttl)
        return bool(marked)

    async def pass_viewing(self, key: ThreadKey, channel: str) -> bool:
        """True when the conversation has not yet been given this channel's context (and notes
        that it now is)."""
        previous = await self._redis.set(
            thread_key(key, "viewing_passed"), channel, ex=self._thread_ttl, get=True
        )
        return isinstance(previous, bool) or _text(previous) != channel

    async def record_feedback(
        self, team: str, channel: str, message_ts: str, user: str, value: str
    ) -> str | None:
        """Store a person's feedback on an answer; returns what they had said before, if any."""
        key = feedback_key(team, channel, message_ts)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hget(key, user)
            pipe.hset(key, user, value)
            pipe.expire(key, FEEDBACK_TTL_SECONDS)
            previous, _, _ = await pipe.execute()
        return _text(previous)

    async def feedback(self, team: str, channel: str, message_ts: str) -> dict[str, str]:
        """Everyone's feedback on an answer message."""
        raw = await self._redis.hgetall(feedback_key(team, channel, message_ts))
        return {str(_text(user)): str(_text(value)) for user, value in raw.items()}
