"""The process runtime's parts: supervised loops, the lag monitor, predecessor files, probes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse
from structlog.testing import capture_logs

from bot.metrics.registry import BotMetrics
from bot.metrics.server import metrics_app
from bot.runtime.lag import LagMonitor
from bot.runtime.loops import BackgroundLoops
from bot.runtime.predecessor import InstanceFiles, ProcessMark, is_gone, start_time, this_process
from bot.runtime.reachability import Unreachable, network_reason, until_reachable
from bot.runtime.startup import StartupError, slack_call


async def test_a_failing_iteration_is_logged_and_the_loop_goes_on() -> None:
    """A step that raises any exception (a dropped connection, a bug) is logged; the loop keeps
    running and stays healthy."""
    loops = BackgroundLoops()
    calls = 0
    fifth = asyncio.Event()

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise aiohttp.ServerDisconnectedError()
        if calls == 5:
            fifth.set()

    with capture_logs() as logs:
        loops.start("flaky", flaky, 0.01)
        await asyncio.wait_for(fifth.wait(), 5)
    assert await loops.healthy()
    assert loops.failures("flaky") == 2
    failed = [e for e in logs if e["event"] == "loop.iteration_failed"]
    assert [e["error"] for e in failed] == ["ServerDisconnectedError"] * 2
    await loops.cancel_all()


async def test_a_dead_loop_fails_healthz() -> None:
    """A loop that ends by itself (something got past the per-iteration guard) is logged and
    makes /healthz answer 503 naming the loops check."""
    loops = BackgroundLoops()

    class Escaped(BaseException):
        """Not an Exception: passes the per-iteration guard."""

    async def fatal() -> None:
        raise Escaped()

    task = loops.start("doomed", fatal, 0.01)
    with capture_logs() as logs, pytest.raises(Escaped):
        await task
    assert loops.dead() == ["doomed"]
    assert any(e["event"] == "loop.died" and e["loop"] == "doomed" for e in logs)
    app = metrics_app(BotMetrics(), {"loops": loops.healthy})
    response = await _get(app, "/healthz")
    assert response == (503, {"healthy": False, "checks": {"loops": False}})


async def test_a_stuck_iteration_counts_as_dead_and_cancel_is_clean() -> None:
    """An iteration that hangs past stuck_after makes the loop dead; a cancelled loop is not dead
    and its on_end still runs."""
    now = [0.0]
    loops = BackgroundLoops(clock=lambda: now[0])
    ended = asyncio.Event()

    async def hang() -> None:
        await asyncio.sleep(3600)

    async def on_end() -> None:
        ended.set()

    loops.start("hung", hang, 1.0, stuck_after=60.0, on_end=on_end)
    await asyncio.sleep(0)
    assert await loops.healthy()
    now[0] = 61.0
    assert loops.dead() == ["hung"]
    await loops.cancel_all()
    assert ended.is_set()
    assert loops.dead() == []


async def test_a_stop_event_ends_the_loop_cleanly() -> None:
    """A loop with a stop event ends after the round in progress, without waiting its interval."""
    loops = BackgroundLoops()
    stop = asyncio.Event()
    rounds = 0

    async def step() -> None:
        nonlocal rounds
        rounds += 1
        stop.set()

    await asyncio.wait_for(loops.start("once", step, 3600, stop=stop), 5)
    assert rounds == 1
    assert loops.dead() == []


def hog_the_loop(seconds: float) -> None:
    """Blocks the calling thread, like CPU-bound or synchronous I/O code on the event loop."""
    time.sleep(seconds)


async def test_a_stall_is_measured_and_logged_with_the_culprit() -> None:
    """Blocking the loop for 0.6 s: the lag lands in the histogram, and loop.stalled names the
    task that ran and the function on the loop thread's stack at the time."""
    observed: list[float] = []
    monitor = LagMonitor(observed.append)
    monitor.start_watchdog()
    loops = BackgroundLoops()
    loops.start("loop_lag", monitor.tick, monitor.every)

    async def slow_handler() -> None:
        hog_the_loop(0.6)

    try:
        await asyncio.sleep(0.25)
        with capture_logs() as logs:
            await asyncio.create_task(slow_handler(), name="turn:C1:1234")
            await asyncio.sleep(0.3)
    finally:
        monitor.stop_watchdog()
        await loops.cancel_all()
    stalls = [e for e in logs if e["event"] == "loop.stalled" and "1234" in e["task"]]
    assert len(stalls) == 1
    assert stalls[0]["lag_ms"] >= 400
    assert stalls[0]["task"].startswith("turn:C1:1234 (")
    assert stalls[0]["task"].endswith("slow_handler)")
    assert any("hog_the_loop" in frame for frame in stalls[0]["stack"])
    assert max(observed) >= 0.4


