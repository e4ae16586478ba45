"""bench.caching's scenario with tools on: a 10-turn thread where Claude may search the web
(BOT_TOOLS=web_search) and call the tools of an MCP server (the demo server over stdio, 14 tools),
then a new thread with the same tools.

Some turns use tools: a web search inside the answer (server tool, one call), an MCP call (a tool
round: two calls), and at turn 7 the MCP tool `add_tool`, after which the server says its tool
list changed and the bot reads it again. Every call's usage is reported, with whether its `tools`
were byte-identical to the previous call's (json as sent, key order included): the definitions are
the first thing in the prompt, so a byte that moves there is a miss for everything after it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from bench.caching_common import (
    CHANNEL,
    READ_GOAL,
    USER,
    Turn,
    ledger_agrees,
    pct,
    prose,
    ratio,
    turn_of,
    usd,
)
from testing.fakes.claude_script_tools import CallTool, Hit, Say, ToolTurn, WebSearch
from testing.fakes.claude_server import FakeClaude, RecordedRequest, Scripted, TextReply
from testing.fakes.slack_server import FakeSlack
from testing.harness import BotProcess, mention, wait_for_final
from testing.mcp_servers.process import stdio_entry

QUESTIONS = (
    ("What is Bolt for Python? Look it up.", "search"),
    ("How do I register a slash command with it?", ""),
    ("Echo 'deploy finished' through the demo server.", "mcp"),
    ("What else can that server do?", ""),
    ("Search for the Socket Mode docs too.", "search"),
    ("Summarise what we found so far.", ""),
    ("Add the late tool to the demo server.", "add_tool"),
    ("What changed in its tools?", ""),
    ("Which of them is read-only?", ""),
    ("Give me a one-paragraph summary for the team.", ""),
)
NEW_THREAD = "A new question in a new thread: what is Socket Mode?"
HIT = Hit("https://slack.dev/bolt-python/", "Bolt for Python")


@dataclass
class Call:
    """One Claude call of the scenario."""

    turn: str  # "3", "3 (after the tool)", "new thread"
    turn_usage: Turn
    tools: list[str]
    same_tools: bool  # `tools` byte-identical to the previous call's


@dataclass
class ToolsResult:
    """The calls, and whether the bot's ledger agreed with the fake's usage."""

    calls: list[Call] = field(default_factory=list)
    ledger_agrees: bool = False


def _config(work: Path) -> str:
    path = work / "mcp-bench.json"
    demo = {**stdio_entry(), "preapproved": ["add_tool"]}
    path.write_text(json.dumps({"mcpServers": {"demo": demo}}))
    return str(path)


def _script(kind: str, n: int, answer: int) -> list[Scripted]:
    reply = f"Answer {n}. " + prose(300 + n, answer)
    if kind == "search":
        query = "slack bolt python" if n == 0 else "slack socket mode"
        return [ToolTurn([WebSearch(query, [HIT]), Say(reply)])]
    if kind == "mcp":
        return [ToolTurn([CallTool("demo__echo", {"text": "deploy finished"})]), TextReply(reply)]
    if kind == "add_tool":
        return [ToolTurn([CallTool("demo__add_tool", {})]), TextReply(reply)]
    return [TextReply(reply)]


def calls_of(requests: list[RecordedRequest], label: str, previous: str | None) -> list[Call]:
    out: list[Call] = []
    for index, request in enumerate(requests):
        tools = json.dumps(request.body.get("tools"), ensure_ascii=False)
        names = [str(t.get("name")) for t in request.body.get("tools") or []]
        usage = turn_of(request.usage or {}, str(request.body["model"]))
        turn = label if index == 0 else f"{label} (after the tool)"
        out.append(Call(turn, usage, names, previous is None or tools == previous))
        previous = tools
    return out


async def run_tools_scenario(redis_url: str, work: Path, answer: int, team: str) -> ToolsResult:
    """Start fakes and a bot with web search and the demo MCP server; hold the thread."""
    slack = FakeSlack(team_id=team)
    slack.add_user(USER, "ana", "Ana Lima")
    slack.add_channel(CHANNEL, "general", members={USER, slack.ids.bot_user_id})
    claude = FakeClaude()
    await slack.start()
    await claude.start()
    env = {"BOT_LOG_LEVEL": "INFO", "BOT_TOOLS": "web_search", "BOT_MCP_CONFIG": _config(work)}
    bot = BotProcess(slack, claude, work / f"{team}.log", redis_url, work, env)
    result = ToolsResult()
    previous: str | None = None
    try:
        await bot.start()
        await bot.wait_for_log("mcp.connected", timeout=60)
        root_ts: str | None = None
        for n, (question, kind) in enumerate(QUESTIONS):
            seen = len(claude.message_requests())
            claude.enqueue(*_script(kind, n, answer))
            delivery = await mention(slack, CHANNEL, USER, question, thread_ts=root_ts)
            root_ts = root_ts or delivery.ts
            await wait_for_final(slack, CHANNEL, root_ts, f"Answer {n}.", timeout=120)
            if kind == "add_tool":
                await bot.wait_for_log("mcp.tools_changed", timeout=60)
            calls = calls_of(claude.message_requests()[seen:], str(n + 1), previous)
            previous = json.dumps(claude.message_requests()[-1].body.get("tools"))
            result.calls += calls
        seen = len(claude.message_requests())
        claude.enqueue(*_script("", len(QUESTIONS), answer))
        other = await mention(slack, CHANNEL, USER, NEW_THREAD)
        await wait_for_final(slack, CHANNEL, other.ts, f"Answer {len(QUESTIONS)}.", timeout=120)
        result.calls += calls_of(claude.message_requests()[seen:], "new thread", previous)
        result.ledger_agrees = await ledger_agrees(
            redis_url, team, [c.turn_usage for c in result.calls]
        )
    finally:
        await bot.stop()
        await claude.stop()
        await slack.stop()
    return result


def calls_table(result: ToolsResult) -> str:
    """One row per Claude call."""
    lines = [
        "| Turn | Tools offered | Same tool bytes | Prompt | Cache read | Write 5m "
        "| Uncached input | Read share | Cost | Without cache |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for call in result.calls:
        u, t = call.turn_usage.usage, call.turn_usage
        lines.append(
            f"| {call.turn} | {len(call.tools)} | {'yes' if call.same_tools else '**no**'} "
            f"| {u.prompt_tokens:,} | {u.cache_read_tokens:,} | {u.cache_write_5m_tokens:,} "
            f"| {u.input_tokens:,} | {pct(t.read_share)} | {usd(t.cost)} | {usd(t.uncached)} |"
        )
    return "\n".join(lines)


def tools_summary(result: ToolsResult) -> str:
    """The checks and totals."""
    calls = result.calls
    thread = [c for c in calls if c.turn != "new thread"]
    changed = [c for c in calls if not c.same_tools]
    steady = [c for c in thread[1:] if c.same_tools]
    lowest = min((c.turn_usage.read_share for c in steady), default=0.0)
    prompt = sum(c.turn_usage.usage.prompt_tokens for c in thread)
    read = sum(c.turn_usage.usage.cache_read_tokens for c in thread)
    cost = sum(c.turn_usage.cost for c in thread)
    uncached = sum(c.turn_usage.uncached for c in thread)
    out = sum(c.turn_usage.output_cost for c in thread)
    new = calls[-1]
    lines = [
        f"- {len(thread)} calls in the thread ({len(QUESTIONS)} turns; the MCP turns take two "
        f"calls): {pct(ratio(read, prompt))} of prompt tokens read from cache; input cost "
        f"{usd(cost - out)} / {usd(uncached - out)} = {pct(ratio(cost - out, uncached - out))} "
        f"of uncached; total {usd(cost)} / {usd(uncached)} = {pct(ratio(cost, uncached))}.",
        f"- Calls after the first whose tool list did not change: lowest read share "
        f"{pct(lowest)} (≥ {pct(READ_GOAL)}: {'met' if lowest >= READ_GOAL else 'NOT met'}).",
    ]
    for call in changed:
        lines.append(
            f"- The tool list changed before turn {call.turn} ({len(call.tools)} tools): that "
            f"call read {pct(call.turn_usage.read_share)} and wrote "
            f"{call.turn_usage.usage.cache_write_5m_tokens:,} tokens anew; the next calls read "
            "again."
        )
    lines += [
        f"- A new thread with the same tools: its first call read "
        f"{new.turn_usage.usage.cache_read_tokens:,} of {new.turn_usage.usage.prompt_tokens:,} "
        f"prompt tokens ({pct(new.turn_usage.read_share)}) from the cache.",
        f"- Ledger = fake's usage, call by call: {'yes' if result.ledger_agrees else 'NO'}.",
    ]
    return "\n".join(lines)


def tools_report(result: ToolsResult, answer: int) -> str:
    """The tools part of the Markdown report."""
    return "\n".join(
        [
            "## Tools on: web search and an MCP server (14 tools), a 10-turn thread",
            "",
            f"Answers about {answer} tokens. The request's tools (the MCP tools sorted by name, "
            "then web search) come first in the prompt, before the system prompt and the "
            "history. Turns 1 and 5 search the web inside the answer; turn 3 calls an MCP tool "
            "(a tool round); turn 7 calls `add_tool`, which makes the server announce a changed "
            "tool list, so turn 8 is offered one tool more.",
            "",
            tools_summary(result),
            "",
            calls_table(result),
            "",
        ]
    )
