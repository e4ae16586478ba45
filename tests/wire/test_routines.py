"""Routines through the real bot processes: /claude-routine, one run across two replicas, a
restart in between, and a routine that stops when its owner loses access."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from testing.fakes.claude_server import FakeClaude, TextReply
from testing.fakes.slack_server import FakeSlack
from testing.harness import recent_ledger_records, wait_for_final
from tests.wire.conftest import CHANNEL, DM, USER, BotFactory

LONDON = ZoneInfo("Europe/London")  # the fake's users.info tz


def at(seconds: float) -> str:
    """A time of day `seconds` from now, in the owner's timezone: "every day at <this>"."""
    moment = datetime.now(LONDON) + timedelta(seconds=seconds)
    return f"{moment:%H:%M:%S}"


async def create(slack: FakeSlack, text: str, channel: str = CHANNEL) -> str:
    """Run /claude-routine; return what the bot answered (ephemeral)."""
    before = len(slack.response_url_posts)
    await slack.slash_command("/claude-routine", text, user=USER, channel=channel)
    await slack.wait_for(lambda: len(slack.response_url_posts) > before, timeout=15)
    return str(slack.response_url_posts[-1]["body"].get("text"))


def roots(slack: FakeSlack) -> list[str]:
    """The ts of every routine post in the channel."""
    return [
        m.ts
        for m in slack.bot_replies(CHANNEL, None)
        if "Routine `" in m.visible_text and m.thread_ts is None
    ]


async def test_a_routine_fires_once_across_two_replicas(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """Two replicas share Redis; the routine's occurrence is posted and answered once, by
    whichever leads, with feature `routine` in the usage ledger."""
    for _ in range(2):
        await bot_factory().start()
    claude.enqueue(TextReply("Status: all systems normal."))
    reply = await create(slack, f"every day at {at(6)} ask: give the status report")
    assert "set:" in reply
    await slack.wait_for(lambda: len(roots(slack)) == 1, timeout=30)
    (root,) = roots(slack)
    await wait_for_final(slack, CHANNEL, root, "all systems normal", timeout=30)
    await asyncio.sleep(4)  # the other replica had every chance to run it too
    assert len(roots(slack)) == 1
    assert len(claude.message_requests()) == 1
    records = await recent_ledger_records(redis_url, slack.ids.team_id)
    assert [r.get("feature") for r in records] == ["routine"]


async def test_a_routine_survives_a_restart_and_runs_late_once(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """Created on one process that stops before it is due; a process started after its time
    runs it once, late."""
    first = bot_factory()
    await first.start()
    assert "set:" in await create(slack, f"every day at {at(3)} ask: morning digest")
    await first.stop()
    await asyncio.sleep(5)  # the occurrence passes while no bot runs
    claude.enqueue(TextReply("Digest: nothing new."))
    await bot_factory().start()
    await slack.wait_for(lambda: len(roots(slack)) == 1, timeout=30)
    await wait_for_final(slack, CHANNEL, roots(slack)[0], "nothing new", timeout=30)
    await asyncio.sleep(3)
    assert len(roots(slack)) == 1


async def test_a_routine_stops_when_its_owner_loses_access(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """Ana's routine summarises a private channel; she is removed from it before it runs: it
    posts nothing, calls no model, is deleted, and she is told why in her DM."""
    slack.add_channel("G0OPS", "ops", members={USER, slack.ids.bot_user_id}, is_private=True)
    slack.post_as("G0OPS", USER, "Private ops note: rotate the keys")
    await bot_factory().start()
    reply = await create(slack, f"every day at {at(6)} summarise <#G0OPS|ops> into this channel")
    assert "set:" in reply
    slack.remove_member("G0OPS", USER)
    await slack.wait_for(
        lambda: any("stopped" in m.visible_text for m in slack.bot_replies(DM, None)), timeout=30
    )
    told = next(m.visible_text for m in slack.bot_replies(DM, None) if "stopped" in m.visible_text)
    assert "private to its members" in told
    assert roots(slack) == []
    assert claude.message_requests() == []
    listing = await create(slack, "list")
    assert "no routines" in listing
