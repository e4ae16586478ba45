"""Slack as knowledge, put together: the Slack tools (search_slack, read_channel) as a
ToolProvider for the turn, the "Summarise thread" shortcut, and routines (/claude-routine).

    knowledge = Knowledge.build(settings, clients, shared)
    TurnDeps(..., tools=(*knowledge.providers, ...))          # the lead's turn integration
    await knowledge.start(settings, app, clients, shared, events, stack, loops)
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp

from bot.batch.store import LeaderLock
from bot.compose.clients import Clients
from bot.compose.conversation import SlackParts
from bot.config import Settings
from bot.conversation.tools import ToolProvider
from bot.routines.command import COMMAND, RoutineCommands
from bot.routines.runner import RoutineRunner
from bot.routines.scheduler import ALL_WORKSPACES, RoutineScheduler
from bot.routines.store import RoutineStore
from bot.runtime.loops import BackgroundLoops
from bot.slack.api.workspaces import OneWorkspace, SlackWorkspaces
from bot.slack.handlers.commands import AnswerStarter
from bot.slack.handlers.summaries import SHORTCUT_ID, SummaryShortcut
from bot.storage.connect import open_sync_redis
from bot.storage.key_layout import PREFIX
from bot.tools.slack.directory import SlackDirectory
from bot.tools.slack.provider import SlackKnowledge
from bot.tools.slack.read_channel import ReadLimits

LEASE_SECONDS = 15.0  # a dead leader's routines move to another replica within this
LEASE_TICK_SECONDS = 3.0  # renew the lease, and pick up routines other replicas added


@dataclass(frozen=True)
class Knowledge:
    """The Slack tools and what shares their caches (the shortcut, routines)."""

    directory: SlackDirectory
    slack: SlackKnowledge
    enabled: frozenset[str]

    @classmethod
    def build(cls, settings: Settings, clients: Clients, shared: SlackParts) -> Knowledge:
        """On each workspace's Slack client, the allowlists and the people cache."""
        directory = SlackDirectory(clients.workspaces, shared.clock)
        names = settings.slack_tool_names
        provider = SlackKnowledge(
            directory,
            shared.people,
            lambda channel: shared.access.may_read(channel),
            limits=ReadLimits(max_messages=settings.slack_read_max_messages),
            search="search_slack" in names,
            read="read_channel" in names,
        )
        return cls(directory, provider, names)

    @property
    def providers(self) -> tuple[ToolProvider, ...]:
        """What TurnDeps.tools gets (nothing when BOT_SLACK_TOOLS is empty)."""
        return (self.slack,) if self.enabled else ()

    async def start(
        self,
        settings: Settings,
        app: AsyncApp,
        clients: Clients,
        shared: SlackParts,
        answers: AnswerStarter,
        stack: AsyncExitStack,
        loops: BackgroundLoops,
    ) -> None:
        """Register the shortcut and /claude-routine; start the routine scheduler (one for
        every workspace)."""
        shortcut = SummaryShortcut(shared.access, self.directory, answers)
        app.shortcut(SHORTCUT_ID)(shortcut.on_shortcut)
        scope = routine_scope(clients.workspaces)
        store = RoutineStore(clients.redis)
        runner: list[RoutineRunner] = []

        async def fire(routine_id: str, workspace: str, scheduled: float) -> None:
            await runner[0].fire(routine_id, workspace, scheduled)

        lease = LeaderLock(
            clients.redis, ttl_seconds=LEASE_SECONDS, key=f"{PREFIX}:routines:{scope}:leader"
        )
        scheduler = RoutineScheduler(
            open_sync_redis(clients.redis_url, cluster=settings.redis_cluster),
            scope,
            lease,
            fire,
            asyncio.get_running_loop(),
        )
        runner.append(
            RoutineRunner(
                store,
                self.directory,
                self.slack.access,
                shared.access,
                answers,
                scheduler.unschedule,
            )
        )
        scheduler.start()
        stack.push_async_callback(scheduler.stop)
        loops.start("routine_lease", scheduler.tick, LEASE_TICK_SECONDS)
        commands = RoutineCommands(
            store,
            scheduler,
            self.directory,
            self.slack.access,
            shared.access,
            settings.routines_per_user,
        )
        app.command(COMMAND)(commands.on_command)


def routine_scope(workspaces: SlackWorkspaces) -> str:
    """Whose routines one scheduler (its job store and lease) holds: with SLACK_BOT_TOKEN the one
    workspace's team (the keys routines always had), under OAuth every workspace's."""
    if isinstance(workspaces, OneWorkspace):
        return workspaces.workspace.team_id
    return ALL_WORKSPACES


def slack_tools(settings: Settings, clients: Clients, shared: SlackParts) -> list[ToolProvider]:
    """The Slack tool providers alone (prefer Knowledge.build once, to share its caches)."""
    return list(Knowledge.build(settings, clients, shared).providers)
