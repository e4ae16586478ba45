"""Governance put together: the audit log, "forget this thread", PII redaction, /claude-export,
and audited tool approvals."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp

from bot.claude.files import AnthropicFileStore
from bot.compose.clients import Clients
from bot.config import Settings
from bot.conversation.agent import Approvals
from bot.governance.approvals import AuditedApprovals
from bot.governance.audit import AuditLog
from bot.governance.forget import ThreadForgetter
from bot.governance.pii import PiiRedactor
from bot.slack.handlers.access import parse_ids
from bot.slack.handlers.export import ExportCommand, register_export


@dataclass(frozen=True)
class Governance:
    """What the turn and the commands get for retention, audit and redaction."""

    audit: AuditLog
    eraser: ThreadForgetter
    redactor: PiiRedactor | None
    export: ExportCommand

    @classmethod
    def build(cls, settings: Settings, clients: Clients) -> Governance:
        """On the shared Redis and Anthropic clients and each workspace's Slack client."""
        audit = AuditLog(clients.redis, settings.audit_retention_days * 86_400)
        files = AnthropicFileStore(clients.claude.with_options(max_retries=2))
        ttl = settings.history_ttl_seconds
        eraser = ThreadForgetter(clients.redis, clients.workspaces, files, audit, ttl_seconds=ttl)
        redactor = PiiRedactor(settings.pii_region) if settings.pii_redaction else None
        admins = parse_ids(settings.admin_users)
        export = ExportCommand(clients.workspaces, clients.redis, admins, audit)
        return cls(audit, eraser, redactor, export)

    def approvals(self, inner: Approvals) -> Approvals:
        """The bot's approvals, each answer audited."""
        return AuditedApprovals(inner, self.audit)

    def register(self, app: AsyncApp) -> None:
        """Attach /claude-export."""
        register_export(app, self.export)
