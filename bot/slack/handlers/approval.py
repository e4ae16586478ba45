"""Clicks on a tool approval's Approve / Deny buttons, on whichever replica Slack sends them to.

Only the person who asked (or a bot admin) may decide; anyone else is told so privately and the
request stays open. The decision is taken atomically in Redis (the first click wins, whichever
replica handled it); the answer waiting for it, possibly in another process, wakes on it. The
winning click edits the message to say who decided (with the client of the request's workspace);
a later click is told what was decided.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.conversation.ports import Clock
from bot.slack.api.calls import NO_LINKING, RateLimited, call_waiting_out_limits
from bot.slack.api.workspaces import NotInstalled, SlackWorkspaces, workspace_of
from bot.slack.blocks.approval import (
    APPROVE,
    APPROVED,
    DENIED,
    DENY,
    EXPIRED,
    decided_blocks,
    outcome_text,
)
from bot.storage.approvals import ApprovalRequest, Decided

log = structlog.get_logger("bot.slack.approval")

DECISIONS = {APPROVE: APPROVED, DENY: DENIED}
APPROVAL_ID = re.compile(r"[0-9a-f]{24}")
GONE = "This request is no longer open: the answer that asked has moved on."
UNAVAILABLE = "I can't reach my store right now, so nothing was decided. Try again in a moment."

Ack = Callable[..., Awaitable[None]]


class ApprovalDecisions(Protocol):
    """Reading a request and deciding it (RedisApprovals)."""

    async def get(self, approval_id: str) -> ApprovalRequest | None: ...

    async def decide(self, approval_id: str, decision: str, by: str) -> Decided: ...


@dataclass(frozen=True)
class Click:
    """One click on Approve or Deny."""

    approval_id: str
    decision: str  # approved / denied
    user: str
    channel: str
    message_ts: str
    workspace: str = ""  # the workspace id the click came from


def parse_click(body: dict[str, Any]) -> Click | None:
    """The click of a block_actions payload, or None when it is not an approval's (pure)."""
    action = next((a for a in body.get("actions") or [] if a.get("action_id") in DECISIONS), None)
    if action is None:
        return None
    container = body.get("container") or {}
    click = Click(
        approval_id=str(action.get("value") or ""),
        decision=DECISIONS[str(action["action_id"])],
        user=str((body.get("user") or {}).get("id") or ""),
        channel=str(container.get("channel_id") or (body.get("channel") or {}).get("id") or ""),
        message_ts=str(container.get("message_ts") or ""),
        workspace=workspace_of(body),
    )
    if not APPROVAL_ID.fullmatch(click.approval_id) or not click.user or not click.channel:
        return None
    return click


def already(decided: Decided) -> str:
    """What a click that came too late is told."""
    if decided.decision == APPROVED:
        return f"<@{decided.by}> already approved this."
    if decided.decision == DENIED:
        return f"<@{decided.by}> already denied this."
    if decided.decision == EXPIRED:
        return "This request expired: nobody decided in time, so it did not run."
    return GONE


@dataclass(frozen=True)
class ApprovalClicks:
    """Handles Approve / Deny clicks."""

    workspaces: SlackWorkspaces
    store: ApprovalDecisions
    clock: Clock
    admins: frozenset[str]
    seconds: float  # BOT_TOOL_APPROVAL_SECONDS, for the message's wording

    async def on_click(self, ack: Ack, body: dict[str, Any], respond: Ack) -> None:
        """Ack at once; decide if this person may; tell anyone else why not, privately."""
        await ack()
        click = parse_click(body)
        if click is None:
            log.info("approval.click_ignored")
            return
        try:
            reply = await self._decide(click)
        except RedisError as exc:
            log.warning("approval.click_failed", error=type(exc).__name__)
            reply = UNAVAILABLE
        if reply:
            await respond(response_type="ephemeral", replace_original=False, text=reply)

    async def _decide(self, click: Click) -> str:
        """Decide; returns what to tell the clicker ("" when the message says it)."""
        request = await self.store.get(click.approval_id)
        if request is None:
            return GONE
        if click.user != request.asker and click.user not in self.admins:
            log.info("approval.not_allowed", approval=click.approval_id)
            return f"Only <@{request.asker}> (or a bot admin) can approve or deny this."
        decided = await self.store.decide(click.approval_id, click.decision, click.user)
        if not decided.won:
            return already(decided)
        log.info(
            "approval.decided",
            approval=click.approval_id,
            decision=click.decision,
            by_admin=click.user != request.asker,
        )
        await self._edit(request, click)
        return ""

    async def _edit(self, request: ApprovalRequest, click: Click) -> None:
        """The message says who decided, and loses its buttons (edited in the request's
        workspace; a request stored without one: the click's)."""
        outcome = outcome_text(click.decision, click.user, self.seconds)
        try:
            client = (await self.workspaces.get(request.workspace or click.workspace)).client
            await call_waiting_out_limits(
                self.clock,
                client.chat_update,
                channel=request.channel or click.channel,
                ts=request.message_ts or click.message_ts,
                text=outcome,
                blocks=decided_blocks(request.label, request.shown_input, outcome),
                **NO_LINKING,
            )
        except (SlackApiError, RateLimited, NotInstalled) as exc:
            log.warning("approval.edit_failed", error=type(exc).__name__)


def register_approvals(app: AsyncApp, clicks: ApprovalClicks) -> None:
    """Attach the Approve / Deny buttons' listener."""
    for action_id in DECISIONS:
        app.action(action_id)(clicks.on_click)
