"""The bot as a child process (`python -m bot`), its CPU and memory, and its JSON log."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp

from bench.bot_lag import Buckets, free_port, scrape_lag
from testing.fakes.claude_server import FakeClaude
from testing.fakes.slack_server import FakeSlack

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


# The bot's own workspace-wide chat.update budget (it models Slack's Tier 3), set out of reach.
UNLIMITED_BUDGET = {
    "BOT_SLACK_UPDATES_PER_MINUTE": "6000000",
    "BOT_SLACK_UPDATE_BURST": "1000000",
}


def bot_environment(
    slack: FakeSlack,
    claude: FakeClaude,
    redis_url: str,
    data_dir: Path,
    policy: str,
    *,
    unlimited_budget: bool,
) -> dict[str, str]:
    """The bot's environment: the fakes, the shared Redis, INFO JSON logs, the edit policy, and
    (when asked) no chat.update budget of its own."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(data_dir),
        "SLACK_BOT_TOKEN": slack.ids.bot_token,
        "SLACK_APP_TOKEN": slack.ids.app_token,
        "SLACK_API_URL": slack.api_url,
        "ANTHROPIC_API_KEY": claude.api_key,
        "ANTHROPIC_BASE_URL": claude.url,
        "REDIS_URL": redis_url,
        "BOT_DATA_DIR": str(data_dir),
        "BOT_LOG_FORMAT": "json",
        "BOT_LOG_LEVEL": "INFO",
        "BOT_EDIT_POLICY": policy,
        "SLACK_FILE_HOSTS": "127.0.0.1",
        # 20 askers share up to 300 answers in flight: no per-person cap in the benchmarks.
        "BOT_MAX_ANSWERS_IN_FLIGHT_PER_USER": "0",
    }
    return env | UNLIMITED_BUDGET if unlimited_budget else env


async def healthy(port: int) -> bool:
    """The bot's /healthz answers 200."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used since boot (Linux /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


class BotProcess:
    """One `python -m bot` process, run from `bot_dir` (the checkout whose bot/ is measured)."""

    def __init__(self, bot_dir: Path, env: dict[str, str], log_path: Path) -> None:
        self.bot_dir = bot_dir
        self.metrics_port = free_port()  # its /metrics has the event loop's lag
        self.http = env.get("BOT_MODE") == "http"  # then /metrics is on PORT, with the events
        port = {"PORT": str(self.metrics_port)} if self.http else {}
        self.env = {
            **env,
            **port,
            "PYTHONPATH": str(bot_dir),
            "BOT_METRICS_PORT": str(self.metrics_port),
        }
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        """The process id (the process must have been started)."""
        if self.process is None:
            raise RuntimeError("the bot was not started")
        return self.process.pid

    @property
    def events_url(self) -> str:
        """HTTP mode: where Slack posts (the bot's PORT)."""
        return f"http://127.0.0.1:{self.metrics_port}/slack/events"

    async def _ready(self, slack: FakeSlack, connections_before: int) -> bool:
        if not self.http:
            return slack.connection_count > connections_before
        return await healthy(self.metrics_port)

    async def start(self, slack: FakeSlack) -> None:
        """Start the bot and wait until it holds a Socket Mode connection (HTTP mode: until it
        serves)."""
        before = slack.connection_count
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                cwd=str(self.bot_dir),
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not await self._ready(slack, before):
            if self.process.returncode is not None:
                raise RuntimeError(f"the bot exited at start:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the bot did not connect:\n{self.log_tail()}")
            await asyncio.sleep(0.05)

    async def stop(self) -> int:
        """SIGTERM, then SIGKILL after a grace period; returns the exit code."""
        process = self.process
        if process is None:
            return 0
        if process.returncode is not None:
            return process.returncode
        process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            return await process.wait()

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self.process is not None and self.process.returncode is None

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the process has used so far (Linux /proc)."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime

    def peak_rss_bytes(self) -> int:
        """The process's peak resident set size (VmHWM)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return 0

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the process's output."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]


class LogWatcher:
    """Counts the bot's JSON log events, reading only what was appended since the last poll."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.events: Counter[str] = Counter()
        self.stalls_ms: list[float] = []  # lag_ms of each loop.stalled line, in order
        self._offset = 0
        self._partial = b""

    def poll(self) -> Counter[str]:
        """Read new lines; returns the counts of every event name seen so far."""
        if not self.path.exists():
            return self.events
        with self.path.open("rb") as log:
            log.seek(self._offset)
            chunk = log.read()
        self._offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("event"), str):
                self.events[record["event"]] += 1
                if record["event"] == "loop.stalled":
                    self.stalls_ms.append(float(record.get("lag_ms", 0)))
        return self.events


class BotGroup:
    """One or more replicas of the bot on the same Redis (Slack spreads events among them)."""

    def __init__(self, processes: list[BotProcess]) -> None:
        self.processes = processes
        self.watchers = [LogWatcher(p.log_path) for p in processes]

    async def start(self, slack: FakeSlack) -> None:
        """Start every replica, one after another, each until it is connected."""
        for process in self.processes:
            await process.start(slack)

    async def stop(self) -> None:
        """Stop every replica."""
        await asyncio.gather(*(p.stop() for p in self.processes))

    @property
    def running(self) -> bool:
        """True while every replica is alive."""
        return all(p.running for p in self.processes)

    def cpu_seconds(self) -> float:
        """CPU seconds of all replicas together."""
        return sum(p.cpu_seconds() for p in self.processes)

    def peak_rss_bytes(self) -> int:
        """The replicas' peak RSS, added up."""
        return sum(p.peak_rss_bytes() for p in self.processes)

    def events(self) -> Counter[str]:
        """Log event counts of all replicas (reads what was appended since the last call)."""
        total: Counter[str] = Counter()
        for watcher in self.watchers:
            total.update(watcher.poll())
        return total

    async def lag_buckets(self) -> list[Buckets]:
        """Each replica's event-loop lag histogram, as scraped now."""
        return [await scrape_lag(p.metrics_port) for p in self.processes]

    def stall_marks(self) -> list[int]:
        """How many stalls each replica has logged so far (read the log first: events())."""
        return [len(w.stalls_ms) for w in self.watchers]

    def stalls_since(self, marks: list[int]) -> list[float]:
        """The stalls (ms) logged after stall_marks() gave `marks`."""
        pairs = zip(self.watchers, marks, strict=True)
        return [ms for watcher, mark in pairs for ms in watcher.stalls_ms[mark:]]

    def log_tail(self) -> str:
        """The end of the output of a replica that died, else of the first one."""
        dead = [p for p in self.processes if not p.running]
        return (dead or self.processes)[0].log_tail()
