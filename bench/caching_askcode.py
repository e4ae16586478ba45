"""bench.caching's /ask-code scenarios: 5 questions on one repository, each a new thread.

Two repositories, one per way /ask-code shows code:
- whole: a generated Python project (deterministic, about 18,700 tokens once numbered): small
  enough for the whole repository to sit in the cached system prompt;
- tools: this checkout's committed HEAD (a few hundred files, well over the 100,000-token
  budget): a repository map sits in the cached system prompt, each question carries its own
  keyword excerpts, and the model is scripted to make one search_code call before answering.
A follow-up mention in the last question's thread shows what a follow-up reads.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.caching_common import (
    CHANNEL,
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
from testing.fakes.claude_server import (
    FakeClaude,
    RecordedRequest,
    Scripted,
    TextReply,
    ToolUseReply,
)
from testing.fakes.slack_server import FakeSlack
from testing.gitrepo import commit_files
from testing.harness import ROOT, BotProcess, mention, wait_for_final

GENERATED_QUESTIONS = (
    "shipments how is the price of a parcel computed?",
    "shipments where are failed deliveries retried, and how often?",
    "shipments which settings can be changed from the environment?",
    "shipments what happens when a route has no carrier?",
    "shipments how are events written to storage?",
)
SELF_QUESTIONS = (
    "bot where are the prompt cache breakpoints placed?",
    "bot how does the bot throttle chat.update calls?",
    "bot how is a user's budget checked before Claude is called?",
    "bot how does /ask-code choose between the whole repository and the map?",
    "bot where are usage records written to Redis?",
)
FOLLOW_UP = "And which tests cover that?"
SEARCHES = ("cache_control", "EditPolicy", "budget", "Mode.WHOLE", "xadd", "def test_")


@dataclass(frozen=True)
class CodeScenario:
    """One repository and its five questions."""

    name: str
    repo: str  # the name in ASK_CODE_REPOS
    questions: tuple[str, ...]
    tool_round: bool  # script one search_code call before each answer


CODE_SCENARIOS = (
    CodeScenario("generated project, whole repository", "shipments", GENERATED_QUESTIONS, False),
    CodeScenario("this repository, map + tools", "bot", SELF_QUESTIONS, True),
)

# --- the generated repository ------------------------------------------------------------

NOUNS = ("parcel", "route", "carrier", "invoice", "depot", "label", "manifest", "customer")
VERBS = ("load", "price", "validate", "assign", "schedule", "cancel", "render", "merge", "split")
MODULES = ("models", "pricing", "routing", "storage", "retry", "events", "api", "config")


def _function(rng: random.Random, verb: str, noun: str) -> str:
    """One plausible function of 12-20 lines."""
    other = rng.choice(NOUNS)
    lines = [
        f"def {verb}_{noun}({noun}: dict[str, Any], {other}s: list[dict[str, Any]]) -> dict:",
        f'    """{verb.capitalize()} the {noun} against the known {other}s.',
        "",
        f"    Raises ValueError when the {noun} has no id or no {other} matches it.",
        '    """',
        f'    if not {noun}.get("id"):',
        f'        raise ValueError("{noun} without id")',
        f"    matches = [o for o in {other}s if o.get('{noun}_id') == {noun}['id']]",
    ]
    for step in range(rng.randint(2, 6)):
        key = rng.choice(NOUNS)
        lines += [
            f"    if len(matches) > {step + 1} and matches[{step}].get('{key}'):",
            f"        {noun}['{key}_{step}'] = matches[{step}]['{key}']",
        ]
    lines += [
        "    if not matches:",
        f"        raise ValueError(f\"no {other} for {noun} {{{noun}['id']}}\")",
        f"    return {{**{noun}, 'status': '{verb}ed', 'count': len(matches)}}",
    ]
    return "\n".join(lines)


def generated_files(seed: int = 7) -> dict[str, str | bytes]:
    """A small Python project: README, pyproject, eight modules, their tests."""
    rng = random.Random(seed)
    files: dict[str, str | bytes] = {
        "README.md": "# shipments\n\n" + prose(seed, 400) + "\n\nRun `python -m shipments`.\n",
        "pyproject.toml": '[project]\nname = "shipments"\nversion = "1.4.0"\n'
        'requires-python = ">=3.12"\ndependencies = ["httpx>=0.27", "pydantic>=2"]\n',
        "src/shipments/__init__.py": '"""Parcels, routes and carriers."""\n',
        "src/shipments/__main__.py": "from shipments.api import main\n\nmain()\n",
    }
    for module in MODULES:
        functions = [
            _function(rng, verb, noun)
            for verb in rng.sample(VERBS, 4)
            for noun in rng.sample(NOUNS, 2)
        ]
        head = f'"""The {module} of shipments."""\n\nfrom typing import Any\n\n\n'
        files[f"src/shipments/{module}.py"] = head + "\n\n\n".join(functions) + "\n"
        tests = [
            f"def test_{module}_{n}():\n    assert {module}.__name__.endswith('{module}')\n"
            for n in range(6)
        ]
        files[f"tests/test_{module}.py"] = f"from shipments import {module}\n\n\n" + "\n\n".join(
            tests
        )
    return files


