"""One run: fresh fakes and a fresh `python -m bot` process, questions sent, the result measured."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as redis

from bench.bot_lag import BotLag, added, summarize_lag
from bench.metrics import Summary, summarize
from bench.observe import AnswerRecord, Sent, Trace, observe_answers
from bench.process import BotGroup, BotProcess, bot_environment, machine_busy_seconds
from bench.spec import LoadSpec
from bench.world import (
    Responder,
    channel_id,
    populate,
    question_index,
    question_text,
    user_id,
)
from testing.fakes.claude_server import FakeClaude
from testing.fakes.slack_server import FakeSlack
from testing.fakes.slack_specs import HTTP_MANIFEST_PATH, MANIFEST_PATH
from testing.round_robin import RoundRobin

POLL_S = 0.1
MAX_LAG_SAMPLES = 360_000  # an hour of 10 ms samples
WARMUP_LIMIT_S = 30.0
ENDED = ("turn.done", "turn.crashed")  # log events that end a turn
NOTEWORTHY = (
    "turn.failed",
    "turn.crashed",
    "turn.not_stored",
    "turn.cannot_reply",
    "turn.deadline_passed",
    "turn.interrupted",
    "budget.final_edit_waited_out",
    "slack.interim_edit_failed",
    "slack.final_edit_failed",
    "slack.final_edit_gave_up",
)


@dataclass(frozen=True)
class BenchEnv:
    """What every run shares: the Redis server, the bot checkout, where logs go."""

    redis_url: str
    bot_dir: Path
    work_dir: Path
    bot_env: dict[str, str] = field(default_factory=dict)  # extra settings for every bot


@dataclass(frozen=True)
class SlackUse:
    """Slack Web API calls made while the questions were answered."""

    calls_by_method: dict[str, int]
    rate_limited_by_method: dict[str, int]
    calls_per_answer: float
    posts_per_answer: float
    updates_per_answer: float
    rate_limited: int


@dataclass(frozen=True)
class Resources:
    """What the run cost the bot process (and, for context, Redis and the fakes)."""

    bot_cpu_s: float
    tokens: int
    cpu_s_per_1k_tokens: float | None
    peak_rss_mb: float
    redis_commands: int
    redis_commands_per_turn: float | None
    redis_by_command: dict[str, int]
    redis_cpu_s: float
    fakes_cpu_s: float  # the bench process: fake Slack, fake Claude, the load driver
    fakes_loop_lag_ms: Summary  # how late the bench process's event loop woke up
    bot_loop_lag: BotLag  # how late the bot's event loop woke up (its /metrics and log)
    other_cpu_s: float  # CPU used meanwhile by processes outside the benchmark (should be ~0)


@dataclass
class RunResult:
    """The figures of one run (JSON-ready, except the traces kept for the plot)."""

    spec: LoadSpec
    wall_s: float
    answers: int
    turns_ended: int
    completed: int
    measured: int
    ack_ms: Summary
    overhead_ms: Summary
    pre_claude_ms: Summary
    post_claude_ms: Summary
    staleness_s: Summary
    unseen_deltas: int
    slack: SlackUse
    resources: Resources
    log_events: dict[str, int]
    violations: list[str]
    traces: list[Trace] = field(default_factory=list, repr=False)
    first_words_s: Summary = field(default_factory=lambda: summarize([]))
    # Claude wrote an answer's first 10 words -> Slack showed them, over the measured answers


async def redis_snapshot(client: redis.Redis) -> tuple[Counter[str], float]:
    """Commands processed so far, by command, and the server's CPU seconds."""
    stats = await client.info("commandstats")
    cpu = await client.info("cpu")
    counts: Counter[str] = Counter(
        {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}
    )
    return counts, float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"])


