"""Fixtures for wire-level tests: a real Redis-protocol server, the fakes, the bot process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from testing.fakes.claude_server import FakeClaude
from testing.fakes.slack_server import FakeSlack
from testing.harness import BotProcess

USER = "U0ANA"
OTHER_USER = "U0BOB"
CHANNEL = "C0GENERAL"
DM = "D0ANA"


@pytest.fixture
async def slack(request: pytest.FixtureRequest) -> AsyncIterator[FakeSlack]:
    """A fake Slack workspace (unique team id per test) with a channel, two people and a DM.

    Parametrize indirectly with a SlackRateLimits to change Slack's rate limits for a test."""
    limits = getattr(request, "param", None)
    fake = FakeSlack(team_id=f"T{uuid.uuid4().hex[:8].upper()}", rate_limits=limits)
    fake.add_user(USER, "ana", "Ana Lima")
    fake.add_user(OTHER_USER, "bob", "Bob Stone")
    fake.add_channel(CHANNEL, "general", members={USER, OTHER_USER, fake.ids.bot_user_id})
    fake.add_im(DM, USER)
    await fake.start()
    yield fake
    await fake.stop()
    assert fake.violations == [], "the bot called Slack in a way the real API would not accept"
    assert fake.broadcasts == [], "the bot posted a mention that notifies a whole channel"


@pytest.fixture
async def claude() -> AsyncIterator[FakeClaude]:
    """A fake Claude API."""
    fake = FakeClaude()
    await fake.start()
    yield fake
    await fake.stop()


BotFactory = Callable[..., BotProcess]


@pytest.fixture(scope="session")
def rule_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A directory with Kingfisher's compiled rules (/ask-code's secret scan), compiled here once
    per machine, so no bot compiles them (seconds of CPU) while a test waits for its answer."""
    from kingfisher_sdk import Rules

    cache = tmp_path_factory.getbasetemp().parent / "kingfisher-rules"
    cache.mkdir(mode=0o700, exist_ok=True)
    Rules(confidence="low", cache_dir=cache)
    return str(cache)


@pytest.fixture
async def bot_factory(
    slack: FakeSlack, claude: FakeClaude, redis_url: str, tmp_path: Path, rule_cache: str
) -> AsyncIterator[BotFactory]:
    """Makes bot processes (started by the test); all are stopped at the end."""
    made: list[BotProcess] = []

    def make(*, embedded: bool = False, **env: str) -> BotProcess:
        process = BotProcess(
            slack=slack,
            claude=claude,
            log_path=tmp_path / f"bot-{len(made)}.log",
            redis_url=None if embedded else redis_url,
            data_dir=tmp_path / "data",
            extra_env={"KF_RULE_CACHE_DIR": rule_cache, **env},
        )
        made.append(process)
        return process

    yield make
    for process in made:
        await process.stop()


@pytest.fixture
async def bot(bot_factory: BotFactory) -> BotProcess:
    """One running bot on the shared Redis."""
    process = bot_factory()
    await process.start()
    return process
