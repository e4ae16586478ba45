"""Approval of tools that change things, put together: requests and decisions in Redis, the
approver each answer asks through, and the buttons' click handler (any replica's)."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp

from bot.compose.clients import Clients
from bot.config import Settings
from bot.conversation.ports import Clock
from bot.slack.handlers.approval import ApprovalClicks, register_approvals
from bot.slack.sinks.approval import SlackApprovals
from bot.storage.approvals import RedisApprovals

KEEP_AFTER_SECONDS = 3600  # a decided or expired request is remembered this long for late clicks


@dataclass(frozen=True)
class ToolApprovals:
    """The asking side (for the turn) and the clicking side (for the Slack app)."""

    asking: SlackApprovals
    clicks: ApprovalClicks

    @classmethod
    def build(cls, settings: Settings, clients: Clients, clock: Clock) -> ToolApprovals:
        """On the shared Redis and each workspace's Slack client; BOT_TOOL_APPROVAL_SECONDS and
        the admins."""
        seconds = settings.tool_approval_seconds
        store = RedisApprovals(clients.redis, keep_seconds=seconds + KEEP_AFTER_SECONDS)
        return cls(
            asking=SlackApprovals(clients.workspaces, store, clock, seconds),
            clicks=ApprovalClicks(clients.workspaces, store, clock, settings.admins, seconds),
        )

    def register(self, app: AsyncApp) -> None:
        """Attach the Approve / Deny buttons' listener."""
        register_approvals(app, self.clicks)