@contextmanager
def _fixed_commit_date() -> Iterator[None]:
    """Commit dates fixed while the generated repository is made: the same commit id each run."""
    names = ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(dict.fromkeys(names, "2026-01-01T00:00:00+00:00"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --- the run -----------------------------------------------------------------------------


@dataclass
class Question:
    """One /ask-code question (or the follow-up): its calls and the requests that made them."""

    label: str
    turns: list[Turn]
    requests: list[RecordedRequest]

    def total(self, attr: str) -> int:
        """A token count summed over the calls."""
        return sum(getattr(t.usage, attr) for t in self.turns)

    @property
    def cost(self) -> float:
        """What the calls cost."""
        return sum(t.cost for t in self.turns)

    @property
    def uncached(self) -> float:
        """What they would cost without caching."""
        return sum(t.uncached for t in self.turns)


@dataclass
class CodeResult:
    """A repository scenario's questions and checks."""

    scenario: CodeScenario
    commit: str = ""
    questions: list[Question] = field(default_factory=list)
    ledger_agrees: bool = False

    @property
    def asked(self) -> list[Question]:
        """The five questions (without the follow-up)."""
        return [q for q in self.questions if not q.label.endswith("follow-up")]


async def ask_code(slack: FakeSlack, text: str) -> str:
    """Run /ask-code; the ts of the thread root the bot posts for it."""
    before = {m.ts for m in slack.messages(CHANNEL)}
    envelope = await slack.slash_command("/ask-code", text, user=USER, channel=CHANNEL)
    await slack.wait_ack(envelope)
    await slack.wait_for(lambda: any(m.ts not in before for m in slack.messages(CHANNEL)))
    return next(m for m in slack.messages(CHANNEL) if m.ts not in before).ts


def _script(scenario: CodeScenario, n: int, answer: int) -> list[Scripted]:
    reply: list[Scripted] = [TextReply(f"Answer {n}. " + prose(200 + n, answer))]
    if scenario.tool_round:
        return [ToolUseReply("search_code", {"pattern": SEARCHES[n]}), *reply]
    return reply


async def run_code_scenario(
    scenario: CodeScenario, redis_url: str, work: Path, answer: int, team: str
) -> CodeResult:
    """Start fakes and a bot configured with the repository, ask, read the usage back."""
    location = ROOT
    if scenario.repo != "bot":
        location = work / scenario.repo
        with _fixed_commit_date():
            commit_files(location, generated_files())
    slack = FakeSlack(team_id=team)
    slack.add_user(USER, "ana", "Ana Lima")
    slack.add_channel(CHANNEL, "general", members={USER, slack.ids.bot_user_id})
    claude = FakeClaude()
    await slack.start()
    await claude.start()
    env = {"BOT_LOG_LEVEL": "INFO", "ASK_CODE_REPOS": f"{scenario.repo}={location}"}
    bot = BotProcess(slack, claude, work / f"{team}.log", redis_url, work, env)
    result = CodeResult(scenario)
    try:
        await bot.start()
        root_ts = ""
        for n, text in enumerate(scenario.questions):
            seen = len(claude.message_requests())
            claude.enqueue(*_script(scenario, n, answer))
            root_ts = await ask_code(slack, text)
            await wait_for_final(slack, CHANNEL, root_ts, f"Answer {n}.", timeout=120)
            result.questions.append(_question(f"Q{n + 1}", claude.message_requests()[seen:]))
        seen = len(claude.message_requests())
        claude.enqueue(*_script(scenario, len(scenario.questions), answer))
        await mention(slack, CHANNEL, USER, FOLLOW_UP, thread_ts=root_ts)
        await wait_for_final(slack, CHANNEL, root_ts, f"Answer {len(scenario.questions)}.")
        result.questions.append(_question("Q5 follow-up", claude.message_requests()[seen:]))
        opened = await bot.wait_for_log("askcode.open")
        result.commit = str(opened.get("commit", ""))[:10]
        turns = [t for q in result.questions for t in q.turns]
        result.ledger_agrees = await ledger_agrees(redis_url, team, turns)
    finally:
        await bot.stop()
        await claude.stop()
        await slack.stop()
    return result


def _question(label: str, requests: list[RecordedRequest]) -> Question:
    turns = [turn_of(r.usage or {}, str(r.body["model"])) for r in requests]
    return Question(label, turns, requests)


# --- checks ------------------------------------------------------------------------------


def ttls_in_order(body: dict[str, Any]) -> list[str]:
    """The TTLs of a request's breakpoints in prefix order (tools, system, messages)."""
    blocks: list[Any] = [*(body.get("tools") or []), *(body.get("system") or [])]
    for message in body.get("messages") or []:
        content = message.get("content")
        blocks.extend(content if isinstance(content, list) else [])
    marks = [b["cache_control"] for b in blocks if isinstance(b, dict) and "cache_control" in b]
    return [str(mark.get("ttl", "5m")) for mark in marks]


def one_hour_first(requests: list[RecordedRequest]) -> bool:
    """Every request has one 1-hour breakpoint, before all its 5-minute ones."""
    for request in requests:
        ttls = ttls_in_order(request.body)
        if ttls.count("1h") != 1 or ttls[0] != "1h":
            return False
    return True


def repository_prefix(request: RecordedRequest) -> str:
    """The tools and system blocks of a request: what the 1-hour entry covers."""
    return json.dumps([request.body.get("tools"), request.body["system"]], sort_keys=True)


def prefix_stable(result: CodeResult) -> bool:
    """Whether every call sent the same tools and system bytes."""
    return len({repository_prefix(r) for q in result.questions for r in q.requests}) == 1


# --- report ------------------------------------------------------------------------------


def questions_table(result: CodeResult) -> str:
    """One row per question: its calls summed."""
    lines = [
        "| Question | Calls | Prompt | Cache read | Write 1h | Write 5m | Uncached input "
        "| Output | Read share | Cost | Without cache | Cost ÷ uncached |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for q in result.questions:
        prompt, read = q.total("prompt_tokens"), q.total("cache_read_tokens")
        lines.append(
            f"| {q.label} | {len(q.turns)} | {prompt:,} | {read:,} "
            f"| {q.total('cache_write_1h_tokens'):,} | {q.total('cache_write_5m_tokens'):,} "
            f"| {q.total('input_tokens'):,} | {q.total('output_tokens'):,} "
            f"| {pct(ratio(read, prompt))} | {usd(q.cost)} | {usd(q.uncached)} "
            f"| {pct(ratio(q.cost, q.uncached))} |"
        )
    return "\n".join(lines)


def code_summary(result: CodeResult) -> str:
    """The checks and totals of a repository scenario."""
    asked = result.asked
    first, rest = asked[0], asked[1:]
    block = first.total("cache_write_1h_tokens")
    later_1h = sum(q.total("cache_write_1h_tokens") for q in rest)
    reads_block = all(
        q.turns[0].usage.cache_read_tokens >= block > 0 and q.turns[0].read_share > 0 for q in rest
    )
    calls = [t for q in asked for t in q.turns]
    prompt = sum(t.usage.prompt_tokens for t in calls)
    read = sum(t.usage.cache_read_tokens for t in calls)
    later = [t for q in rest for t in q.turns]
    later_share = ratio(
        sum(t.usage.cache_read_tokens for t in later), sum(t.usage.prompt_tokens for t in later)
    )
    lowest = min(ratio(q.total("cache_read_tokens"), q.total("prompt_tokens")) for q in rest)
    cost, uncached = sum(t.cost for t in calls), sum(t.uncached for t in calls)
    out = sum(t.output_cost for t in calls)
    yes = {True: "yes", False: "NO"}
    return "\n".join(
        [
            f"- Repository prefix (tools + system prompt + repository block): {block:,} tokens, "
            f"written with the 1-hour TTL by Q1; 1-hour writes by Q2–Q5: {later_1h:,}; "
            f"Q2–Q5 read it: {yes[reads_block and later_1h == 0]}.",
            f"- Tools and system bytes identical in every call: {yes[prefix_stable(result)]}; "
            f"one 1-hour breakpoint, before every 5-minute one, in every call: "
            f"{yes[one_hour_first([r for q in result.questions for r in q.requests])]}.",
            f"- Q1–Q5: {pct(ratio(read, prompt))} of prompt tokens read from cache "
            f"({pct(later_share)} over Q2–Q5); input cost {usd(cost - out)} / "
            f"{usd(uncached - out)} = {pct(ratio(cost - out, uncached - out))} of uncached; "
            f"total {usd(cost)} / {usd(uncached)} = {pct(ratio(cost, uncached))}.",
            f"- ≥ {pct(READ_GOAL)} of input tokens read from cache from Q2 on: "
            f"{'met' if lowest >= READ_GOAL else 'NOT met'} (lowest question {pct(lowest)}).",
            f"- Ledger = fake's usage, call by call: {yes[result.ledger_agrees]}.",
        ]
    )


def code_report(results: list[CodeResult], answer: int) -> str:
    """The /ask-code part of the Markdown report."""
    parts = [
        f"## /ask-code: 5 questions on one repository (each a new thread), `{MODEL}`",
        "",
        f"Answers about {answer} tokens. Each question's calls are summed (with tools: the "
        "search_code round, then the answer). The follow-up is a mention in Q5's thread: "
        "a code thread keeps its repository and commit, so follow-ups are code turns too. "
        "With the map, each question also carries its own keyword excerpts (up to 100,000 "
        "characters): new to the cache on every question, written by its first call with the "
        "5-minute TTL and read by its tool round.",
        "",
    ]
    for r in results:
        parts += [
            f"### {r.scenario.name} (`{r.scenario.repo}` at `{r.commit}`)",
            "",
            code_summary(r),
            "",
            questions_table(r),
            "",
        ]
    return "\n".join(parts)