def own_cpu_seconds() -> float:
    """CPU seconds of this (the bench's) process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def ask(slack: FakeSlack, index: int) -> Sent:
    """Mention the bot with question `index`, in its own channel."""
    at = time.monotonic()
    text = question_text(index, slack.ids.bot_user_id)
    delivery = await slack.user_message(channel_id(index), user_id(index), text)
    if delivery.envelope_id is None:
        raise RuntimeError("the fake Slack pushed no event for a mention")
    return Sent(index, channel_id(index), delivery.ts, delivery.envelope_id, at)


async def warm_up(slack: FakeSlack, bots: BotGroup, first: int) -> None:
    """A short question per replica first, so that connections and caches are warm when timing
    starts (Slack hands envelopes to the connections in turn)."""
    count = len(bots.processes)
    for index in range(first, first + count):
        await ask(slack, index)
    if await wait_for_turns(bots, count, WARMUP_LIMIT_S) < count:
        raise RuntimeError(f"a warm-up question got no answer:\n{bots.log_tail()}")


async def send_questions(slack: FakeSlack, spec: LoadSpec) -> list[Sent]:
    """Mention the bot once per answer, `spacing` seconds apart, each in its own channel."""
    sent: list[Sent] = []
    start = time.monotonic()
    for index in range(spec.answers):
        delay = start + index * spec.spacing - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        sent.append(await ask(slack, index))
    return sent


async def wait_for_turns(bots: BotGroup, count: int, limit_s: float) -> int:
    """Wait until `count` turns have ended (per the logs), a replica died, or limit_s passed."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and bots.running:
        if sum(bots.events()[name] for name in ENDED) >= count:
            break
        await asyncio.sleep(POLL_S)
    return sum(bots.events()[name] for name in ENDED)


class LoopLag:
    """How late this process's event loop wakes up (the fakes live here): a sanity check that
    the fakes were not the bottleneck."""

    def __init__(self, period: float = 0.01) -> None:
        self.period = period
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start sampling."""
        self._task = asyncio.create_task(self._run(), name="loop-lag")

    async def stop(self) -> Summary:
        """Stop sampling; the lateness in milliseconds."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return _ms(self.samples)

    async def _run(self) -> None:
        for _ in range(MAX_LAG_SAMPLES):
            before = time.monotonic()
            await asyncio.sleep(self.period)
            self.samples.append(max(0.0, time.monotonic() - before - self.period))


def _ms(values: list[float]) -> Summary:
    return summarize(values).scaled(1000.0)


def summarize_run(
    spec: LoadSpec, records: list[AnswerRecord]
) -> tuple[Summary, Summary, Summary, Summary, Summary, int]:
    """Ack, overhead, pre/post-Claude latency and staleness over the measured answers."""
    measured = records[spec.warmup :]
    ttft = spec.answer.ttft
    overhead = [r.first_visible_at - r.sent_at - ttft for r in measured if r.first_visible_at]
    pre = [r.request_at - r.sent_at for r in measured if r.request_at is not None]
    post = [
        r.first_visible_at - r.first_delta_at
        for r in measured
        if r.first_visible_at is not None and r.first_delta_at is not None
    ]
    acks = [r.ack_s for r in measured if r.ack_s is not None]
    stale = [delay for r in measured for delay in r.staleness_s]
    unseen = sum(r.unseen_deltas for r in measured)
    return _ms(acks), _ms(overhead), _ms(pre), _ms(post), summarize(stale), unseen


def slack_use(slack: FakeSlack, since: float, answers: int) -> SlackUse:
    """Calls made from the first question on, per method and per answer."""
    calls = [c for c in slack.calls if c.at >= since]
    by_method = Counter(c.method for c in calls)
    limited = Counter(c.method for c in calls if c.status == 429)
    per = max(answers, 1)
    return SlackUse(
        calls_by_method=dict(sorted(by_method.items())),
        rate_limited_by_method=dict(sorted(limited.items())),
        calls_per_answer=len(calls) / per,
        posts_per_answer=by_method["chat.postMessage"] / per,
        updates_per_answer=by_method["chat.update"] / per,
        rate_limited=sum(limited.values()),
    )


@dataclass
class Measured:
    """What was measured around the load, before the fakes' records are read."""

    sent: list[Sent]
    started: float
    wall_s: float
    turns_ended: int
    bot_cpu_s: float
    fakes_cpu_s: float
    peak_rss_bytes: int
    redis_used: Counter[str]
    redis_cpu_s: float
    fakes_lag_ms: Summary
    bot_lag: BotLag
    machine_cpu_s: float
    events: Counter[str]


