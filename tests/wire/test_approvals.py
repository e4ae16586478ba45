"""Approval of tools that change things, through the real bot process: the demo MCP server over
stdio (its `create_ticket` is not annotated read-only), the strict fake Claude scripting the
calls, the fake Slack's Approve / Deny clicks (block_actions, as Slack sends them) — and two
bot processes on one Redis where a click reaches the other replica."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from testing.fakes.claude_script_tools import CallTool, ToolTurn
from testing.fakes.claude_server import FakeClaude, TextReply
from testing.fakes.slack_models import StoredMessage, blocks_text
from testing.fakes.slack_server import FakeSlack
from testing.fakes.slack_surfaces import click_button, start_assistant_thread
from testing.harness import BotProcess, is_final, mention, wait_for_final
from testing.mcp_servers.process import stdio_entry
from tests.wire.conftest import CHANNEL, DM, OTHER_USER, USER, BotFactory

APPROVE, DENY = "tool_approve", "tool_deny"
ADMIN = "U0ADMIN"
WAITING = "Waiting for your approval…"


def _env(tmp_path: Path, **more: str) -> dict[str, str]:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"demo": stdio_entry()}}))
    return {"BOT_MCP_CONFIG": str(path), **more}


def _buttons(message: StoredMessage) -> list[str]:
    return [
        str(element.get("action_id"))
        for block in message.blocks or []
        if block.get("type") == "actions"
        for element in block.get("elements") or []
    ]


async def _request(slack: FakeSlack, channel: str, thread_ts: str | None) -> StoredMessage:
    """The approval request the bot posted in the thread (waits for it)."""

    def found() -> StoredMessage | None:
        replies = slack.bot_replies(channel, thread_ts)
        return next((m for m in replies if APPROVE in _buttons(m)), None)

    await slack.wait_for(lambda: found() is not None, timeout=30)
    message = found()
    assert message is not None
    return message


async def _answer(slack: FakeSlack, channel: str, thread_ts: str, contains: str) -> str:
    """The answer's final text (the request is another message of the thread, so the harness's
    wait_for_final, which reads the thread's last message, does not fit)."""

    def final() -> str | None:
        for message in slack.bot_replies(channel, thread_ts):
            text = message.visible_text
            if not message.streaming and contains in text and is_final(text):
                return text
        return None

    await slack.wait_for(lambda: final() is not None, timeout=30)
    return final() or ""


def _shown_while_answering(slack: FakeSlack, channel: str, thread_ts: str, skip: str) -> str:
    """Every text the answer's messages (not the request `skip`) showed."""
    replies = slack.bot_replies(channel, thread_ts)
    return "\n".join(text for m in replies if m.ts != skip for _, text in m.edits)


def _message(slack: FakeSlack, channel: str, ts: str) -> StoredMessage:
    return next(m for m in slack.messages(channel) if m.ts == ts)


