"""Histories that stay bounded, end to end: a thread of screenshots keeps being answered as its
oldest images drop out (files count their real token cost), and its stored history is trimmed
to what a window can send — the real bot process, the fake Slack and Claude (which refuses a
prompt over its context with the real API's "prompt is too long"), a real Redis."""

from __future__ import annotations

import json

from bot.storage.connect import close_redis, connect_url
from testing.fakes.claude_server import FakeClaude
from testing.fakes.slack_server import FakeSlack
from testing.harness import wait_for_final
from tests import samples
from tests.wire.conftest import CHANNEL, BotFactory
from tests.wire.test_files import PNG_FILE, share

# A 1095 px square costs 1,599 tokens (w × h / 750); the fake counts a file image as 1,600.
SIDE = 1095
TURNS = 6


async def test_a_thread_of_screenshots_keeps_being_answered_as_old_ones_drop_out(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """Six turns, one screenshot each, in a thread whose requests may carry 6,000 input
    tokens (the fake model takes 8,000): every turn is answered, the ones that no longer see
    the oldest images say so, no request is over the limit, and the stored history holds only
    what a window can send."""
    await bot_factory(BOT_MAX_INPUT_TOKENS="6000").start()
    claude.context_limit = 8000
    image = samples.png(SIDE, SIDE)
    thread = await share(slack, "what is in picture 0?", [slack.add_file(PNG_FILE, image)])
    await wait_for_final(slack, CHANNEL, thread, "picture 0")
    for n in range(1, TURNS):
        await share(slack, f"what is in picture {n}?", [slack.add_file(PNG_FILE, image)], thread)
        await wait_for_final(slack, CHANNEL, thread, f"picture {n}?")
    requests = claude.message_requests()
    assert [r.status for r in requests] == [200] * TURNS, "never 'prompt is too long'"
    shown = [m.visible_text for m in slack.bot_replies(CHANNEL, thread)]
    assert any(":scissors: This thread outgrew what I can read at once" in t for t in shown)
    images = [
        sum(b.get("type") == "image" for m in r.body["messages"] for b in m["content"])
        for r in requests
    ]
    assert images[:3] == [1, 2, 3]
    assert max(images) == 3
    client = connect_url(redis_url)
    try:
        key = f"csb:v1:{{{slack.ids.team_id}:{CHANNEL}:{thread}}}:history"
        stored = [json.loads(item) for item in await client.lrange(key, 0, -1)]
        trimmed = await client.hget(key.replace(":history", ":meta"), "trimmed")
    finally:
        await close_redis(client)
    assert stored[0]["role"] == "user"
    assert all(m.get("media_tokens") == 1599 for m in stored if m["role"] == "user")
    assert len(stored) < 2 * TURNS
    assert int(trimmed or 0) == 2 * TURNS - len(stored)
