"""Tools end to end through the real bot process: an MCP server from BOT_MCP_CONFIG (the demo
server over stdio, a real MCP server), Anthropic's server tools from BOT_TOOLS, both run by the
core's agent loop against the strict fake Claude."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from testing.fakes.claude_script_tools import (
    CallTool,
    Cite,
    DocCite,
    Hit,
    Say,
    ToolTurn,
    WebFetch,
    WebSearch,
)
from testing.fakes.claude_server import FakeClaude, TextReply
from testing.fakes.slack_server import FakeSlack
from testing.harness import mention, wait_for_final
from testing.mcp_servers.process import stdio_entry
from tests.wire.conftest import CHANNEL, USER, BotFactory


def _mcp_config(tmp_path: Path) -> str:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"demo": stdio_entry()}}))
    return str(path)


def _tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        block
        for message in body["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]


async def test_an_mcp_tool_is_offered_called_and_answered(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """The MCP server's tools are offered with the server's prefix; Claude's call runs on the
    real server, its result goes back as a tool_result, the answer keeps the text Claude wrote
    before the call, and the footer counts the MCP call (what the thread shows while a tool
    runs: tests/wire/test_tool_progress.py)."""
    await bot_factory(BOT_MCP_CONFIG=_mcp_config(tmp_path)).start()
    claude.enqueue(
        ToolTurn([Say("Let me check."), CallTool("demo__echo", {"text": "ping 42"})]),
        TextReply("The server said ping 42."),
    )
    delivery = await mention(slack, CHANNEL, USER, "echo ping 42 through the demo server")
    final = await wait_for_final(slack, CHANNEL, delivery.ts, "The server said ping 42.")
    first, second = (r.body for r in claude.message_requests())
    names = [tool["name"] for tool in first["tools"]]
    assert "demo__echo" in names
    assert names == sorted(names)
    (result,) = _tool_results(second)
    assert "ping 42" in json.dumps(result["content"])
    assert not result.get("is_error")
    assert "1 MCP call" in final.splitlines()[-1]
    assert final.startswith("Let me check.\n\nThe server said ping 42.")


async def test_web_search_streams_cites_and_counts(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """With BOT_TOOLS=web_search the request offers the newest web search (called directly),
    the searched answer is stored with its server blocks, shows its sources as links and the
    footer counts the search; a follow-up sends the blocks back as Claude returned them."""
    await bot_factory(BOT_TOOLS="web_search").start()
    url = "https://slack.dev/bolt-python/"
    claude.enqueue(
        ToolTurn(
            [
                WebSearch("slack bolt python", [Hit(url, "Bolt for Python")]),
                Say("Bolt is Slack's framework for apps.", cite=[Cite(url, "Bolt is Slack's")]),
            ]
        ),
        TextReply("Yes, that one."),
    )
    delivery = await mention(slack, CHANNEL, USER, "what is bolt for python?")
    final = await wait_for_final(slack, CHANNEL, delivery.ts, "Bolt is Slack's framework")
    request = claude.message_requests()[0].body
    tool = next(t for t in request["tools"] if t["name"] == "web_search")  # Slack's tools too
    assert tool["type"] == "web_search_20260318"
    assert tool["allowed_callers"] == ["direct"]
    assert url in final
    assert "1 search" in final.splitlines()[-1]
    await mention(slack, CHANNEL, USER, "is that the official one?", thread_ts=delivery.ts)
    await wait_for_final(slack, CHANNEL, delivery.ts, "Yes, that one.")
    history = claude.message_requests()[-1].body["messages"]
    kinds = [b["type"] for m in history if isinstance(m["content"], list) for b in m["content"]]
    assert "server_tool_use" in kinds
    assert "web_search_tool_result" in kinds


async def test_web_fetch_reads_the_page_the_user_gave_and_links_it(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """With BOT_TOOLS=web_fetch Claude reads the URL the user wrote (the API's rule: only URLs
    already in the conversation), cites a passage of it, and the answer lists that page as a
    source link and counts the page read in its footer."""
    await bot_factory(BOT_TOOLS="web_fetch").start()
    url = "https://docs.example.com/release-notes"
    claude.enqueue(
        ToolTurn(
            [
                WebFetch(url, text="Version 4 drops Python 3.8.", title="Release notes"),
                Say(
                    "Version 4 drops Python 3.8.",
                    cite=[DocCite("Version 4 drops Python 3.8.", document_title="Release notes")],
                ),
            ]
        )
    )
    delivery = await mention(slack, CHANNEL, USER, f"what changed? <{url}>")
    final = await wait_for_final(slack, CHANNEL, delivery.ts, "Version 4 drops Python 3.8.")
    tool = next(t for t in claude.message_requests()[0].body["tools"] if t["name"] == "web_fetch")
    assert tool["type"] == "web_fetch_20260318"
    assert f"1. [Release notes]({url})" in final.split("Sources")[-1]
    assert "1 page read" in final.splitlines()[-1]
