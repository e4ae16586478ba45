"""The OAuth `state` of the install flow: a random nonce and an expiry, signed with
SLACK_STATE_SECRET (HMAC-SHA256), good once (a Redis mark) and for ten minutes. Any replica can
finish an install another one started, and a captured callback URL cannot be replayed.

Bolt checks the state cookie against the callback's `state` before consume() runs (CSRF)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time

from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.storage.connect import RedisClient
from bot.storage.key_layout import PREFIX

STATE_SECONDS = 600


def state_mark_key(state: str) -> str:
    """The mark that a state was used (its hash: the state itself is not kept)."""
    return f"{PREFIX}:oauth_state:{hashlib.sha256(state.encode()).hexdigest()}"


class SignedOnceStateStore(AsyncOAuthStateStore):
    """Issues signed states; accepts each one once, before it expires."""

    def __init__(self, client: RedisClient, secret: str) -> None:
        self._redis = client
        self._secret = secret.encode()
        self._logger = logging.getLogger("bot.slack.oauth")

    @property
    def logger(self) -> logging.Logger:
        """Bolt's interface asks for one."""
        return self._logger

    async def async_issue(self, *args: object, **kwargs: object) -> str:
        """A new state for an install link: `<nonce>.<expiry>.<signature>`."""
        body = f"{secrets.token_urlsafe(18)}.{int(time.time()) + STATE_SECONDS}"
        return f"{body}.{self._sign(body)}"

    async def async_consume(self, state: str) -> bool:
        """True for a state this app signed, not expired, never used before."""
        body, _, signature = state.rpartition(".")
        expiry = body.rpartition(".")[2]
        if not (body and hmac.compare_digest(signature, self._sign(body))):
            return False
        if not expiry.isdigit() or int(expiry) < time.time():
            return False
        first = await self._redis.set(state_mark_key(state), "1", nx=True, ex=STATE_SECONDS)
        return bool(first)

    def _sign(self, body: str) -> str:
        return hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()
