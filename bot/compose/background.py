"""The background loops every replica runs (supervised by bot.runtime.loops): the orphan sweeper
with this replica's Redis heartbeat, the heartbeat file, the event-loop lag monitor; and the
fast sweep of a killed predecessor's answers at start."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import structlog
from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError

from bot.conversation.display import failure_text, is_status
from bot.conversation.ordering import INTERRUPTED
from bot.conversation.throttle import MonotonicClock
from bot.health import write_heartbeat
from bot.metrics.registry import BotMetrics
from bot.runtime.lag import LagMonitor
from bot.runtime.loops import BackgroundLoops
from bot.runtime.predecessor import InstanceFiles
from bot.slack.api.workspaces import NotInstalled, SlackWorkspaces
from bot.slack.sinks.native_stream import update_finished
from bot.storage.inflight import InflightAnswer, InflightJournal

log = structlog.get_logger("bot")


def start_lag_monitor(loops: BackgroundLoops, metrics: BotMetrics, stack: AsyncExitStack) -> None:
    """Measure the event loop's lag (csb_event_loop_lag_seconds) and log its stalls."""
    monitor = LagMonitor(metrics.observe_loop_lag)
    monitor.start_watchdog()
    stack.callback(monitor.stop_watchdog)
    loops.start("loop_lag", monitor.tick, monitor.every)


async def release_dead_predecessors(journal: InflightJournal, instances: InstanceFiles) -> None:
    """Processes of this host and data dir that are gone (killed): drop their heartbeats, so
    the first sweep marks their answers now rather than when the heartbeats expire."""
    for instance in instances.dead():
        try:
            await journal.forget(instance)
        except RedisError as exc:
            log.warning("sweep.predecessor_not_released", error=type(exc).__name__)
            continue
        instances.remove(instance)
        log.info("sweep.predecessor_gone", instance=instance)


def beat(
    path: Path, is_connected: Callable[[], Awaitable[bool]], loops: BackgroundLoops
) -> Callable[[], Awaitable[None]]:
    """One heartbeat-file step: written while Slack is connected and no loop is dead."""

    async def step() -> None:
        if await is_connected() and await loops.healthy():
            await write_heartbeat(path)

    return step


def sweeper(journal: InflightJournal, slack: SlackWorkspaces) -> Callable[[], Awaitable[None]]:
    """One sweep: keep this replica's heartbeat, and mark answers whose replica died."""

    async def step() -> None:
        await journal.beat()
        for orphan in await journal.take_orphans():
            await mark_interrupted(slack, journal, orphan)

    return step


async def mark_interrupted(
    slack: SlackWorkspaces, journal: InflightJournal, orphan: InflightAnswer
) -> None:
    """Edit an abandoned answer's last message (with its workspace's client) to say it was
    interrupted; when Slack could not be reached, put the record back for the next sweep."""
    partial = "" if is_status(orphan.text) else orphan.text
    text = failure_text(partial, INTERRUPTED)
    try:
        client = (await slack.get(orphan.workspace)).client
        await update_finished(MonotonicClock(), client, orphan.channel, orphan.message_ts, text)
        log.info("sweep.marked_interrupted", channel=orphan.channel, ts=orphan.message_ts)
    except SlackApiError as exc:  # Slack's answer (message gone, channel archived): final
        log.warning("sweep.mark_failed", error=exc.response.get("error"))
    except NotInstalled:  # the workspace left: nobody to tell
        log.warning("sweep.mark_failed", error="not_installed")
    except Exception as exc:  # network, 429: try again at the next sweep
        log.warning("sweep.mark_retried", error=type(exc).__name__)
        await journal.restore(orphan)
