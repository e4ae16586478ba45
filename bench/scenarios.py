"""The scenarios of the suite, sized for a quick check or the full run, and how each is run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bench.runner import BenchEnv, RunResult, run_load
from bench.spec import POLICIES, AnswerShape, Limits, LoadSpec, Policy

SCENARIOS = ("single", "latency", "tier3", "throughput")
OVERHEAD_P99_LIMIT_MS = 100.0
BURST_SPACING_S = 0.02  # between two questions of a burst
TRACED = frozenset({0})  # the answer whose history the plot shows


@dataclass(frozen=True)
class Plan:
    """Sizes of every scenario (tokens, concurrency levels, ramp steps)."""

    ttft: float
    rate: float  # tokens per second on the Claude side
    chunk_chars: int
    long_tokens: int  # the answer of the single and tier3 scenarios
    short_tokens: int  # the answers of the latency and throughput scenarios
    n1_answers: int  # how many one-at-a-time answers measure "1 in flight"
    n1_tokens: int  # their length (it does not change the overhead of a lone answer)
    latency_levels: tuple[int, ...]
    tier3_concurrency: int
    ramp: tuple[int, ...]
    measure_periods: float  # how many answer durations are measured after the warm-up
    policies: tuple[Policy, ...] = POLICIES
    ramp_policies: tuple[Policy, ...] = POLICIES
    replicas: int = 1  # bot processes in every run

    def shape(self, tokens: int) -> AnswerShape:
        """Answers of `tokens` tokens at this plan's pace."""
        return AnswerShape(tokens, self.rate, self.ttft, self.chunk_chars)


def full_plan(ttft: float, rate: float, chunk_chars: int, tokens: int) -> Plan:
    """The full run (about 10 minutes on 2 cores)."""
    return Plan(
        ttft=ttft,
        rate=rate,
        chunk_chars=chunk_chars,
        long_tokens=tokens,
        short_tokens=200,
        n1_answers=5,
        n1_tokens=100,
        latency_levels=(1, 20, 100),
        tier3_concurrency=50,
        ramp=(10, 25, 50, 75, 100, 150, 200, 300),
        measure_periods=1.0,
    )


def quick_plan(ttft: float, rate: float, chunk_chars: int, tokens: int) -> Plan:
    """A sanity check in under two minutes: small answers, few levels, a short ramp."""
    return Plan(
        ttft=ttft,
        rate=rate,
        chunk_chars=chunk_chars,
        long_tokens=min(tokens, 50),
        short_tokens=50,
        n1_answers=2,
        n1_tokens=25,
        latency_levels=(1, 20),
        tier3_concurrency=5,
        ramp=(50,),
        measure_periods=0.5,
        ramp_policies=("time",),
    )


def sustained(scenario: str, policy: Policy, n: int, plan: Plan, limits: Limits) -> LoadSpec:
    """`n` answers in flight: questions every duration/n seconds; the first n are warm-up."""
    if n == 1:
        shape = plan.shape(plan.n1_tokens)
        return LoadSpec(
            scenario,
            policy,
            1,
            answers=plan.n1_answers,
            spacing=shape.duration + 0.5,
            warmup=0,
            answer=shape,
            limits=limits,
            timeout=60.0,
            replicas=plan.replicas,
        )
    shape = plan.shape(plan.short_tokens)
    measured = max(1, round(n * plan.measure_periods))
    return LoadSpec(
        scenario,
        policy,
        n,
        answers=n + measured,
        spacing=shape.duration / n,
        warmup=n,
        answer=shape,
        limits=limits,
        timeout=120.0,
        replicas=plan.replicas,
    )


def burst(scenario: str, policy: Policy, n: int, plan: Plan, limits: Limits) -> LoadSpec:
    """`n` long answers started within about a second, all streaming together."""
    shape = plan.shape(plan.long_tokens)
    return LoadSpec(
        scenario,
        policy,
        n,
        answers=n,
        spacing=BURST_SPACING_S if n > 1 else 0.0,
        warmup=0,
        answer=shape,
        limits=limits,
        timeout=shape.duration + 90.0,
        replicas=plan.replicas,
    )


