"""Slack as knowledge through the real bot process: search_slack with the asker's action token,
read_channel's membership rule, summaries that cite real permalinks."""

from __future__ import annotations

import json
from typing import Any

from testing.fakes.claude_script_tools import CallTool, Say, ToolTurn
from testing.fakes.claude_server import FakeClaude, TextReply
from testing.fakes.slack_server import FakeSlack
from testing.fakes.slack_surfaces import message_shortcut
from testing.harness import mention, wait_for_final
from tests.wire.conftest import CHANNEL, OTHER_USER, USER, BotFactory

PRIVATE = "G0SECRET"
SECRET_TEXT = "The acquisition price is 91 million"


def tool_results(claude: FakeClaude) -> list[dict[str, Any]]:
    """Every tool_result the bot sent Claude."""
    return [
        block
        for request in claude.message_requests()
        for message in request.body["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]


def sent(claude: FakeClaude) -> str:
    """Everything the bot sent Claude."""
    return json.dumps([r.body for r in claude.message_requests()])


def world(slack: FakeSlack) -> str:
    """A public decision in #general and a private channel Bob is in and Ana is not."""
    decision = slack.post_as(CHANNEL, OTHER_USER, "Decision: the launch moves to Tuesday")
    slack.add_channel(
        PRIVATE, "deal-room", members={OTHER_USER, slack.ids.bot_user_id}, is_private=True
    )
    slack.post_as(PRIVATE, OTHER_USER, SECRET_TEXT, thread_ts=None)
    return decision


async def test_search_runs_as_the_asker_and_cites_permalinks(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A mention's search_slack call goes to assistant.search.context with that mention's
    action token; Claude gets the public decision with its real permalink and nothing of a
    private channel; the answer cites the permalink."""
    decision = world(slack)
    link = slack.permalink(CHANNEL, decision)
    await bot_factory().start()
    claude.enqueue(
        ToolTurn([Say("Searching."), CallTool("search_slack", {"query": "launch acquisition"})]),
        TextReply(f"The launch moves to Tuesday (<{link}|source>)."),
    )
    delivery = await mention(slack, CHANNEL, USER, "what did we decide about the launch?")
    final = await wait_for_final(slack, CHANNEL, delivery.ts, "moves to Tuesday")
    (search,) = slack.calls_to("assistant.search.context")
    assert search.args["action_token"] == delivery.event["action_token"]
    (result,) = tool_results(claude)
    assert link in json.dumps(result)
    everything = sent(claude)
    at = everything.find(SECRET_TEXT)
    assert at < 0, everything[max(0, at - 600) : at + 100]
    assert link in final


async def test_a_private_channel_never_reaches_a_non_member(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """Ana asks Claude to read a private channel she is not in: the tool refuses, none of its
    messages reach Claude or the thread; other threads are answered meanwhile."""
    world(slack)
    await bot_factory().start()
    claude.enqueue(
        ToolTurn([CallTool("read_channel", {"channel": f"<#{PRIVATE}|deal-room>"})]),
        TextReply("That channel is private to its members, so I can't read it for you."),
    )
    delivery = await mention(slack, CHANNEL, USER, f"summarise <#{PRIVATE}|deal-room>")
    final = await wait_for_final(slack, CHANNEL, delivery.ts, "private to its members")
    (result,) = tool_results(claude)
    assert result["is_error"] is True
    assert "private to its members" in json.dumps(result)
    assert SECRET_TEXT not in sent(claude)
    assert SECRET_TEXT not in final
    assert not slack.calls_to("conversations.history")


async def test_summarise_shortcut_posts_a_summary_citing_real_permalinks(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """The Summarise thread shortcut on a thread's message starts an answer in that thread
    (no action token: search says why it can't run); read_channel gives Claude every message
    with the permalink chat.getPermalink gives, and the summary cites them."""
    root = slack.post_as(CHANNEL, USER, "Launch plan: ship Tuesday?")
    reply = slack.post_as(CHANNEL, OTHER_USER, "Agreed, I own the release notes", thread_ts=root)
    root_link, reply_link = slack.permalink(CHANNEL, root), slack.permalink(CHANNEL, reply)
    await bot_factory().start()
    claude.enqueue(
        ToolTurn([CallTool("read_channel", {"channel": CHANNEL, "thread_ts": root})]),
        TextReply(
            f"*Decisions*\n• Ship Tuesday <{root_link}|source>\n"
            f"*Owners*\n• Bob: release notes <{reply_link}|source>"
        ),
    )
    await message_shortcut(slack, "summarise_thread", CHANNEL, reply, USER)
    final = await wait_for_final(slack, CHANNEL, root, "*Decisions*")
    first = claude.message_requests()[0].body
    asked = json.dumps(first["messages"][-1])
    assert "read_channel" in asked
    assert root in asked
    (result,) = tool_results(claude)
    text = json.dumps(result)
    assert root_link in text
    assert reply_link.replace("&", "\\u0026") in text or reply_link in text
    assert root_link in final
    assert reply_link in final
