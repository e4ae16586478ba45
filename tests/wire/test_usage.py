"""Cost you can see and control, end to end: the ledger, budgets, /claude-usage, /metrics and
/healthz, and the cache breakpoints of a thread's second turn — the real bot process, the fake
Slack, the fake Claude (which models the prompt cache and reports usage), a real Redis."""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.claude.catalog import CATALOG
from bot.claude.cost import call_cost_usd
from bot.conversation.messages import Usage
from bot.storage.connect import RedisClient, connect_url
from bot.usage.ledger import RedisLedger
from bot.usage.records import to_nanos
from bot.usage.spend_limits import money
from testing.fakes.claude_server import FakeClaude, TextReply
from testing.fakes.slack_server import FakeSlack, SlackRateLimits
from testing.harness import (
    ROOT,
    BotProcess,
    mention,
    recent_ledger_records,
    seed_spend,
    wait_for_final,
)
from tests.wire.conftest import CHANNEL, DM, OTHER_USER, USER, BotFactory

SONNET = "claude-sonnet-5-5"
# Long enough to pass Sonnet 5.5's 512-token cache minimum on the first turn.
LONG = "Here is our incident write-up. " + "The cache warmed slowly after the deploy. " * 150


async def _ledger(redis_url: str) -> tuple[RedisClient, RedisLedger]:
    client = connect_url(redis_url)
    return client, RedisLedger(client)


async def _records(redis_url: str, team: str) -> list[dict[str, str]]:
    """The ledger's call records of the last two UTC days, oldest first."""
    return await recent_ledger_records(redis_url, team)


async def _seed_spend(redis_url: str, team: str, user: str, usd: float) -> None:
    """Put an earlier call of `usd` by `user` in the general channel into today's ledger."""
    await seed_spend(redis_url, team, CHANNEL, user, usd, SONNET)


def _fake_usage(reported: dict[str, Any]) -> Usage:
    creation = reported["cache_creation"]
    return Usage(
        input_tokens=reported["input_tokens"],
        output_tokens=reported["output_tokens"],
        cache_read_tokens=reported["cache_read_input_tokens"],
        cache_write_5m_tokens=creation["ephemeral_5m_input_tokens"],
        cache_write_1h_tokens=creation["ephemeral_1h_input_tokens"],
    )


async def _final_containing(slack: FakeSlack, channel: str, thread_ts: str, text: str) -> str:
    """Wait until the bot's reply in the thread shows `text`; return that reply."""

    def found() -> bool:
        return any(text in m.visible_text for m in slack.bot_replies(channel, thread_ts))

    await slack.wait_for(found, timeout=20)
    return next(
        m.visible_text for m in slack.bot_replies(channel, thread_ts) if text in m.visible_text
    )