def _tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        block
        for message in body["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]


def _logged(bot: BotProcess, event: str) -> list[dict[str, Any]]:
    return [line for line in bot.log_events() if line.get("event") == event]


async def test_the_asker_approves_and_the_tool_runs(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """A tool not annotated read-only asks in the thread (tool and input shown, Approve / Deny);
    the answer's status says it waits, other threads are answered meanwhile; the asker's
    Approve runs it on the real MCP server, the message says who approved, the answer goes on."""
    await bot_factory(**_env(tmp_path)).start()
    claude.enqueue(
        ToolTurn([CallTool("demo__create_ticket", {"title": "broken login"})]),
        TextReply("Meanwhile answered."),
        TextReply("Created the ticket."),
    )
    delivery = await mention(slack, CHANNEL, USER, "open a ticket: broken login")
    request = await _request(slack, CHANNEL, delivery.ts)
    shown = blocks_text(request.blocks or [])
    assert "demo › create_ticket" in shown
    assert f"<@{USER}>" in shown
    assert '"title": "broken login"' in shown
    assert _buttons(request) == [APPROVE, DENY]
    await slack.wait_for(
        lambda: WAITING in _shown_while_answering(slack, CHANNEL, delivery.ts, request.ts)
    )
    other = await mention(slack, CHANNEL, OTHER_USER, "anything new?")
    await wait_for_final(slack, CHANNEL, other.ts, "Meanwhile answered.")
    assert len(claude.message_requests()) == 2  # the tool has not run: no follow-up call yet

    await click_button(slack, CHANNEL, request.ts, USER, APPROVE)
    final = await _answer(slack, CHANNEL, delivery.ts, "Created the ticket.")
    (result,) = _tool_results(claude.message_requests()[2].body)
    assert "created ticket 'broken login'" in json.dumps(result["content"])
    assert not result.get("is_error")
    assert "1 MCP call" in final.splitlines()[-1]
    decided = _message(slack, CHANNEL, request.ts)
    assert f"Approved by <@{USER}>" in blocks_text(decided.blocks or [])
    assert _buttons(decided) == []


async def test_the_asker_denies_and_claude_is_told(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """Deny: the tool does not run, Claude reads that the user did not approve, the answer goes
    on; a broadcast in the tool's input is shown inert (the fixture checks nothing broadcast)."""
    await bot_factory(**_env(tmp_path)).start()
    title = "<!channel> @here outage"
    claude.enqueue(
        ToolTurn([CallTool("demo__create_ticket", {"title": title})]),
        TextReply("Okay, I did not create it."),
    )
    delivery = await mention(slack, CHANNEL, USER, "open a ticket for the outage")
    request = await _request(slack, CHANNEL, delivery.ts)
    shown = blocks_text(request.blocks or [])
    assert "outage" in shown
    assert "<!channel>" not in shown
    await click_button(slack, CHANNEL, request.ts, USER, DENY)
    await _answer(slack, CHANNEL, delivery.ts, "Okay, I did not create it.")
    (result,) = _tool_results(claude.message_requests()[1].body)
    assert result["is_error"] is True
    assert "did not approve" in json.dumps(result["content"])
    assert "created ticket" not in json.dumps(result["content"])
    decided = _message(slack, CHANNEL, request.ts)
    assert f"Denied by <@{USER}>" in blocks_text(decided.blocks or [])
    assert _buttons(decided) == []


async def test_only_the_asker_or_an_admin_may_decide(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """Someone else's click is refused with a message only they see and the tool still waits;
    a bot admin's Approve runs it."""
    slack.add_user(ADMIN, "root", "Rita Admin")
    await bot_factory(**_env(tmp_path, BOT_ADMIN_USERS=ADMIN)).start()
    claude.enqueue(
        ToolTurn([CallTool("demo__create_ticket", {"title": "disk full"})]),
        TextReply("Created it."),
    )
    delivery = await mention(slack, CHANNEL, USER, "open a ticket: disk full")
    request = await _request(slack, CHANNEL, delivery.ts)
    await click_button(slack, CHANNEL, request.ts, OTHER_USER, APPROVE)
    await slack.wait_for(lambda: any(e.user == OTHER_USER for e in slack.ephemerals))
    refusal = next(e for e in slack.ephemerals if e.user == OTHER_USER)
    assert f"Only <@{USER}>" in refusal.text
    assert _buttons(_message(slack, CHANNEL, request.ts)) == [APPROVE, DENY]
    assert len(claude.message_requests()) == 1  # still waiting: the tool did not run
    await click_button(slack, CHANNEL, request.ts, ADMIN, APPROVE)
    await _answer(slack, CHANNEL, delivery.ts, "Created it.")
    (result,) = _tool_results(claude.message_requests()[1].body)
    assert "created ticket 'disk full'" in json.dumps(result["content"])
    decided = _message(slack, CHANNEL, request.ts)
    assert f"Approved by <@{ADMIN}>" in blocks_text(decided.blocks or [])


async def test_a_request_nobody_decides_expires_and_claude_is_told(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """Past BOT_TOOL_APPROVAL_SECONDS the tool does not run, Claude reads that nobody approved
    in time, the answer goes on and the request says it expired (no buttons left)."""
    await bot_factory(**_env(tmp_path, BOT_TOOL_APPROVAL_SECONDS="1")).start()
    claude.enqueue(
        ToolTurn([CallTool("demo__create_ticket", {"title": "slow"})]),
        TextReply("Nobody approved it in time."),
    )
    delivery = await mention(slack, CHANNEL, USER, "open a ticket: slow")
    request = await _request(slack, CHANNEL, delivery.ts)
    await _answer(slack, CHANNEL, delivery.ts, "Nobody approved it in time.")
    (result,) = _tool_results(claude.message_requests()[1].body)
    assert result["is_error"] is True
    assert "in time" in json.dumps(result["content"])
    expired = _message(slack, CHANNEL, request.ts)
    assert "Nobody decided within 1 second" in blocks_text(expired.blocks or [])
    assert _buttons(expired) == []


async def test_a_click_on_another_replica_reaches_the_waiting_answer(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """Two bot processes on one Redis: the answer waits in the first, the click is handled by
    the second, and the first sees the decision and runs the tool."""
    waiting = bot_factory(**_env(tmp_path))
    await waiting.start()
    claude.enqueue(
        ToolTurn([CallTool("demo__create_ticket", {"title": "elsewhere"})]),
        TextReply("Created it."),
    )
    delivery = await mention(slack, CHANNEL, USER, "open a ticket: elsewhere")
    request = await _request(slack, CHANNEL, delivery.ts)
    other = bot_factory(**_env(tmp_path))
    await other.start()
    await click_button(
        slack, CHANNEL, request.ts, USER, APPROVE, connection=slack.connections_opened
    )
    await _answer(slack, CHANNEL, delivery.ts, "Created it.")
    (result,) = _tool_results(claude.message_requests()[1].body)
    assert "created ticket 'elsewhere'" in json.dumps(result["content"])
    assert _logged(other, "approval.decided")
    assert not _logged(waiting, "approval.decided")
    assert _logged(waiting, "approval.asked")
    assert not _logged(other, "approval.asked")


async def test_two_clicks_on_two_replicas_decide_once(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """Approve and Deny clicked at once, each reaching another replica: one decision stands
    (atomically), the other click is told what was decided, and the answer follows the one
    that stands."""
    first = bot_factory(**_env(tmp_path))
    await first.start()
    first_connection = slack.connections_opened
    claude.enqueue(
        ToolTurn([CallTool("demo__create_ticket", {"title": "race"})]),
        TextReply("Done deciding."),
    )
    delivery = await mention(slack, CHANNEL, USER, "open a ticket: race")
    request = await _request(slack, CHANNEL, delivery.ts)
    second = bot_factory(**_env(tmp_path))
    await second.start()
    second_connection = slack.connections_opened
    await click_button(slack, CHANNEL, request.ts, USER, APPROVE, connection=first_connection)
    await click_button(slack, CHANNEL, request.ts, USER, DENY, connection=second_connection)
    await _answer(slack, CHANNEL, delivery.ts, "Done deciding.")
    await slack.wait_for(lambda: any(e.user == USER for e in slack.ephemerals))
    decisions = _logged(first, "approval.decided") + _logged(second, "approval.decided")
    assert len(decisions) == 1
    (told,) = [e.text for e in slack.ephemerals if e.user == USER]
    (result,) = _tool_results(claude.message_requests()[1].body)
    message = blocks_text(_message(slack, CHANNEL, request.ts).blocks or [])
    if decisions[0]["decision"] == "approved":
        assert "already approved" in told
        assert "created ticket 'race'" in json.dumps(result["content"])
        assert f"Approved by <@{USER}>" in message
    else:
        assert "already denied" in told
        assert result["is_error"] is True
        assert f"Denied by <@{USER}>" in message


async def test_instructions_injected_in_a_tool_result_still_need_approval(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """A read-only tool's result telling Claude to create a ticket is data: when Claude then
    calls create_ticket the asker is still asked, and a Deny keeps it from running."""
    await bot_factory(**_env(tmp_path)).start()
    claude.enqueue(
        ToolTurn([CallTool("demo__injected", {})]),
        ToolTurn([CallTool("demo__create_ticket", {"title": "pwned"})]),
        TextReply("I did not create anything."),
    )
    delivery = await mention(slack, CHANNEL, USER, "read the injected tool")
    request = await _request(slack, CHANNEL, delivery.ts)
    assert '"title": "pwned"' in blocks_text(request.blocks or [])
    (injected,) = _tool_results(claude.message_requests()[1].body)
    assert "IGNORE ALL PREVIOUS INSTRUCTIONS" in json.dumps(injected["content"])
    await click_button(slack, CHANNEL, request.ts, USER, DENY)
    await _answer(slack, CHANNEL, delivery.ts, "I did not create anything.")
    results = _tool_results(claude.message_requests()[2].body)
    assert results[-1]["is_error"] is True
    assert "did not approve" in json.dumps(results[-1]["content"])


async def test_a_preapproved_tool_runs_without_asking(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """BOT_TOOLS_PREAPPROVED names tools (as Claude sees them) that never ask."""
    await bot_factory(**_env(tmp_path, BOT_TOOLS_PREAPPROVED="demo__create_ticket")).start()
    claude.enqueue(
        ToolTurn([CallTool("demo__create_ticket", {"title": "trusted"})]),
        TextReply("Created it."),
    )
    delivery = await mention(slack, CHANNEL, USER, "open a ticket: trusted")
    await wait_for_final(slack, CHANNEL, delivery.ts, "Created it.")
    (result,) = _tool_results(claude.message_requests()[1].body)
    assert "created ticket 'trusted'" in json.dumps(result["content"])
    assert all(APPROVE not in _buttons(m) for m in slack.bot_replies(CHANNEL, delivery.ts))


async def test_in_a_dm_thread_the_status_says_it_waits_after_the_request_is_posted(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """In a DM thread (native streaming, the status under the thread) "Waiting for your
    approval…" is set after the request is posted (a post clears a thread's status)."""
    await bot_factory(**_env(tmp_path)).start()
    claude.enqueue(
        ToolTurn([CallTool("demo__create_ticket", {"title": "from a DM"})]),
        TextReply("Created it."),
    )
    root = await start_assistant_thread(slack, USER, DM)
    await slack.user_message(DM, USER, "open a ticket: from a DM", thread_ts=root)
    request = await _request(slack, DM, root)
    await slack.wait_for(lambda: slack.thread_status(DM, root) == WAITING)
    posted_at = request.edits[0][0]
    assert any(at >= posted_at and status == WAITING for at, _, _, status in slack.statuses)
    await click_button(slack, DM, request.ts, USER, APPROVE)
    await _answer(slack, DM, root, "Created it.")
