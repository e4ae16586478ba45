"""The composition root: settings in, a running bot out. Every client and service is built here
(or in the sibling modules it calls), passed in, and never changed afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from contextlib import AsyncExitStack

import structlog
from redis.exceptions import RedisError

from bot.compose.accounting import Accounting
from bot.compose.approvals import ToolApprovals
from bot.compose.askcode import build_ask_code
from bot.compose.background import (
    beat,
    release_dead_predecessors,
    start_lag_monitor,
    sweeper,
)
from bot.compose.batches import start_batches
from bot.compose.clients import open_clients
from bot.compose.conversation import (
    SlackParts,
    TurnParts,
    attachments,
    chat_model,
    event_handler,
    file_source,
)
from bot.compose.governance import Governance
from bot.compose.knowledge import Knowledge
from bot.compose.memory import memory_provider, register_memory_command
from bot.compose.profiles import (
    ChannelBudget,
    MemoryOfProfile,
    channel_profiles,
    pii_redactor,
)
from bot.compose.slack_app import bolt_app
from bot.compose.surfaces import AiSurfaces
from bot.compose.tools import code_files_back, server_tools, tool_providers
from bot.compose.transport import transport
from bot.config import Settings
from bot.health import BEAT_SECONDS, HEARTBEAT_FILE
from bot.runtime.loops import BackgroundLoops
from bot.runtime.predecessor import InstanceFiles
from bot.runtime.startup import StartupError
from bot.slack.handlers.commands import CommandHandler, register_commands
from bot.slack.handlers.events import register
from bot.storage.inflight import InflightJournal

log = structlog.get_logger("bot")

__all__ = ["StartupError", "run"]


async def run(settings: Settings) -> None:
    """Start everything, take Slack's events (Socket Mode or HTTP) until SIGTERM/SIGINT, then
    shut down cleanly."""
    loops = BackgroundLoops()
    async with AsyncExitStack() as stack:
        stack.push_async_callback(loops.cancel_all)
        clients = await open_clients(settings, stack)
        journal = InflightJournal(clients.redis, heartbeat_seconds=settings.heartbeat_seconds)
        instances = InstanceFiles(settings.data_dir)
        await release_dead_predecessors(journal, instances)
        instances.register(journal.instance)
        every = settings.heartbeat_seconds / 3
        loops.start("orphan_sweeper", sweeper(journal, clients.workspaces), every)
        profiles = channel_profiles(settings, loops)
        accounting = Accounting.build(settings, clients.redis, ChannelBudget(profiles))
        accounting.count_rate_limits(clients.web)
        start_lag_monitor(loops, accounting.metrics, stack)

        shared = SlackParts.build(settings, clients, journal)
        files = file_source(settings, clients, stack)
        code = build_ask_code(settings, clients)
        surfaces = AiSurfaces.build(settings, clients, shared, accounting, profiles)
        knowledge = Knowledge.build(settings, clients, shared)  # search_slack, read_channel
        approvals = ToolApprovals.build(settings, clients, shared.clock)
        governance = Governance.build(settings, clients)
        memory = memory_provider(settings, clients, governance.audit)
        turn = TurnParts(
            model=accounting.meter(chat_model(settings, clients)),
            usage=accounting.guard,
            attachments=attachments(settings, clients, files),
            code=code,
            tools=(
                *await tool_providers(settings, stack, profiles),
                *knowledge.providers,
                *([MemoryOfProfile(memory, profiles, default=settings.memory)] if memory else []),
            ),
            server_tools=server_tools(settings),
            profiles=profiles,
            approvals=governance.approvals(approvals.asking),
            result_files=code_files_back(settings, clients, shared.clock),
            eraser=governance.eraser,
            redactor=pii_redactor(settings, profiles),
        )
        events = event_handler(settings, clients, shared, turn, surfaces.answers)

        app = bolt_app(settings, clients)
        register(app, events)
        commands = CommandHandler(
            shared.access,
            events,
            clients.workspaces,
            shared.clock,
            accounting.reporter,
            code=code,
            profiles=profiles,
            admins=settings.admins,
            base_prompt_chars=len(settings.system_prompt),
        )
        register_commands(app, commands)
        start_batches(settings, app, clients, files, shared.access, stack, loops)
        surfaces.register(app)  # prompts, Home tab, feedback
        await knowledge.start(settings, app, clients, shared, events, stack, loops)
        approvals.register(app)  # Approve / Deny of tools that change things
        governance.register(app)  # /claude-export
        register_memory_command(app, memory, shared.access, governance.audit)

        slack = transport(settings, app)
        stack.push_async_callback(slack.close)
        monitoring = accounting.monitoring(
            slack_connected=slack.connected,
            client=clients.redis,
            in_flight=lambda: events.tasks.running,
            loops=loops.healthy,
        )
        await slack.start(monitoring)
        heartbeat = beat(settings.data_dir / HEARTBEAT_FILE, slack.connected, loops)
        loops.start("heartbeat_file", heartbeat, BEAT_SECONDS)
        log.info("bot.ready", mode=settings.bot_mode, oauth=settings.oauth)
        await wait_for_stop_signal()
        log.info("bot.stopping", answers_in_flight=events.tasks.running)
        await slack.stop()
        await events.tasks.drain(settings.shutdown_grace_seconds)
        await loops.cancel(("heartbeat_file", "orphan_sweeper"))
        with contextlib.suppress(RedisError):
            await journal.stop()
        instances.remove(journal.instance)


async def wait_for_stop_signal() -> None:
    """Return on SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
