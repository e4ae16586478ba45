"""Memory end to end through the real bot: Anthropic's memory tool run by the bot over Redis,
offered per channel and per person (split by privacy), /claude-memory with its Forget buttons,
against the strict fake Claude (which checks the tool's type and every call's shape)."""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as redis

from testing.fakes.claude_script_tools import CallTool, ToolTurn
from testing.fakes.claude_server import FakeClaude, TextReply
from testing.fakes.slack_server import FakeSlack
from testing.fakes.slack_surfaces import click_ephemeral_button
from testing.harness import mention, wait_for_final
from tests.wire.conftest import CHANNEL, DM, OTHER_USER, USER, BotFactory

OTHER_CHANNEL = "C0RANDOM"
PRIVATE = "C0SECRET"
MEMORY_TOOL = {"type": "memory_20250818", "name": "memory"}


def tool_results(claude: FakeClaude, request: int) -> list[dict[str, Any]]:
    """The tool_result blocks of the last user message of a Messages request."""
    last = claude.message_requests()[request].body["messages"][-1]
    return [b for b in last["content"] if b.get("type") == "tool_result"]


def result_text(block: dict[str, Any]) -> str:
    content = block["content"]
    return content if isinstance(content, str) else json.dumps(content)


async def ask_with_memory(
    slack: FakeSlack,
    claude: FakeClaude,
    channel: str,
    text: str,
    command: dict[str, Any],
    answer: str,
    *,
    user: str = USER,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """A mention answered after one memory call; the call's tool_result."""
    claude.enqueue(ToolTurn([CallTool("memory", command)]), TextReply(answer))
    before = len(claude.message_requests())
    delivery = await mention(slack, channel, user, text, thread_ts=thread_ts)
    await wait_for_final(slack, channel, thread_ts or delivery.ts, answer)
    tools = claude.message_requests()[before].body["tools"]
    assert [tool for tool in tools if tool.get("type")] == [MEMORY_TOOL]  # Slack's tools too
    (result,) = tool_results(claude, before + 1)
    return result


def add_channels(slack: FakeSlack) -> None:
    members = {USER, OTHER_USER, slack.ids.bot_user_id}
    slack.add_channel(OTHER_CHANNEL, "random", members=members)
    slack.add_channel(PRIVATE, "secret", members=members, is_private=True)


async def test_memory_is_read_in_a_new_thread_of_the_same_channel_not_another(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A note Claude writes in one thread is read in a new thread of the same channel, and is
    not there in another channel (neither listed nor readable)."""
    add_channels(slack)
    await bot_factory(BOT_MEMORY="true").start()
    path = "/memories/channel/deploys.md"
    create = {"command": "create", "path": path, "file_text": "Deploys happen on Fridays."}
    written = await ask_with_memory(
        slack, claude, CHANNEL, "remember that deploys happen on Fridays", create, "Noted."
    )
    assert result_text(written) == f"File created successfully at: {path}"
    read = await ask_with_memory(
        slack,
        claude,
        CHANNEL,
        "when do deploys happen?",
        {"command": "view", "path": path},
        "On Fridays.",
    )
    assert "Deploys happen on Fridays." in result_text(read)
    assert not read.get("is_error")
    listing = await ask_with_memory(
        slack,
        claude,
        OTHER_CHANNEL,
        "what do you remember?",
        {"command": "view", "path": "/memories"},
        "Nothing yet.",
    )
    assert "deploys.md" not in result_text(listing)
    elsewhere = await ask_with_memory(
        slack,
        claude,
        OTHER_CHANNEL,
        "when do deploys happen?",
        {"command": "view", "path": path},
        "I don't know.",
    )
    assert elsewhere["is_error"] is True
    assert "Deploys happen" not in result_text(elsewhere)


async def test_a_private_channel_note_never_reaches_a_public_channel(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """What a person asked to be remembered in a private channel is not offered to them in a
    public channel; in their DM (private too) it is."""
    add_channels(slack)
    await bot_factory(BOT_MEMORY="true").start()
    path = "/memories/you/health.md"
    create = {"command": "create", "path": path, "file_text": "Ana is on leave in May."}
    await ask_with_memory(slack, claude, PRIVATE, "remember I'm on leave in May", create, "Noted.")
    public = await ask_with_memory(
        slack, claude, CHANNEL, "am I on leave?", {"command": "view", "path": path}, "No idea."
    )
    assert public["is_error"] is True
    assert "leave in May" not in result_text(public)
    claude.enqueue(ToolTurn([CallTool("memory", {"command": "view", "path": path})]))
    claude.enqueue(TextReply("You are on leave in May."))
    await slack.user_message(DM, USER, "am I on leave?")
    await wait_for_final(slack, DM, None, "You are on leave in May.")
    (in_dm,) = tool_results(claude, -1)
    assert "Ana is on leave in May." in result_text(in_dm)


async def test_claude_memory_lists_notes_and_forget_removes_them(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """/claude-memory lists this channel's notes and the asker's; each of their own has a Forget
    button, another person's channel note has none and a forged click on it is refused; a
    Forget click deletes the note (Claude no longer reads it) and is audited."""
    await bot_factory(BOT_MEMORY="true").start()
    mine, theirs = "/memories/channel/mine.md", "/memories/channel/theirs.md"
    for user, path in ((USER, mine), (OTHER_USER, theirs)):
        create = {"command": "create", "path": path, "file_text": f"note by {user}"}
        await ask_with_memory(
            slack, claude, CHANNEL, "remember", create, f"Noted {user}.", user=user
        )
    ack = await slack.wait_ack(
        await slack.slash_command("/claude-memory", "", user=USER, channel=CHANNEL)
    )
    assert ack.payload is not None
    blocks = ack.payload["blocks"]
    shown = json.dumps(blocks)
    assert mine in shown
    assert theirs in shown
    forgets = [b["accessory"]["value"] for b in blocks if "accessory" in b]
    assert forgets == [f"channel:{CHANNEL}:public|mine.md"]
    await slack.wait_ack(
        await click_ephemeral_button(
            slack, CHANNEL, OTHER_USER, blocks, "memory_forget", forgets[0]
        )
    )
    await slack.wait_for(lambda: len(slack.response_url_posts) >= 1)
    assert "Only <@U0ANA>" in slack.response_url_posts[-1]["body"]["text"]
    await slack.wait_ack(
        await click_ephemeral_button(slack, CHANNEL, USER, blocks, "memory_forget", forgets[0])
    )
    await slack.wait_for(lambda: len(slack.response_url_posts) >= 2)
    assert "Forgotten" in slack.response_url_posts[-1]["body"]["text"]
    gone = await ask_with_memory(
        slack, claude, CHANNEL, "what's in mine?", {"command": "view", "path": mine}, "Gone."
    )
    assert gone["is_error"] is True
    client = redis.Redis.from_url(redis_url)
    try:
        key = f"csb:v1:memory:{{{slack.ids.team_id}}}:channel:{CHANNEL}:public"
        assert set(await client.hkeys(key)) == {b"theirs.md"}
        events = await client.xrange(f"csb:v1:audit:{{{slack.ids.team_id}}}")
    finally:
        await client.aclose()
    assert [(e[b"action"], e[b"actor"]) for _, e in events] == [(b"memory.forget", b"U0ANA")]