async def test_ledger_records_match_the_usage_claude_reported(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """Each Claude call adds one ledger record: workspace, channel, user, feature, model, the
    tokens by kind exactly as the fake Claude reported them, and the cost at catalog prices."""
    claude.enqueue(TextReply("One."), TextReply("Two."), TextReply("Three."))
    root = await mention(slack, CHANNEL, USER, LONG)
    await wait_for_final(slack, CHANNEL, root.ts, "One.")
    await mention(slack, CHANNEL, USER, "And then?", thread_ts=root.ts)
    await wait_for_final(slack, CHANNEL, root.ts, "Two.")
    await slack.user_message(DM, USER, "hello in private")
    await wait_for_final(slack, DM, None, "Three.")
    records = await _records(redis_url, slack.ids.team_id)
    requests = claude.message_requests()
    assert len(records) == len(requests) == 3
    assert [r["feature"] for r in records] == ["mention", "mention", "dm"]
    assert [r["channel"] for r in records] == [CHANNEL, CHANNEL, DM]
    for record, request in zip(records, requests, strict=True):
        assert request.usage is not None
        usage = _fake_usage(request.usage)
        assert record["team"] == slack.ids.team_id
        assert record["user"] == USER
        assert record["model"] == SONNET
        assert record["request_id"] == request.request_id
        assert int(record["input"]) == usage.input_tokens
        assert int(record["cache_write_5m"]) == usage.cache_write_5m_tokens
        assert int(record["cache_write_1h"]) == usage.cache_write_1h_tokens
        assert int(record["cache_read"]) == usage.cache_read_tokens
        assert int(record["output"]) == usage.output_tokens
        expected = call_cost_usd(CATALOG[SONNET], usage)
        assert int(record["cost_nanos"]) == to_nanos(expected)
    assert int(records[1]["cache_read"]) > 0, "the follow-up read the thread from the cache"


def _marks(body: dict[str, Any]) -> list[tuple[int, int]]:
    """(message, block) of every message block carrying cache_control."""
    return [
        (m, b)
        for m, message in enumerate(body["messages"])
        for b, block in enumerate(message["content"])
        if isinstance(block, dict) and "cache_control" in block
    ]


async def test_second_turn_has_its_breakpoint_where_the_first_request_ended(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """Turn 1 marks the end of its request; turn 2 marks that same block (so the cache entry
    turn 1 wrote is hit exactly) and its own end; turn 2 reads all of turn 1's prompt."""
    claude.enqueue(TextReply("First."), TextReply("Second."))
    root = await mention(slack, CHANNEL, USER, LONG)
    await wait_for_final(slack, CHANNEL, root.ts, "First.")
    await mention(slack, CHANNEL, USER, "What failed first?", thread_ts=root.ts)
    await wait_for_final(slack, CHANNEL, root.ts, "Second.")
    first, second = claude.message_requests()
    assert _marks(first.body) == [(0, 0)]
    assert _marks(second.body) == [(0, 0), (2, 0)]
    assert second.body["messages"][0] == first.body["messages"][0]
    assert first.usage is not None
    assert second.usage is not None
    written = first.usage["cache_creation_input_tokens"]
    assert written > 0
    assert second.usage["cache_read_input_tokens"] == written
    prompt = _fake_usage(second.usage).prompt_tokens
    assert second.usage["cache_read_input_tokens"] / prompt >= 0.8


async def test_over_budget_user_is_refused_before_claude_is_called(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """A user whose spend today reached BOT_BUDGET_USER_DAILY_USD gets a polite refusal with
    the reset time; Claude is not called and nothing new is recorded."""
    await bot_factory(BOT_BUDGET_USER_DAILY_USD="0.05").start()
    await _seed_spend(redis_url, slack.ids.team_id, USER, 0.06)
    delivery = await mention(slack, CHANNEL, USER, "One more question?")
    text = await _final_containing(slack, CHANNEL, delivery.ts, "is used up")
    assert "your daily Claude budget ($0.05)" in text
    assert "resets at 00:00 UTC, in" in text
    assert claude.message_requests() == []
    assert len(await _records(redis_url, slack.ids.team_id)) == 1, "only the seeded call"


async def test_channel_budget_refuses_everyone_there_but_admins(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """Over the channel's monthly budget anyone is refused, with the first of next month as
    the reset; an admin (BOT_ADMIN_USERS) is exempt and answered."""
    env = {"BOT_BUDGET_CHANNEL_MONTHLY_USD": "0.05", "BOT_ADMIN_USERS": OTHER_USER}
    await bot_factory(**env).start()
    await _seed_spend(redis_url, slack.ids.team_id, USER, 0.06)
    refused = await mention(slack, CHANNEL, USER, "Still there?")
    text = await _final_containing(slack, CHANNEL, refused.ts, "is used up")
    assert "this channel's monthly Claude budget ($0.05)" in text
    assert " at 00:00 UTC" in text
    assert claude.message_requests() == []
    claude.enqueue(TextReply("Admins may."))
    admin = await mention(slack, CHANNEL, OTHER_USER, "Admin question")
    await wait_for_final(slack, CHANNEL, admin.ts, "Admins may.")
    assert len(claude.message_requests()) == 1


async def test_budget_warning_from_80_percent(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """At 85 % of the daily budget the answer comes, with a warning under it."""
    await bot_factory(BOT_BUDGET_USER_DAILY_USD="1.00").start()
    await _seed_spend(redis_url, slack.ids.team_id, USER, 0.85)
    claude.enqueue(TextReply("Here you go."))
    delivery = await mention(slack, CHANNEL, USER, "Another one")
    text = await _final_containing(slack, CHANNEL, delivery.ts, "% used")
    assert text.startswith("Here you go.\n\n_Sonnet 5.5 · ")
    assert "Your daily Claude budget is 85 % used ($0.85 of $1.00)" in text


async def test_claude_usage_shows_the_ledgers_numbers(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """/claude-usage answers ephemerally with the caller's spend today and this month (the sum
    of the calls at catalog prices), their budget and cache savings; an admin also sees the
    top channels, people and models; someone who asked nothing sees zero."""
    await bot_factory(BOT_BUDGET_USER_DAILY_USD="5", BOT_ADMIN_USERS=USER).start()
    claude.enqueue(TextReply("One."), TextReply("Two."))
    root = await mention(slack, CHANNEL, USER, LONG)
    await wait_for_final(slack, CHANNEL, root.ts, "One.")
    await mention(slack, CHANNEL, USER, "And?", thread_ts=root.ts)
    await wait_for_final(slack, CHANNEL, root.ts, "Two.")
    usages = [_fake_usage(r.usage or {}) for r in claude.message_requests()]
    spent = sum(to_nanos(call_cost_usd(CATALOG[SONNET], u)) for u in usages) / 1e9
    ack = await slack.wait_ack(
        await slack.slash_command("/claude-usage", "", user=USER, channel=CHANNEL)
    )
    assert ack.payload is not None
    assert ack.payload["response_type"] == "ephemeral"
    blocks = repr(ack.payload["blocks"])
    assert f"*Today*\\n{money(spent)} · 2 calls" in blocks
    assert f"*This month*\\n{money(spent)} · 2 calls" in blocks
    assert "saved this month" in blocks
    assert "No limit (you are a bot admin)." in blocks
    assert f"1. <#{CHANNEL}> {money(spent)}" in blocks
    assert f"1. <@{USER}> {money(spent)}" in blocks
    assert f"1. `{SONNET}` {money(spent)}" in blocks
    other = await slack.wait_ack(
        await slack.slash_command("/claude-usage", "", user=OTHER_USER, channel=CHANNEL)
    )
    assert other.payload is not None
    other_blocks = repr(other.payload["blocks"])
    assert "*Today*\\n$0.00 · 0 calls" in other_blocks
    assert "$0.00 of $5.00 (0 %)" in other_blocks
    assert "admins only" not in other_blocks


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def _healthcheck(bot: BotProcess) -> int:
    """Exit code of `python -m bot healthcheck` run with the bot's environment."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "healthcheck", cwd=str(ROOT), env=bot.environment()
    )
    return await process.wait()


async def test_metrics_and_healthz_after_a_conversation(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """With BOT_METRICS_PORT set: /metrics has the call's request, tokens, cost, cache ratio,
    answer timings and the event loop's lag; /healthz is 200 with Slack, Redis and every
    background loop up; the health check command uses it and fails once the bot is gone."""
    port = _free_port()
    bot = bot_factory(BOT_METRICS_PORT=str(port))
    await bot.start()
    claude.enqueue(TextReply("Measured."))
    delivery = await mention(slack, CHANNEL, USER, "Count this")
    await wait_for_final(slack, CHANNEL, delivery.ts, "Measured.")
    reported = _fake_usage(claude.message_requests()[0].usage or {})
    base = f"http://127.0.0.1:{port}"
    model = ("model", SONNET)
    async with aiohttp.ClientSession() as http:
        samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        for _ in range(50):  # the answer's timing is observed just after its final edit
            async with http.get(f"{base}/metrics") as response:
                assert response.status == 200
                samples = _samples(await response.text())
            lag_samples = samples.get(("csb_event_loop_lag_seconds_count", frozenset()), 0)
            if (
                "csb_answer_seconds_count",
                frozenset({("feature", "mention")}),
            ) in samples and lag_samples > 0:
                break
            await asyncio.sleep(0.1)
        key = frozenset({("feature", "mention"), model})
        assert samples[("csb_claude_requests_total", key)] == 1
        assert samples[("csb_claude_cost_usd_total", key)] == pytest.approx(
            call_cost_usd(CATALOG[SONNET], reported)
        )
        output = ("csb_claude_tokens_total", frozenset({("kind", "output"), model}))
        assert samples[output] == reported.output_tokens
        assert ("csb_claude_cache_read_ratio", frozenset()) in samples
        assert samples[("csb_answer_seconds_count", frozenset({("feature", "mention")}))] == 1
        first = ("csb_answer_first_visible_seconds_count", frozenset({("feature", "mention")}))
        assert samples[first] == 1
        assert samples[("csb_answers_in_flight", frozenset())] == 0
        assert samples[("csb_event_loop_lag_seconds_count", frozenset())] > 0
        async with http.get(f"{base}/healthz") as response:
            assert response.status == 200
            assert await response.json() == {
                "healthy": True,
                "checks": {"slack": True, "redis": True, "loops": True},
            }
    assert await _healthcheck(bot) == 0
    await bot.stop()
    assert await _healthcheck(bot) == 1


async def test_health_check_falls_back_to_the_heartbeat_without_metrics(
    bot: BotProcess,
) -> None:
    """Without BOT_METRICS_PORT the health check reads the heartbeat file, as before."""
    await bot.wait_for_log("bot.ready")
    for _ in range(10):
        if await _healthcheck(bot) == 0:
            return
        await asyncio.sleep(0.5)
    pytest.fail("the heartbeat never made the health check pass")


@pytest.mark.parametrize(
    "slack", [SlackRateLimits(update_per_minute=20, update_burst=1)], indirect=True
)
async def test_metrics_count_slack_429s_by_method(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """Every 429 Slack answers is counted under its method, exactly as often as the fake sent
    one."""
    port = _free_port()
    await bot_factory(BOT_METRICS_PORT=str(port), BOT_EDIT_INTERVAL_SECONDS="0.05").start()
    answer = " ".join(f"word{i}" for i in range(120))
    claude.enqueue(TextReply(answer, tokens_per_second=100))
    delivery = await mention(slack, CHANNEL, USER, "many words please")
    await wait_for_final(slack, CHANNEL, delivery.ts, "word119", timeout=30)
    assert slack.rate_limited, "the test should have provoked 429s"
    sent: dict[str, int] = {}
    for call in slack.rate_limited:
        sent[call.method] = sent.get(call.method, 0) + 1
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        samples = _samples(await response.text())
    counted = {
        dict(labels)["method"]: value
        for (name, labels), value in samples.items()
        if name == "csb_slack_rate_limited_total"
    }
    assert counted == sent
