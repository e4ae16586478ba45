"""Feedback on answers: Slack's feedback buttons (a context_actions block) under each final
streamed answer; a click is acked, stored against the answer in Redis, counted in the metrics
and thanked with a line only the clicker sees."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog
from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.slack.api.workspaces import NotInstalled, SlackWorkspaces, workspace_of
from bot.slack.blocks.feedback import ACTION_ID, BLOCK_PREFIX, NEGATIVE, POSITIVE

log = structlog.get_logger("bot.slack.handlers.feedback")

THANKS = {
    POSITIVE: "Thanks for the feedback! :+1:",
    NEGATIVE: "Thanks for telling me. Reply in the thread with what was wrong and I'll try again.",
}

Ack = Callable[..., Awaitable[None]]
Block = dict[str, Any]


class FeedbackStore(Protocol):
    """Where feedback is kept."""

    async def record_feedback(
        self, team: str, channel: str, message_ts: str, user: str, value: str
    ) -> str | None:
        """Store it; returns what this person had said before about the answer."""
        ...


def parse_click(body: dict[str, Any]) -> dict[str, str] | None:
    """team, channel, message_ts, thread_ts, user, value and answer of a feedback click, or
    None for a payload that is not one (pure)."""
    action = next((a for a in body.get("actions") or [] if a.get("action_id") == ACTION_ID), None)
    container = body.get("container") or {}
    value = str((action or {}).get("value") or "")
    click = {
        "team": workspace_of(body),
        "channel": str(container.get("channel_id") or (body.get("channel") or {}).get("id") or ""),
        "message_ts": str(container.get("message_ts") or ""),
        "thread_ts": str(container.get("thread_ts") or ""),
        "user": str((body.get("user") or {}).get("id") or ""),
        "value": value,
        "answer": str((action or {}).get("block_id") or "").removeprefix(BLOCK_PREFIX),
    }
    required = ("channel", "message_ts", "user")
    if value not in THANKS or not all(click[key] for key in required):
        return None
    return click


class FeedbackHandler:
    """Handles clicks on the feedback buttons."""

    def __init__(
        self,
        workspaces: SlackWorkspaces,
        store: FeedbackStore,
        count: Callable[[str], None],
    ) -> None:
        self._workspaces = workspaces
        self._store = store
        self._count = count

    async def on_click(self, ack: Ack, body: dict[str, Any]) -> None:
        """Ack at once; store, count (a repeated click only once) and thank."""
        await ack()
        click = parse_click(body)
        if click is None:
            log.debug("feedback.ignored")
            return
        try:
            previous = await self._store.record_feedback(
                click["team"], click["channel"], click["message_ts"], click["user"], click["value"]
            )
        except RedisError as exc:
            log.warning("feedback.not_stored", error=type(exc).__name__)
            previous = None
        if previous != click["value"]:
            self._count(click["value"])
        log.info("feedback.received", value=click["value"], answer=click["answer"])
        await self._thank(click)

    async def _thank(self, click: dict[str, str]) -> None:
        try:
            client = (await self._workspaces.get(click["team"])).client
            await client.chat_postEphemeral(
                channel=click["channel"],
                user=click["user"],
                text=THANKS[click["value"]],
                thread_ts=click["thread_ts"] or None,
            )
        except SlackApiError as exc:
            log.info("feedback.thanks_failed", error=exc.response.get("error"))
        except NotInstalled:
            log.info("feedback.workspace_gone")


def register_feedback(app: AsyncApp, handler: FeedbackHandler) -> None:
    """Attach the feedback buttons' listener."""
    app.action(ACTION_ID)(handler.on_click)