async def test_a_loop_blocked_for_long_is_reported_by_the_watchdog_itself() -> None:
    """A loop blocked past BLOCKED_SECONDS is reported while it is still blocked (it might never
    come back to log the stall)."""
    monitor = LagMonitor(lambda lag: None, blocked=0.4)
    monitor.start_watchdog()
    loops = BackgroundLoops()
    loops.start("loop_lag", monitor.tick, monitor.every)
    try:
        await asyncio.sleep(0.2)
        with capture_logs() as logs:
            hog_the_loop(0.9)
            await asyncio.sleep(0.2)
    finally:
        monitor.stop_watchdog()
        await loops.cancel_all()
    blocked = [e for e in logs if e["event"] == "loop.blocked"]
    assert len(blocked) == 1
    assert any("hog_the_loop" in frame for frame in blocked[0]["stack"])


def test_a_killed_process_on_this_host_is_known_to_be_gone(tmp_path: Path) -> None:
    """An instance file whose process was killed (same host, pid gone) is reported dead; the
    file of a live process, or of another host, is not."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    files = InstanceFiles(tmp_path)
    files.directory.mkdir()
    here = this_process()

    def write(instance: str, mark: ProcessMark) -> None:
        (files.directory / f"{instance}.json").write_text(json.dumps(dataclasses.asdict(mark)))

    alive = ProcessMark(
        here.host, here.boot_id, here.pid_namespace, child.pid, start_time(child.pid)
    )
    write("alive", alive)
    write("elsewhere", ProcessMark("other-host", "", "", 1, ""))
    files.register("me")
    assert files.dead() == []
    child.kill()
    child.wait()
    assert files.dead() == ["alive"]
    assert not is_gone(this_process(), here)


def test_a_reused_pid_is_not_mistaken_for_the_old_process() -> None:
    """A pid now running another program (its start time differs) means the old one is gone,
    as does our own pid recorded by an earlier process (a container restarted)."""
    here = this_process()
    if not here.started:
        pytest.skip("no /proc on this system")
    older = ProcessMark(here.host, here.boot_id, here.pid_namespace, here.pid, "1")
    assert is_gone(older, here)
    parent = ProcessMark(here.host, here.boot_id, here.pid_namespace, os.getppid(), "1")
    assert is_gone(parent, here)


async def test_an_unreachable_service_is_named_and_retried_until_it_answers() -> None:
    """A refused connection logs one line naming the host and what to check, then the call is
    retried with growing delays until it succeeds; a non-network error is raised at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        attempts = 0
        delays: list[float] = []

        async def call() -> str:
            nonlocal attempts
            attempts += 1
            if attempts < 4:
                await asyncio.open_connection("127.0.0.1", port)
            return "connected"

        async def no_sleep(seconds: float) -> None:
            delays.append(seconds)

        with capture_logs() as logs:
            result = await until_reachable("Slack", f"127.0.0.1:{port}", call, sleep=no_sleep)
    assert result == "connected"
    assert delays == [1.0, 2.0, 4.0]
    line = logs[0]
    assert line["event"] == "startup.unreachable"
    assert (line["service"], line["host"]) == ("Slack", f"127.0.0.1:{port}")
    assert line["reason"] == "the connection was refused"
    assert "HTTPS" in line["check"]

    async def broken() -> None:
        raise KeyError("not a network problem")

    with pytest.raises(KeyError):
        await until_reachable("Slack", "slack.com:443", broken, sleep=no_sleep)


def test_network_reasons_are_found_through_the_sdk_wrappers() -> None:
    """The socket error under an SDK's wrapper decides the reason: DNS, refused, timeout."""

    def wrapped(inner: BaseException) -> BaseException:
        try:
            try:
                raise inner
            except BaseException as exc:
                raise RuntimeError("wrapper") from exc
        except RuntimeError as outer:
            return outer

    assert network_reason(wrapped(socket.gaierror(-2, "Name or service not known"))) == (
        "its name does not resolve (DNS)"
    )
    assert network_reason(wrapped(ConnectionRefusedError())) == "the connection was refused"
    assert network_reason(wrapped(TimeoutError())) == "no answer in time"
    assert network_reason(ValueError("no")) is None


async def _get(app: web.Application, path: str) -> tuple[int, object]:
    async with TestClient(TestServer(app)) as client:
        response = await client.get(path)
        return response.status, await response.json()


def _slack_error(error: str, status: int = 200) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/auth.test",
        req_args={},
        data={"ok": False, "error": error},
        headers={},
        status_code=status,
    )
    return SlackApiError("refused", response)


@pytest.mark.parametrize("error", ["invalid_auth", "not_allowed_token_type", "token_revoked"])
async def test_a_refused_slack_token_names_its_variable(error: str) -> None:
    """Slack refusing a token ends the start with one line naming the variable and the code."""

    async def refused() -> None:
        raise _slack_error(error)

    with pytest.raises(StartupError) as raised:
        await slack_call(refused(), "SLACK_APP_TOKEN")
    assert str(raised.value) == f"Slack refused SLACK_APP_TOKEN ({error}); see README.md."


async def test_slack_being_unwell_is_retried_not_fatal() -> None:
    """Slack's own trouble (rate limit, 5xx) is a reason to retry, not a bad token."""

    async def unwell(error: str, status: int) -> None:
        raise _slack_error(error, status)

    with pytest.raises(Unreachable):
        await slack_call(unwell("ratelimited", 429), "SLACK_BOT_TOKEN")
    with pytest.raises(Unreachable):
        await slack_call(unwell("", 503), "SLACK_BOT_TOKEN")
