"""Runs the real `python -m bot` process against the fake Slack and fake Claude."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bot.conversation.messages import Usage
from bot.storage.connect import close_redis, connect_url
from bot.usage.ledger import RedisLedger
from bot.usage.ledger_keys import last_days
from bot.usage.records import CallRecord, to_nanos
from testing.fakes.claude_server import FakeClaude
from testing.fakes.slack_models import StoredMessage
from testing.fakes.slack_server import FakeSlack

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class BotProcess:
    """One bot process; its stderr (JSON logs) goes to a file the test can read."""

    slack: FakeSlack
    claude: FakeClaude
    log_path: Path
    redis_url: str | None = None
    data_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    process: asyncio.subprocess.Process | None = None

    def environment(self) -> dict[str, str]:
        """The bot's environment: the fakes' URLs and tokens, JSON logs, nothing inherited."""
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": self.slack.ids.bot_token,
            "SLACK_APP_TOKEN": self.slack.ids.app_token,
            "SLACK_API_URL": self.slack.api_url,
            "SLACK_SIGNING_SECRET": self.slack.signing_secret,  # HTTP mode checks it
            "SLACK_FILE_HOSTS": "127.0.0.1",  # the fake Slack; "localhost" plays a foreign host
            "ANTHROPIC_API_KEY": self.claude.api_key,
            "ANTHROPIC_BASE_URL": self.claude.url,
            "BOT_LOG_FORMAT": "json",
            "BOT_LOG_LEVEL": "DEBUG",
            "BOT_CLAUDE_MAX_RETRIES": "1",
        }
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        if self.data_dir:
            env["BOT_DATA_DIR"] = str(self.data_dir)
        env.update(self.extra_env)
        return env

    async def launch(self) -> None:
        """Start the process, without waiting for anything."""
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                cwd=str(ROOT),
                env=self.environment(),
                stdout=log,
                stderr=log,
            )

    @property
    def http_url(self) -> str | None:
        """HTTP mode (BOT_MODE=http): the bot's own base URL; None in Socket Mode."""
        if self.extra_env.get("BOT_MODE") != "http":
            return None
        return f"http://127.0.0.1:{self.extra_env['PORT']}"

    async def start(self) -> None:
        """Start the process and wait until it is connected over Socket Mode (HTTP mode: until
        its /healthz answers, on BOT_METRICS_PORT when set)."""
        before = self.slack.connection_count
        await self.launch()
        assert self.process is not None
        deadline = asyncio.get_running_loop().time() + 30
        while not await self._ready(before):
            if self.process.returncode is not None:
                raise RuntimeError(f"bot exited early:\n{self.log_text()[-3000:]}")
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"bot did not connect:\n{self.log_text()[-3000:]}")
            await asyncio.sleep(0.02)

    async def _ready(self, connections_before: int) -> bool:
        if self.http_url is None:
            return self.slack.connection_count > connections_before
        monitor = self.extra_env.get("BOT_METRICS_PORT")
        health = f"http://127.0.0.1:{monitor}" if monitor else self.http_url
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{health}/healthz") as response,
            ):
                return response.status == 200
        except aiohttp.ClientError:
            return False

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Signal the process and wait for it to exit; returns its exit code."""
        if self.process is None or self.process.returncode is not None:
            return self.process.returncode if self.process and self.process.returncode else 0
        self.process.send_signal(sig)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()

    def log_text(self) -> str:
        """Everything the process wrote so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def wait_for_log(self, event: str, timeout: float = 10) -> dict[str, Any]:
        """Wait for a JSON log line with this event name and return it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for line in self.log_events():
                if line.get("event") == event:
                    return line
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"no {event!r} log line:\n{self.log_text()[-3000:]}")
            await asyncio.sleep(0.02)

    def log_events(self) -> list[dict[str, Any]]:
        """The JSON log lines, parsed (non-JSON lines are skipped)."""
        events = []
        for line in self.log_text().splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
        return events


def free_port() -> int:
    """A TCP port nobody listens on now (for a bot's PORT)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def mention(
    slack: FakeSlack, channel: str, user: str, text: str, thread_ts: str | None = None
) -> Any:
    """A user mentions the bot; returns the fake's Delivery."""
    return await slack.user_message(
        channel, user, f"<@{slack.ids.bot_user_id}> {text}", thread_ts=thread_ts
    )


async def wait_for_final(
    slack: FakeSlack, channel: str, thread_ts: str | None, contains: str, timeout: float = 20
) -> str:
    """Wait until the bot's answer in the thread is final (its last message ends the way only a
    final message does, and a native stream showing it has been stopped) and contains the text;
    return the answer's messages, joined."""

    def replies() -> list[StoredMessage]:  # a file the bot posted is not part of the answer
        return [m for m in slack.bot_replies(channel, thread_ts) if m.visible_text or not m.files]

    def joined() -> str:
        return "\n".join(m.visible_text for m in replies())

    def done() -> bool:
        replies_now = replies()
        text = joined()
        if not replies_now or replies_now[-1].streaming:
            return False
        return contains in text and is_final(replies_now[-1].visible_text)

    await slack.wait_for(done, timeout=timeout)
    return joined()


FINAL_ENDINGS = re.compile(
    r"(· \d+\.\d s( · [^_\n]+)?_|:warning: [^\n]*"
    r"|My next answers here will use it\.|continue the conversation\.)$"
)


def is_final(text: str) -> bool:
    """True for text only a finished answer shows: the footer, a warning, or a fixed reply."""
    return bool(FINAL_ENDINGS.search(text.strip()))


async def recent_ledger_records(redis_url: str, team: str) -> list[dict[str, str]]:
    """The usage ledger's call records of the last two UTC days, oldest first."""
    client = connect_url(redis_url)
    try:
        ledger = RedisLedger(client)
        days = reversed(last_days(datetime.now(UTC), 2))
        return [r for day in days for r in await ledger.records(team, day)]
    finally:
        await close_redis(client)


async def seed_spend(
    redis_url: str, team: str, channel: str, user: str, usd: float, model: str
) -> None:
    """An earlier call of `usd` by `user` in `channel` today, put in the usage ledger."""
    record = CallRecord(
        team=team,
        channel=channel,
        user=user,
        feature="mention",
        model=model,
        usage=Usage(1000, 100),
        cost_nanos=to_nanos(usd),
        uncached_nanos=to_nanos(usd),
        priced=True,
        at=datetime.now(UTC),
    )
    client = connect_url(redis_url)
    try:
        await RedisLedger(client).add(record)
    finally:
        await close_redis(client)


async def run_to_exit(env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    """Run `python -m bot` with `env` until it exits (e.g. refusing to start): its exit code
    and everything it printed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=str(ROOT),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode or 0, output.decode()
