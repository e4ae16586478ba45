"""While a tool runs, the thread says what happens — through the real bot process against the
strict fakes: a status line in an edited answer ("Searching the web for “…”…"), task updates
in a native stream (in progress, then complete or error); a failed tool shows as failed and
the answer goes on."""

from __future__ import annotations

import json
from pathlib import Path

from testing.fakes.claude_script_tools import CallTool, Hit, Say, ToolTurn, WebSearch
from testing.fakes.claude_server import FakeClaude, TextReply
from testing.fakes.slack_chunks import task_updates
from testing.fakes.slack_server import FakeSlack
from testing.fakes.slack_surfaces import start_assistant_thread
from testing.harness import mention, wait_for_final
from testing.mcp_servers.process import stdio_entry
from tests.wire.conftest import CHANNEL, DM, USER, BotFactory

SEARCH = "Searching the web for “slack bolt python”…"
HIT = Hit("https://slack.dev/bolt-python/", "Bolt for Python")


def _mcp_config(tmp_path: Path) -> str:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"demo": stdio_entry()}}))
    return str(path)


def _edits(slack: FakeSlack, channel: str, thread_ts: str) -> list[str]:
    """Every text the answer's messages showed, in order."""
    return [text for reply in slack.bot_replies(channel, thread_ts) for _, text in reply.edits]


def _first(shown: list[str], text: str) -> int:
    found = [i for i, seen in enumerate(shown) if text in seen]
    assert found, f"{text!r} never showed: {shown}"
    return found[0]


async def test_an_edited_answer_says_what_it_searches_before_the_text(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A search that takes a moment shows as "Searching the web for “…”…" in the message before
    the answer's text replaces it; no edit beyond the coalescer's rate (the status is an
    interim edit like any other)."""
    await bot_factory(BOT_TOOLS="web_search").start()
    answer = "Bolt is Slack's framework for apps."
    claude.enqueue(ToolTurn([WebSearch("slack bolt python", [HIT]), Say(answer)], tool_seconds=2))
    delivery = await mention(slack, CHANNEL, USER, "what is bolt for python?")
    await wait_for_final(slack, CHANNEL, delivery.ts, answer)
    shown = _edits(slack, CHANNEL, delivery.ts)
    assert _first(shown, f"_{SEARCH}_") < _first(shown, answer), shown
    assert len(slack.calls_to("chat.update")) <= 3  # the status, the text, the final text


async def test_a_slow_mcp_tool_shows_under_the_text_so_far_and_a_failed_search_says_so(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """Edited answers: while a slow MCP tool runs its line shows under what Claude wrote before
    the call; a search that fails shows "… failed — carrying on…" and the answer completes."""
    await bot_factory(BOT_TOOLS="web_search", BOT_MCP_CONFIG=_mcp_config(tmp_path)).start()
    claude.enqueue(
        ToolTurn([Say("Let me check."), CallTool("demo__wait", {"seconds": 2})]),
        TextReply("The lookup is done."),
    )
    delivery = await mention(slack, CHANNEL, USER, "look it up slowly")
    final = await wait_for_final(slack, CHANNEL, delivery.ts, "The lookup is done.")
    assert "Let me check.\n\n_Using demo › wait…_" in _edits(slack, CHANNEL, delivery.ts)
    assert final.startswith("Let me check.\n\nThe lookup is done.")
    claude.enqueue(
        ToolTurn(
            [
                WebSearch("slack bolt python", error="unavailable"),
                Say("Search is down; from memory:"),
            ],
            tool_seconds=1,
            result_seconds=1.5,
        )
    )
    await mention(slack, CHANNEL, USER, "search bolt", thread_ts=delivery.ts)
    await wait_for_final(slack, CHANNEL, delivery.ts, "from memory:")
    failed = "_Searching the web for “slack bolt python” failed — carrying on…_"
    shown = [
        text for reply in slack.bot_replies(CHANNEL, delivery.ts)[-1:] for _, text in reply.edits
    ]
    assert _first(shown, failed) < _first(shown, "from memory:"), shown


async def test_a_dm_thread_streams_each_tool_as_a_task(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """Native streaming: a search and an MCP call are task updates (in_progress, then complete;
    the search names the page it found), a failing MCP tool and a failing search end in
    error, and the answer still streams to the end, with the tasks between its text; no
    status line enters the text and nothing falls back to edits."""
    await bot_factory(BOT_TOOLS="web_search", BOT_MCP_CONFIG=_mcp_config(tmp_path)).start()
    claude.enqueue(
        ToolTurn(
            [
                WebSearch("slack bolt python", [HIT], id="srvtoolu_search"),
                Say("Found the docs."),
                CallTool("demo__echo", {"text": "hi"}, id="toolu_echo"),
                CallTool("demo__fail", {}, id="toolu_fail"),
            ],
            tool_seconds=0.5,
        ),
        ToolTurn(
            [
                WebSearch("bolt changelog", error="unavailable", id="srvtoolu_down"),
                Say("The echo worked; the ticket lookup failed."),
            ]
        ),
    )
    root = await start_assistant_thread(slack, USER, DM)
    await slack.user_message(DM, USER, "find bolt, echo hi, and look up the ticket", thread_ts=root)
    final = await wait_for_final(slack, DM, root, "the ticket lookup failed.", timeout=30)
    assert final.startswith("Found the docs.\n\nThe echo worked; the ticket lookup failed.")
    (message,) = slack.bot_replies(DM, root)
    assert message.tasks() == {
        "srvtoolu_search": ["in_progress", "complete"],
        "toolu_echo": ["in_progress", "complete"],
        "toolu_fail": ["in_progress", "error"],
        "srvtoolu_down": ["in_progress", "error"],
    }
    calls = [*slack.calls_to("chat.startStream"), *slack.calls_to("chat.appendStream")]
    updates = [u for call in calls for u in task_updates(call.args)]
    titles = {u["id"]: u["title"] for u in updates}
    assert titles["srvtoolu_search"] == SEARCH.removesuffix("…")
    assert titles["toolu_echo"] == "Using demo › echo"
    (found,) = [u for u in updates if u["id"] == "srvtoolu_search" and u["status"] == "complete"]
    assert found["sources"] == [{"type": "url", "text": HIT.title, "url": HIT.url}]
    order = [c.get("id") or c["text"] for c in message.timeline]
    assert order.index("srvtoolu_search") < order.index("toolu_echo") < order.index("srvtoolu_down")
    assert "_Searching" not in message.visible_text
    assert "_Using" not in message.visible_text
    assert not slack.calls_to("chat.update")
