"""Approvals of tools that change things, audited: every answer the asker gives (approved,
denied, expired) is an `tool.approval` entry of the audit log."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.conversation.agent import Approval, Approvals, Approver
from bot.conversation.messages import Question
from bot.conversation.tools import JsonObject, ToolSpec
from bot.governance.audit import Auditor

Status = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class _AuditedApprover:
    inner: Approver
    audit: Auditor
    question: Question

    async def approve(self, spec: ToolSpec, tool_input: JsonObject, description: str) -> Approval:
        """The inner approver's answer, recorded."""
        answer = await self.inner.approve(spec, tool_input, description)
        key = self.question.key
        await self.audit.record(
            key.team,
            "tool.approval",
            self.question.user,
            tool=spec.name,
            result=answer.value,
            channel=key.channel,
            thread=key.thread_ts,
        )
        return answer


@dataclass(frozen=True)
class AuditedApprovals:
    """Wraps the bot's Approvals (Approvals protocol) so each answer is audited."""

    inner: Approvals
    audit: Auditor

    def for_question(self, question: Question, status: Status) -> Approver:
        """The inner approver of this question, audited."""
        return _AuditedApprover(self.inner.for_question(question, status), self.audit, question)
