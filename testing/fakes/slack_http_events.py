"""Slack's side of HTTP mode: events, slash commands and interactions POSTed to the app's
request URL, signed the way Slack signs them (v0 HMAC-SHA256 of `v0:<timestamp>:<body>` with
the signing secret, slack_sdk's SignatureVerifier), retries carrying X-Slack-Retry-Num and
X-Slack-Retry-Reason.

Strict: the app must answer 2xx within 3 seconds (an event answered late or with an error is a
violation: Slack would retry it), and a url_verification must echo its challenge."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from .slack_models import Ack, JsonDict

ACK_DEADLINE_SECONDS = 3.0
CONTENT_TYPES = {"events_api": "application/json"}


def encode(kind: str, payload: JsonDict) -> bytes:
    """The body Slack posts: JSON for events, a form for slash commands, `payload=<json>` for
    interactions."""
    if kind == "events_api":
        return json.dumps(payload).encode()
    if kind == "slash_commands":
        return urlencode({key: str(value) for key, value in payload.items()}).encode()
    return urlencode({"payload": json.dumps(payload)}).encode()


def content_type(kind: str) -> str:
    return CONTENT_TYPES.get(kind, "application/x-www-form-urlencoded")


class HttpEvents:
    """Posts to the app's request URL; the ack is the HTTP response."""

    def __init__(self, url: str, signing_secret: str, violations: list[str]) -> None:
        self.url = url
        self.signing_secret = signing_secret
        self.violations = violations
        self.acks: dict[str, Ack] = {}
        self.responses: dict[str, str] = {}  # delivery id -> response body
        self._waiters: dict[str, asyncio.Future[Ack]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def headers(self, body: bytes, kind: str, *, timestamp: int | None = None) -> dict[str, str]:
        """Slack's headers for the body, signed now (or at `timestamp`)."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(self.signing_secret).generate_signature(
            timestamp=stamp, body=body
        )
        return {
            "Content-Type": content_type(kind),
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": str(signature),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }

    def post(self, kind: str, payload: JsonDict, *, retry_attempt: int, retry_reason: str) -> str:
        """Deliver in the background (Slack does not wait for one event to send the next);
        returns the delivery id wait_ack takes."""
        delivery = secrets.token_hex(8)
        self._waiters[delivery] = asyncio.get_running_loop().create_future()
        body = encode(kind, payload)
        headers = self.headers(body, kind)
        if retry_attempt:
            headers["X-Slack-Retry-Num"] = str(retry_attempt)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        task = asyncio.get_running_loop().create_task(self._send(delivery, kind, body, headers))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return delivery

    async def raw(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        """One request exactly as given (unsigned, stale, forged): the status and body."""
        async with self._open().post(self.url, data=body, headers=headers) as response:
            return response.status, await response.text()

    async def verify_url(self) -> bool:
        """Slack's url_verification: the app must echo the challenge."""
        challenge = secrets.token_urlsafe(24)
        payload = {"token": "unused", "challenge": challenge, "type": "url_verification"}
        body = json.dumps(payload).encode()
        status, text = await self.raw(body, self.headers(body, "events_api"))
        try:
            echoed = json.loads(text).get("challenge")
        except ValueError:
            echoed = text.strip()
        return status == 200 and echoed == challenge

    async def wait_ack(self, delivery: str, timeout: float) -> Ack:
        return await asyncio.wait_for(asyncio.shield(self._waiters[delivery]), timeout)

    async def _send(self, delivery: str, kind: str, body: bytes, headers: dict[str, str]) -> None:
        started = time.monotonic()
        try:
            async with self._open().post(self.url, data=body, headers=headers) as response:
                text = await response.text()
                status = response.status
        except aiohttp.ClientError as exc:
            text, status = repr(exc), 0
        latency = time.monotonic() - started
        self.responses[delivery] = text
        if status != 200 or latency > ACK_DEADLINE_SECONDS:
            self.violations.append(
                f"HTTP {kind}: the app answered {status} after {latency:.2f}s (Slack wants 200 "
                f"within {ACK_DEADLINE_SECONDS:.0f}s and would retry)"
            )
        parsed: JsonDict | None = None
        if text.strip().startswith("{"):
            parsed = json.loads(text)
        ack = Ack(delivery, parsed, latency, status)
        self.acks[delivery] = ack
        waiter = self._waiters[delivery]
        if not waiter.done():
            waiter.set_result(ack)

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._session is not None:
            await self._session.close()
