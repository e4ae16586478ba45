"""The Markdown report: headline figures of the bot's policy, its ratios to the baselines, goals."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.bot_lag import BotLag
from bench.metrics import Summary, ratio, staleness_floor
from bench.runner import RunResult
from bench.scenarios import BURST_SPACING_S, OVERHEAD_P99_LIMIT_MS, Outcome, Plan
from bench.spec import BASELINES, BOT_POLICY, POLICIES, Limits, Policy

Values = tuple[float | None, ...]
OTHER_LOAD_SHARE = 0.1
POLICY_TITLES = {
    "time": "Bot (`time`)",
    "every_delta": "(a) `every_delta`",
    "every_20_deltas": "(b) `every_20_deltas`",
}


TIER3_PER_MINUTE = Limits.TIERS.rate_limits().update_per_minute or 50.0  # chat.update


@dataclass(frozen=True)
class Row:
    """One line of the headline table."""

    label: str
    values: Callable[[Outcome, Policy], Values]
    digits: int = 0
    goal: str = ""
    met: Callable[[Values], bool] | None = None
    ratios: bool = True
    show: Callable[[Outcome, Policy, Values], str] | None = None  # a custom cell


def fmt(value: float | None, digits: int) -> str:
    """A number for the table ("—" when missing)."""
    if value is None:
        return "—"
    if digits == 0 and abs(value) < 10 and value != int(value):
        return f"{value:.1f}"
    return f"{value:,.{digits}f}"


def fmt_all(values: Values, digits: int) -> str:
    """Several numbers, "a / b / c"."""
    return " / ".join(fmt(v, digits) for v in values) if values else "—"


def fmt_ratio(values: Values, baseline: Values) -> str:
    """value ÷ baseline for each pair, "0.52× / 0.31×"."""
    if not values or not baseline:
        return "—"
    parts = [ratio(v, b) for v, b in zip(values, baseline, strict=True)]
    return " / ".join("—" if r is None else f"{r:.2f}×" for r in parts)


def _pick(
    scenario: str, concurrency: int, get: Callable[[RunResult], Values]
) -> Callable[[Outcome, Policy], Values]:
    def values(outcome: Outcome, policy: Policy) -> Values:
        run = outcome.find(scenario, policy, concurrency)
        return get(run) if run is not None else ()

    return values


def _p50_p99(summary: Summary) -> Values:
    return (summary.p50, summary.p99)


def _ramp(outcome: Outcome, policy: Policy) -> Values:
    ramp = outcome.ramps.get(policy)
    if ramp is None:
        return ()
    return (float(ramp.sustained) if ramp.sustained is not None else 0.0,)


def _complete(run: RunResult) -> Values:
    return (float(run.completed), float(run.answers), float(run.unseen_deltas))


def _bounded(bounds: dict[int, float], *, at_least: bool = False) -> Callable[[Values], bool]:
    """A goal check: values[i] <= bound (or >= with at_least) for every (i, bound)."""

    def check(values: Values) -> bool:
        for index, bound in bounds.items():
            value = values[index] if index < len(values) else None
            if value is None or (value < bound if at_least else value > bound):
                return False
        return True

    return check


def _show_complete(outcome: Outcome, policy: Policy, values: Values) -> str:
    if not values:
        return "—"
    never = f", {fmt(values[2], 0)} deltas never shown" if values[2] else ""
    return f"{fmt(values[0], 0)}/{fmt(values[1], 0)}{never}"


def _show_ramp(outcome: Outcome, policy: Policy, values: Values) -> str:
    ramp = outcome.ramps.get(policy)
    if ramp is None:
        return "—"
    held = "none" if ramp.sustained is None else str(ramp.sustained)
    return f"{held} (broke at {ramp.failed_at})" if ramp.failed_at else f"≥ {held}"


def headline_rows(plan: Plan) -> list[Row]:
    """The rows of the headline table for this plan's sizes."""
    top = max(plan.latency_levels)
    n3 = plan.tier3_concurrency
    long = f"{plan.long_tokens:,}-token answer at {plan.rate:g} tok/s"
    rows = [
        Row(
            "Ack latency p50 / p99 (ms), 1 in flight",
            _pick("latency", 1, lambda r: _p50_p99(r.ack_ms)),
        ),
        Row(
            f"Ack latency p50 / p99 (ms), {top} in flight",
            _pick("latency", top, lambda r: _p50_p99(r.ack_ms)),
        ),
    ]
    for n in plan.latency_levels:
        goal = "p50 ≤ 30, p99 ≤ 100" if n == 100 else ""
        rows.append(
            Row(
                f"Overhead to first text p50 / p99 (ms), {n} in flight",
                _pick("latency", n, lambda r: _p50_p99(r.overhead_ms)),
                goal=goal,
                met=_bounded({0: 30.0, 1: OVERHEAD_P99_LIMIT_MS}) if goal else None,
            )
        )
    rows += [
        Row(
            f"Slack calls per answer / 429s, one {long}",
            _pick("single", 1, lambda r: (r.slack.calls_per_answer, float(r.slack.rate_limited))),
            digits=1,
        ),
        Row(
            f"Slack calls per answer / 429s, {n3} such answers at once (Tier 3)",
            _pick("tier3", n3, lambda r: (r.slack.calls_per_answer, float(r.slack.rate_limited))),
            digits=1,
            goal="0 × 429 at 50" if n3 == 50 else "",
            met=_bounded({1: 0.0}) if n3 == 50 else None,
        ),
        Row(
            f"Overhead to first text p50 / p99 (ms), {n3} at once (Tier 3)",
            _pick("tier3", n3, lambda r: _p50_p99(r.overhead_ms)),
        ),
        Row(
            f"Answers whose full text landed, {n3} at once (Tier 3)",
            _pick("tier3", n3, _complete),
            ratios=False,
            show=_show_complete,
        ),
        Row(
            "Staleness p50 / p95 / max (s), one answer",
            _pick("single", 1, lambda r: (r.staleness_s.p50, r.staleness_s.p95, r.staleness_s.max)),
            digits=2,
            goal="p95 ≤ 1.5 s",
            met=_bounded({1: 1.5}),
        ),
        Row(
            f"Staleness p50 / p95 / max (s), {n3} at once (Tier 3)",
            _pick("tier3", n3, lambda r: (r.staleness_s.p50, r.staleness_s.p95, r.staleness_s.max)),
            digits=2,
        ),
        Row(
            f"Staleness floor p50 / p95 (s), {n3} at once: chat.update's "
            f"{TIER3_PER_MINUTE:g}/min spread evenly (edits only)",
            _pick("tier3", n3, lambda r: staleness_floor(r.answers, TIER3_PER_MINUTE)),
            digits=2,
            ratios=False,
        ),
        Row(
            "First 10 words shown after Claude wrote them p50 / max (s), one answer",
            _pick("single", 1, lambda r: (r.first_words_s.p50, r.first_words_s.max)),
            digits=2,
            goal="≤ 0.5 s",
            met=_bounded({0: 0.5}),
        ),
        Row(
            f"First 10 words shown after Claude wrote them p50 / max (s), {n3} at once (Tier 3)",
            _pick("tier3", n3, lambda r: (r.first_words_s.p50, r.first_words_s.max)),
            digits=2,
            goal="p50 ≤ 2 s at 20" if n3 == 20 else "",
            met=_bounded({0: 2.0}) if n3 == 20 else None,
        ),
        Row(
            f"Bot CPU s per 1,000 streamed tokens, {top} in flight",
            _pick("latency", top, lambda r: (r.resources.cpu_s_per_1k_tokens,)),
            digits=3,
        ),
        Row(
            f"Bot peak RSS (MB), {top} in flight",
            _pick("latency", top, lambda r: (r.resources.peak_rss_mb,)),
        ),
        Row(
            f"Redis commands per turn, {top} in flight",
            _pick("latency", top, lambda r: (r.resources.redis_commands_per_turn,)),
            digits=1,
        ),
        Row(
            "Answers in flight sustained with overhead p99 ≤ 100 ms",
            _ramp,
            goal="≥ 200",
            met=_bounded({0: 200.0}, at_least=True),
            show=_show_ramp,
        ),
    ]
    return rows