@dataclass
class Ramp:
    """The throughput ramp of one policy: the runs, and the largest level that held the goal."""

    policy: Policy
    runs: list[RunResult] = field(default_factory=list)
    sustained: int | None = None  # largest level with overhead p99 within the limit
    failed_at: int | None = None  # the first level that broke it (None: none tested did)


def holds(result: RunResult) -> bool:
    """Overhead p99 within the limit and every answer delivered in full."""
    p99 = result.overhead_ms.p99
    return p99 is not None and p99 <= OVERHEAD_P99_LIMIT_MS and result.completed == result.answers


def tail_only(result: RunResult) -> bool:
    """Broke on its tail alone (p50 within the limit): worth a second look before stopping."""
    p50 = result.overhead_ms.p50
    return p50 is not None and p50 <= OVERHEAD_P99_LIMIT_MS and result.completed == result.answers


@dataclass
class Outcome:
    """Everything the suite ran."""

    runs: list[RunResult] = field(default_factory=list)
    ramps: dict[str, Ramp] = field(default_factory=dict)

    def find(self, scenario: str, policy: Policy, concurrency: int) -> RunResult | None:
        """The run of this scenario, policy and concurrency, if it ran."""
        for run in self.runs:
            spec = run.spec
            if (spec.scenario, spec.policy, spec.concurrency) == (scenario, policy, concurrency):
                return run
        return None


async def run_suite(
    plan: Plan, env: BenchEnv, scenarios: Sequence[str], say: Callable[[str], None] = print
) -> Outcome:
    """Run the chosen scenarios, each policy in turn, one fresh bot process per run."""
    outcome = Outcome()
    if "single" in scenarios:
        say("single: one long answer, Slack's real rate tiers")
        for policy in plan.policies:
            spec = burst("single", policy, 1, plan, Limits.TIERS)
            outcome.runs.append(await run_load(spec, env, trace_indexes=TRACED, say=say))
    if "latency" in scenarios:
        say("latency: N answers in flight, Slack limits lifted")
        for n in plan.latency_levels:
            for policy in plan.policies:
                spec = sustained("latency", policy, n, plan, Limits.LIFTED)
                outcome.runs.append(await run_load(spec, env, say=say))
    if "tier3" in scenarios:
        say(f"tier3: {plan.tier3_concurrency} long answers at once, Slack's real rate tiers")
        for policy in plan.policies:
            spec = burst("tier3", policy, plan.tier3_concurrency, plan, Limits.TIERS)
            outcome.runs.append(await run_load(spec, env, say=say))
    if "throughput" in scenarios:
        say("throughput: ramp N answers in flight until overhead p99 > 100 ms, limits lifted")
        for policy in plan.ramp_policies:
            outcome.ramps[policy] = await ramp_up(policy, plan, env, outcome, say)
    return outcome


async def ramp_up(
    policy: Policy, plan: Plan, env: BenchEnv, outcome: Outcome, say: Callable[[str], None]
) -> Ramp:
    """Raise N until the overhead p99 breaks the limit; a break on the tail alone is run once
    more (a p99 over 2N answers can hang on one late answer), and the ramp stops only if that
    breaks too."""
    ramp = Ramp(policy)
    for n in plan.ramp:
        spec = sustained("throughput", policy, n, plan, Limits.LIFTED)
        result = await run_load(spec, env, say=say)
        ramp.runs.append(result)
        outcome.runs.append(result)
        if not holds(result) and tail_only(result):
            say("    (broke on the tail alone: once more)")
            result = await run_load(spec, env, say=say)
            ramp.runs.append(result)
            outcome.runs.append(result)
        if not holds(result):
            ramp.failed_at = n
            break
        ramp.sustained = n
    return ramp
