"""The OAuth `state` of the install flow: signed with SLACK_STATE_SECRET (slack_sdk's stateless
store: HMAC-SHA256, expiring after 10 minutes) and good once (a Redis mark), so any replica can
finish an install another one started and a captured callback URL cannot be replayed.

Bolt checks the state cookie against the callback's `state` before consume() runs (CSRF)."""

from __future__ import annotations

import hashlib
import logging

import redis.asyncio as redis
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.stateless import StatelessOAuthStateStore

from bot.storage.key_layout import PREFIX

STATE_SECONDS = 600


def state_mark_key(state: str) -> str:
    """The mark that a state was used (its hash: the state itself is not kept)."""
    return f"{PREFIX}:oauth_state:{hashlib.sha256(state.encode()).hexdigest()}"


class SignedOnceStateStore(AsyncOAuthStateStore):
    """Issues signed states; accepts each one once, before it expires."""

    def __init__(self, client: redis.Redis, secret: str) -> None:
        self._redis = client
        self._signed = StatelessOAuthStateStore(
            expiration_seconds=STATE_SECONDS, signing_secret=secret
        )
        self._logger = logging.getLogger("bot.slack.oauth")

    @property
    def logger(self) -> logging.Logger:
        """Bolt's interface asks for one."""
        return self._logger

    async def async_issue(self, *args: object, **kwargs: object) -> str:
        """A new state for an install link."""
        return self._signed.issue()

    async def async_consume(self, state: str) -> bool:
        """True for a state this app signed, not expired, never used before."""
        if not self._signed.consume(state):
            return False
        first = await self._redis.set(state_mark_key(state), "1", nx=True, ex=STATE_SECONDS)
        return bool(first)