def verdict(row: Row, values: Values) -> str:
    """The goal column: the goal and whether the bot's policy met it."""
    if not row.goal:
        return ""
    if row.met is None or not values:
        return row.goal
    return f"{row.goal} {'✅' if row.met(values) else '❌'}"


def headline(outcome: Outcome, plan: Plan) -> tuple[str, list[dict[str, Any]]]:
    """The headline table in Markdown, and the same figures for the JSON file."""
    policies = [p for p in POLICIES if p in plan.policies]
    baselines = [b for b in BASELINES if b in policies]
    header = ["Measure", *(POLICY_TITLES[p] for p in policies)]
    header += [f"Bot ÷ {POLICY_TITLES[b].split()[0]}" for b in baselines] + ["Goal"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    figures: list[dict[str, Any]] = []
    for row in headline_rows(plan):
        values = {p: row.values(outcome, p) for p in policies}
        if not any(values.values()):
            continue
        cells = [row.label, *(_cell(row, p, values[p], outcome) for p in policies)]
        for baseline in baselines:
            cells.append(fmt_ratio(values[BOT_POLICY], values[baseline]) if row.ratios else "")
        cells.append(verdict(row, values[BOT_POLICY]))
        lines.append("| " + " | ".join(cells) + " |")
        figures.append(
            {
                "measure": row.label,
                "values": {p: list(v) for p, v in values.items()},
                "goal": row.goal,
                "met": row.met(values[BOT_POLICY]) if row.met and values[BOT_POLICY] else None,
            }
        )
    return "\n".join(lines), figures


def _cell(row: Row, policy: Policy, values: Values, outcome: Outcome) -> str:
    if row.show is not None:
        return row.show(outcome, policy, values)
    return fmt_all(values, row.digits)


def runs_table(runs: Sequence[RunResult]) -> str:
    """Every run, one line each."""
    header = [
        "Run",
        "Slack limits",
        "Answers (complete)",
        "Ack p99 ms",
        "Overhead p50 / p99 ms",
        "Pre-Claude p99 ms",
        "Post-Claude p99 ms",
        "Staleness p95 s",
        "Slack calls / answer",
        "429s",
        "Bot CPU s",
        "Fakes CPU s",
        "Fakes lag p99 ms",
        "Bot lag p99 / worst ms",
        "Other CPU s",
        "Peak RSS MB",
        "Wall s",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for run in runs:
        cells = [
            f"`{run.spec.label}`",
            run.spec.limits.value,
            f"{run.answers} ({run.completed})",
            fmt(run.ack_ms.p99, 0),
            fmt_all(_p50_p99(run.overhead_ms), 0),
            fmt(run.pre_claude_ms.p99, 0),
            fmt(run.post_claude_ms.p99, 0),
            fmt(run.staleness_s.p95, 2),
            fmt(run.slack.calls_per_answer, 1),
            str(run.slack.rate_limited),
            fmt(run.resources.bot_cpu_s, 1),
            fmt(run.resources.fakes_cpu_s, 1),
            fmt(run.resources.fakes_loop_lag_ms.p99, 0),
            bot_lag_cell(run.resources.bot_loop_lag),
            fmt(run.resources.other_cpu_s, 1),
            fmt(run.resources.peak_rss_mb, 0),
            fmt(run.wall_s, 0),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bot_lag_cell(lag: BotLag) -> str:
    """`≤p99 / worst` of the bot's loop lag: a bucket bound is shown as ≤, a logged stall as is."""
    if lag.samples == 0 and lag.worst_ms is None:
        return "-"
    p99 = "-" if lag.p99_le_ms is None else f"≤{lag.p99_le_ms:.0f}"
    worst = "-" if lag.worst_ms is None else f"{'' if lag.worst_exact else '≤'}{lag.worst_ms:.0f}"
    return f"{p99} / {worst}"


def scenarios_text(plan: Plan) -> str:
    """What each scenario does and which Slack limits the fake enforced."""
    tiers = (
        "Slack's rate tiers enforced: chat.update Tier 3, 50/min for the whole workspace "
        "(burst 10); chat.postMessage 1/s per channel (burst 5); other methods unlimited"
    )
    lifted = "Slack rate limits lifted (the bot alone is measured)"
    long = plan.shape(plan.long_tokens)
    short = plan.shape(plan.short_tokens)
    return "\n".join(
        [
            f"- **single** — one {plan.long_tokens:,}-token answer at {plan.rate:g} tok/s "
            f"(TTFT {plan.ttft:g} s, {long.duration:.1f} s of streaming) per policy. {tiers}.",
            f"- **latency** — N answers in flight: {plan.short_tokens}-token answers "
            f"({short.duration:.1f} s each), a question every {short.duration:.1f}/N s, "
            f"{plan.measure_periods:g}× N measured after N warm-up answers; at N = 1, "
            f"{plan.n1_answers} answers of {plan.n1_tokens} tokens one after another. {lifted}.",
            f"- **tier3** — {plan.tier3_concurrency} {plan.long_tokens:,}-token answers started "
            f"within {plan.tier3_concurrency * BURST_SPACING_S:.1f} s, streaming together. "
            f"{tiers}.",
            f"- **throughput** — the latency load at N = {', '.join(map(str, plan.ramp))}, "
            f"stopping at the first N whose overhead p99 exceeds "
            f"{OVERHEAD_P99_LIMIT_MS:.0f} ms or leaves an answer incomplete (a level that "
            "breaks on its tail alone, p50 within the limit, is run once more and must break "
            f"again). {lifted}.",
            "- The bot's own workspace-wide chat.update budget (`BOT_SLACK_UPDATES_PER_MINUTE`, "
            "`BOT_SLACK_UPDATE_BURST`) keeps its defaults where Slack's tiers are enforced and is "
            "lifted where Slack's limits are; the baselines never have one (they are the naive "
            "policies).",
            "- Every answer has its own channel (so the per-channel chat.postMessage limit is "
            "never shared) and a new thread; 20 people ask in turn. Each run starts "
            + (
                f"{plan.replicas} fresh bot processes (replicas on one Redis; Slack hands the "
                "envelopes to their connections in turn)"
                if plan.replicas > 1
                else "a fresh bot process"
            )
            + " with INFO logs, and times nothing until each process has answered one short "
            f"warm-up question. Claude streams {plan.chunk_chars} characters (one token) per "
            "delta.",
        ]
    )


DEFINITIONS = """\
- **Ack latency**: the fake Slack pushes the Socket Mode envelope → the bot's ack arrives.
- **Overhead to first text**: envelope pushed → the first Slack write (chat.update or
  chat.postMessage, as it reaches the fake) that shows answer text, minus the configured TTFT.
  *Pre-Claude* is envelope → request at the fake Claude; *post-Claude* is first delta written by
  the fake Claude → shown in Slack.
- **Staleness**: for every delta, the fake Claude writing it → the first Slack write showing it
  (p50/p95/max over all deltas of the measured answers; text never shown is counted apart).
- **Staleness floor**: the best any edit policy could do with N messages streaming at once under
  chat.update's app-wide budget: each edited every N ÷ rate seconds, evenly, so a delta waits
  uniformly between 0 and that (p50 N ÷ 2·rate, p95 0.95·N ÷ rate; bursts ignored, and
  `chat.appendStream`'s own budget not counted).
- **First 10 words**: the fake Claude writing the delta that completes an answer's tenth word →
  the first Slack write showing them (p50/max over the measured answers).
- **Slack calls per answer**: every Web API call from the first question on (429s included),
  divided by the answers; **429s**: calls Slack refused with HTTP 429.
- **Resources**: the bot process's user+system CPU (from /proc) while the load ran, per 1,000
  output tokens; peak RSS is VmHWM; Redis commands from `INFO commandstats` (the bench's own INFO
  calls excluded; commands run inside Lua scripts count one by one) divided by turns. The fakes
  share the same 2 cores: their CPU, and how late their event loop woke up (p99), are in the runs
  table, with *Other CPU*: what processes outside the benchmark used meanwhile (should be ~0).
- **Bot lag**: how late the bot's event loop ran a timer during the measured window, from its
  `csb_event_loop_lag_seconds` histogram on /metrics (p99 as a bucket bound, ≤) and its
  `loop.stalled` log lines (the worst stall over 250 ms, exact; without one, the highest bucket
  reached, ≤); every replica together.
- Ratios are bot ÷ baseline: below 1× means the bot's policy is lower (better for every measure
  here except throughput)."""


def disturbed(runs: Sequence[RunResult], cores: int) -> list[RunResult]:
    """Runs during which other processes used over a tenth of the machine."""
    return [r for r in runs if r.resources.other_cpu_s > OTHER_LOAD_SHARE * r.wall_s * cores]


def render(outcome: Outcome, plan: Plan, meta: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The whole Markdown report, and the headline figures for the JSON file."""
    table, figures = headline(outcome, plan)
    noisy = disturbed(outcome.runs, os.cpu_count() or 1)
    if noisy:
        labels = ", ".join(f"`{r.spec.label}`" for r in noisy)
        table += (
            f"\n\n**Warning:** other processes used over {OTHER_LOAD_SHARE:.0%} of the machine "
            f"during {labels}; those figures are pessimistic."
        )
    parts = [
        "# claude-slack-bot benchmark",
        "",
        f"- Command: `{meta['command']}`",
        f"- Date: {meta['date']}",
        f"- Machine: {meta['machine']}",
        f"- Bot: {meta['bot']}",
        f"- Total wall time: {meta['wall_s']:.0f} s",
        "",
        "## Headline",
        "",
        table,
        "",
        "## Scenarios",
        "",
        scenarios_text(plan),
        "",
        "## Definitions",
        "",
        DEFINITIONS,
        "",
        "## Runs",
        "",
        runs_table(outcome.runs),
        "",
    ]
    return "\n".join(parts), figures