async def drive(
    spec: LoadSpec, env: BenchEnv, slack: FakeSlack, claude: FakeClaude, run_dir: Path
) -> Measured:
    """Start the bot, warm it up, send the questions, wait for the turns; measure around it."""
    environment = bot_environment(
        slack,
        claude,
        env.redis_url,
        run_dir / "data",
        spec.policy,
        unlimited_budget=spec.unlimited_budget,
    )
    if spec.transport == "http":
        environment |= {
            "BOT_MODE": "http",
            "SLACK_SIGNING_SECRET": slack.signing_secret,
            "SLACK_APP_TOKEN": "",
        }
    bots = BotGroup(
        [
            BotProcess(
                env.bot_dir,
                environment | env.bot_env | {"BOT_DATA_DIR": str(run_dir / f"data-{n}")},
                run_dir / f"bot-{n}.log",
            )
            for n in range(spec.replicas)
        ]
    )
    stats_client = redis.Redis.from_url(env.redis_url)
    lag = LoopLag()
    try:
        async with contextlib.AsyncExitStack() as stack:
            await bots.start(slack)
            if spec.transport == "http":  # Slack posts to the bot (behind a balancer if several)
                urls = [p.events_url.removesuffix("/slack/events") for p in bots.processes]
                many = len(urls) > 1
                balancer = await stack.enter_async_context(RoundRobin(urls)) if many else None
                slack.deliver_over_http(f"{balancer.url if balancer else urls[0]}/slack/events")
            return await measure(spec, slack, bots, stats_client, lag)
    finally:
        await bots.stop()
    raise AssertionError("unreachable")  # the exit stack does not swallow exceptions


async def measure(
    spec: LoadSpec,
    slack: FakeSlack,
    bots: BotGroup,
    stats_client: redis.Redis,
    lag: LoopLag,
) -> Measured:
    """Warm up, send the questions, wait for the turns; measure around it (bots started)."""
    try:
        await warm_up(slack, bots, spec.answers)
        redis_before, redis_cpu_before = await redis_snapshot(stats_client)
        bot_cpu_before, own_before = bots.cpu_seconds(), own_cpu_seconds()
        machine_before = machine_busy_seconds()
        bots.events()  # read the log so far: stalls of the warm-up are not counted
        lag_before, stall_marks = await bots.lag_buckets(), bots.stall_marks()
        lag.start()
        started = time.monotonic()
        sent = await send_questions(slack, spec)
        warmups = spec.replicas
        ended = await wait_for_turns(bots, spec.answers + warmups, spec.timeout) - warmups
        wall_s = time.monotonic() - started
        fakes_lag = await lag.stop()
        lag_after = await bots.lag_buckets()
        bots.events()
        bot_lag = summarize_lag(
            [added(b, a) for b, a in zip(lag_before, lag_after, strict=True)],
            bots.stalls_since(stall_marks),
        )
        if not bots.running:
            raise RuntimeError(f"the bot died during {spec.label}:\n{bots.log_tail()}")
        bot_cpu = bots.cpu_seconds() - bot_cpu_before
        own_cpu = own_cpu_seconds() - own_before
        machine_cpu = machine_busy_seconds() - machine_before
        peak_rss = bots.peak_rss_bytes()
        redis_after, redis_cpu_after = await redis_snapshot(stats_client)
    finally:
        await lag.stop()
        await bots.stop()
        await stats_client.aclose()
    redis_used = redis_after - redis_before
    redis_used.pop("info", None)
    return Measured(
        sent=sent,
        started=started,
        wall_s=wall_s,
        turns_ended=ended,
        bot_cpu_s=bot_cpu,
        fakes_cpu_s=own_cpu,
        peak_rss_bytes=peak_rss,
        redis_used=redis_used,
        redis_cpu_s=redis_cpu_after - redis_cpu_before,
        fakes_lag_ms=fakes_lag,
        bot_lag=bot_lag,
        machine_cpu_s=machine_cpu,
        events=bots.events(),
    )


