"""Asking the person who asked before a tool that changes things runs: a message in the answer's
thread with what the tool would do and Approve / Deny buttons, then a wait for the decision.

The click may reach any replica, so the request and its decision live in Redis (see
bot/storage/approvals.py): the answer blocks on the request's decision list and wakes when any
replica's click handler decides. Time up, the waiter takes the decision "expired" with the same
atomic step, so a click in the last instant and the expiry never both win; the message then says
so. The replica whose click won edits the message; the waiter edits it on expiry. Every call goes
with the client of the thread's workspace.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Protocol

import structlog
from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError

from bot.conversation.agent import Approval, Progress
from bot.conversation.messages import Question
from bot.conversation.ports import Clock
from bot.conversation.tools import JsonObject, ToolSpec
from bot.slack.api.calls import NO_LINKING, RateLimited, call_waiting_out_limits
from bot.slack.api.workspaces import NotInstalled, SlackWorkspaces
from bot.slack.blocks.approval import (
    APPROVED,
    CANCELED,
    DENIED,
    EXPIRED,
    decided_blocks,
    outcome_text,
    request_blocks,
    request_text,
    shown_input,
    tool_label,
)
from bot.storage.approvals import ApprovalRequest, Decided

log = structlog.get_logger("bot.slack.approval")

WAITING = "Waiting for your approval…"
CONTINUING = "Going on without it…"
REDIS_RETRY_SECONDS = 1.0  # between two waits when Redis is unreachable
CLEANUP_SECONDS = 5.0  # for marking a request canceled when the answer stops
ANSWERS = {APPROVED: Approval.APPROVED, DENIED: Approval.DENIED}


class ApprovalStore(Protocol):
    """Where requests and decisions are kept (RedisApprovals)."""

    async def open(self, approval_id: str, request: ApprovalRequest) -> None: ...

    async def posted(self, approval_id: str, message_ts: str) -> None: ...

    async def decide(self, approval_id: str, decision: str, by: str) -> Decided: ...

    async def wait(self, approval_id: str, seconds: float) -> str | None: ...


@dataclass(frozen=True)
class SlackApprovals:
    """The core's Approvals on Slack: one approver per answer, asking its asker in its thread."""

    workspaces: SlackWorkspaces
    store: ApprovalStore
    clock: Clock
    seconds: float  # BOT_TOOL_APPROVAL_SECONDS

    def for_question(self, question: Question, status: Progress) -> SlackApprover:
        """The approver of this question's answer."""
        return SlackApprover(self, question, status)


@dataclass(frozen=True)
class Asked:
    """A request that was posted."""

    approval_id: str
    message_ts: str
    label: str
    shown: str


@dataclass(frozen=True)
class SlackApprover:
    """Asks one answer's asker, in its thread."""

    approvals: SlackApprovals
    question: Question
    status: Progress

    async def approve(self, spec: ToolSpec, tool_input: JsonObject, description: str) -> Approval:
        """Post the request, show "Waiting for your approval…", wait for a decision."""
        asked = await self._ask(spec, tool_input, description)
        if asked is None:
            return Approval.UNAVAILABLE
        log.info("approval.asked", tool=spec.name, approval=asked.approval_id)
        await self.status(WAITING)
        try:
            decision = await self._wait(asked)
        except asyncio.CancelledError:
            await self._cancel(asked)
            raise
        answer = ANSWERS.get(decision, Approval.EXPIRED)
        log.info("approval.answer", tool=spec.name, approval=asked.approval_id, answer=answer)
        await self.status(description if answer is Approval.APPROVED else CONTINUING)
        return answer

    async def _ask(self, spec: ToolSpec, tool_input: JsonObject, description: str) -> Asked | None:
        """Store the request, then post it (a click can only come after both)."""
        approvals, question = self.approvals, self.question
        approval_id = secrets.token_hex(12)
        label, shown = tool_label(spec.name, description), shown_input(tool_input)
        team = question.key.team
        request = ApprovalRequest(
            question.user, question.key.channel, "", label, shown, workspace=team
        )
        try:
            client = (await approvals.workspaces.get(team)).client
            await approvals.store.open(approval_id, request)
            posted = await call_waiting_out_limits(
                approvals.clock,
                client.chat_postMessage,
                channel=question.key.channel,
                thread_ts=question.reply_thread_ts,
                text=request_text(question.user, label),
                blocks=request_blocks(approval_id, question.user, label, shown, approvals.seconds),
                **NO_LINKING,
            )
            message_ts = str(posted.get("ts") or "")
            await approvals.store.posted(approval_id, message_ts)
        except (RedisError, SlackApiError, RateLimited, NotInstalled) as exc:
            log.warning("approval.not_asked", tool=spec.name, error=type(exc).__name__)
            return None
        return Asked(approval_id, message_ts, label, shown)

    async def _wait(self, asked: Asked) -> str:
        """The decision: a click's (from any replica), else "expired" when time is up."""
        store, clock = self.approvals.store, self.approvals.clock
        deadline = clock.now() + self.approvals.seconds
        while (remaining := deadline - clock.now()) > 0:
            try:
                decision = await store.wait(asked.approval_id, remaining)
            except RedisError as exc:
                log.warning("approval.wait_failed", error=type(exc).__name__)
                await clock.sleep(min(REDIS_RETRY_SECONDS, remaining))
                continue
            if decision is not None:
                return decision
            break
        return await self._close(asked, EXPIRED)

    async def _close(self, asked: Asked, decision: str) -> str:
        """Take `decision` unless a click just did: the decision in force (the message says
        what happened)."""
        try:
            decided = await self.approvals.store.decide(asked.approval_id, decision, "")
        except RedisError as exc:
            log.warning("approval.close_failed", error=type(exc).__name__)
            decided = Decided(True, decision, "")
        if decided.won or not decided.decision:
            await self._edit(asked, decision)
            return decision
        return decided.decision

    async def _cancel(self, asked: Asked) -> None:
        """The answer stopped while waiting: the request is closed, its buttons go."""
        try:
            async with asyncio.timeout(CLEANUP_SECONDS):
                await self._close(asked, CANCELED)
        except TimeoutError:
            log.warning("approval.cancel_timeout", approval=asked.approval_id)

    async def _edit(self, asked: Asked, decision: str) -> None:
        approvals = self.approvals
        outcome = outcome_text(decision, "", approvals.seconds)
        try:
            client = (await approvals.workspaces.get(self.question.key.team)).client
            await call_waiting_out_limits(
                approvals.clock,
                client.chat_update,
                channel=self.question.key.channel,
                ts=asked.message_ts,
                text=outcome,
                blocks=decided_blocks(asked.label, asked.shown, outcome),
                **NO_LINKING,
            )
        except (SlackApiError, RateLimited, NotInstalled) as exc:
            log.warning("approval.edit_failed", error=type(exc).__name__)