def streamed_tokens(claude: FakeClaude, answers: int) -> int:
    """Output tokens the fake Claude streamed for the measured questions (not the warm-up)."""
    return sum(
        int((r.usage or {}).get("output_tokens", 0))
        for r in claude.message_requests()
        if r.status == 200 and (question_index(r.body) or 0) < answers
    )


def assemble(
    spec: LoadSpec,
    measured: Measured,
    records: list[AnswerRecord],
    slack: FakeSlack,
    tokens: int,
) -> RunResult:
    """The run's figures."""
    redis_total = sum(measured.redis_used.values())
    resources = Resources(
        bot_cpu_s=measured.bot_cpu_s,
        tokens=tokens,
        cpu_s_per_1k_tokens=measured.bot_cpu_s / tokens * 1000 if tokens else None,
        peak_rss_mb=measured.peak_rss_bytes / 2**20,
        redis_commands=redis_total,
        redis_commands_per_turn=redis_total / spec.answers if spec.answers else None,
        redis_by_command=dict(sorted(measured.redis_used.items())),
        redis_cpu_s=measured.redis_cpu_s,
        fakes_cpu_s=measured.fakes_cpu_s,
        fakes_loop_lag_ms=measured.fakes_lag_ms,
        bot_loop_lag=measured.bot_lag,
        other_cpu_s=max(
            0.0,
            measured.machine_cpu_s
            - measured.bot_cpu_s
            - measured.fakes_cpu_s
            - measured.redis_cpu_s,
        ),
    )
    ack, overhead, pre, post, stale, unseen = summarize_run(spec, records)
    return RunResult(
        spec=spec,
        wall_s=measured.wall_s,
        answers=spec.answers,
        turns_ended=measured.turns_ended,
        completed=sum(1 for r in records if r.complete),
        measured=len(records) - spec.warmup,
        ack_ms=ack,
        overhead_ms=overhead,
        pre_claude_ms=pre,
        post_claude_ms=post,
        staleness_s=stale,
        unseen_deltas=unseen,
        slack=slack_use(slack, measured.started, spec.answers),
        resources=resources,
        log_events={name: measured.events[name] for name in NOTEWORTHY if measured.events[name]},
        violations=slack.violations[:5],
        traces=[r.trace for r in records if r.trace is not None],
        first_words_s=summarize(
            [r.first_words_s for r in records[spec.warmup :] if r.first_words_s is not None]
        ),
    )


async def run_load(
    spec: LoadSpec,
    env: BenchEnv,
    *,
    trace_indexes: frozenset[int] = frozenset(),
    say: Callable[[str], None] = print,
) -> RunResult:
    """Run one load against fresh fakes and a fresh bot process, and measure it."""
    run_dir = env.work_dir / f"{spec.label}-{uuid.uuid4().hex[:6]}"
    run_dir.mkdir(parents=True, exist_ok=True)
    responder = Responder(spec.answer, warmup_from=spec.answers)
    team = f"T{uuid.uuid4().hex[:8].upper()}"
    manifest = HTTP_MANIFEST_PATH if spec.transport == "http" else MANIFEST_PATH
    async with (
        FakeSlack(team_id=team, rate_limits=spec.limits.rate_limits(), manifest=manifest) as slack,
        FakeClaude(default=responder, record_streams=True) as claude,
    ):
        populate(slack, spec.answers + spec.replicas)  # the last ones are for warm-up questions
        measured = await drive(spec, env, slack, claude, run_dir)
        answers = {i: responder.text(i) for i in range(spec.answers)}
        records = observe_answers(slack, claude, measured.sent, answers, trace_indexes)
        result = assemble(spec, measured, records, slack, streamed_tokens(claude, spec.answers))
    say(one_line(result))
    return result


def one_line(result: RunResult) -> str:
    """A progress line for the terminal."""

    def show(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    overhead, stale = result.overhead_ms, result.staleness_s.scaled(1000)
    return (
        f"  {result.spec.label:<34} {result.completed}/{result.answers} complete  "
        f"overhead p50 {show(overhead.p50)} p99 {show(overhead.p99)} ms  "
        f"stale p95 {show(stale.p95)} ms  429s {result.slack.rate_limited}  "
        f"cpu {result.resources.bot_cpu_s:.1f}s  ({result.wall_s:.0f}s)"
    )
