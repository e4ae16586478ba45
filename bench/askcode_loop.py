"""/ask-code and the event loop: how long one turn blocks the loop, and the memory it takes.

    python -m bench.askcode_loop [--scenarios big,java,redos] [--json]

Each scenario runs in its own process (so its peak RSS is its own), builds a git repository in a
temporary directory, and runs /ask-code's service as a turn does (open the repository at its
latest commit, pick the question's excerpts, and for `redos` one search_code call) twice, while
an asyncio ticker that wakes every 5 ms records the longest it was kept waiting (the loop lag):

- `big`: about 35 MB of generated `.py` files (the map, the search index, the excerpts);
- `java`: one 31 KB Java file whose lines are long runs of spaces (the repository map's outline);
- `redos`: search_code with the pattern `(\\w+\\w*)+\\s*=$` over a 20-character identifier line.

No API call is made (tokens are the estimate). Numbers only: nothing here fails on timing.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.askcode.repos import repo_spec
from bot.askcode.service import AskCodeOptions, AskCodeService

SCENARIOS = ("big", "java", "redos")
REDOS = r"(\w+\w*)+\s*=$"
TICK = 0.005


def git_commit(repo: Path, files: dict[str, str]) -> None:
    """A one-commit repository with these files."""
    repo.mkdir(parents=True)
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    env = {
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@example.invalid",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@example.invalid",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "PATH": "/usr/bin:/bin",
    }
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "bench"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=env)  # noqa: S603,S607


def python_files(total_bytes: int, seed: int = 7) -> dict[str, str]:
    """Generated Python modules (classes, methods, constants) adding up to about total_bytes."""
    rng = random.Random(seed)
    words = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9)))
        for _ in range(4000)
    ]
    files: dict[str, str] = {}
    size, index = 0, 0
    while size < total_bytes:
        parts = [f'"""Module {index}: {" ".join(rng.sample(words, 8))}."""\n\nLIMIT_{index} = 3\n']
        for c in range(12):
            parts.append(f"\n\nclass {rng.choice(words).title()}{c}:\n")
            for m in range(8):
                args = ", ".join(rng.sample(words, 3))
                parts.append(f"    def {rng.choice(words)}_{m}(self, {args}):\n")
                for _ in range(6):
                    a, b, c2 = rng.sample(words, 3)
                    parts.append(f"        {a} = {b}({c2}, {rng.randint(0, 99)})  # {a} {b}\n")
                parts.append(f"        return {rng.choice(words)}\n")
        text = "".join(parts)
        files[f"pkg/sub{index % 40}/mod_{index}.py"] = text
        size += len(text)
        index += 1
    return files


def java_files() -> dict[str, str]:
    """A 31 KB Java file with three 9,000-space lines among short ones (not minified)."""
    short = "".join(f"    int field{i};\n" for i in range(200))
    body = short + "".join(" " * 9_000 + "\n" for _ in range(3))
    return {"src/Main.java": f"public class Main {{\n{body}}}\n", "README.md": "# Java\n"}


def redos_files() -> dict[str, str]:
    """A file with a 20-character identifier line (and enough text to be searched)."""
    filler = "".join(f"def helper_{i}(x):\n    return x + {i}\n\n" for i in range(400))
    return {"src/ids.py": "abcdefghij_klmnopqrs\n" + filler, "README.md": "# Ids\n"}


async def max_lag_while(
    work: Callable[[], Awaitable[Any]],
) -> tuple[Any, float, float, float]:
    """(result, seconds, CPU seconds of this process, the loop's longest lag) of running `work`
    with a 5 ms ticker beside it."""
    lag = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal lag
        while not done.is_set():
            start = time.perf_counter()
            await asyncio.sleep(TICK)
            lag = max(lag, time.perf_counter() - start - TICK)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    start, cpu = time.perf_counter(), time.process_time()
    try:
        result = await work()
    finally:
        done.set()
        await task
    return result, time.perf_counter() - start, time.process_time() - cpu, lag


async def turn(service: AskCodeService, name: str, question: str, scenario: str) -> str:
    """What one /ask-code turn does with the service (before the model is called), and the
    search of the redos scenario."""

    async def silent(_: str) -> None:
        return None

    workspace = await service.open(name, None, silent)
    excerpts = workspace.excerpts(question)
    if inspect.isawaitable(excerpts):
        excerpts = await excerpts
    if scenario == "redos":
        text, is_error = await workspace.run_tool("search_code", {"pattern": REDOS})
        return f"search_code -> error={is_error}: {text[:80]!r}"
    return f"mode={workspace.plan.mode.value}, excerpts={len(excerpts)} chars"


async def run_scenario(scenario: str) -> dict[str, Any]:
    """One scenario in this process: two turns, each with its time and loop lag; peak RSS."""
    files = {"big": lambda: python_files(35 * 1024 * 1024), "java": java_files}.get(
        scenario, redos_files
    )()
    with tempfile.TemporaryDirectory(prefix="askcode-bench-") as tmp:
        repo = Path(tmp) / scenario
        git_commit(repo, files)
        budget = 100_000 if scenario == "big" else 1_000
        options = AskCodeOptions(data_dir=Path(tmp) / "data", budget_tokens=budget)
        service = AskCodeService({scenario: repo_spec(scenario, str(repo))}, options)
        turns = []
        question = "how is the limit of the helper computed in main?"
        for _ in range(2):
            outcome, seconds, cpu, lag = await max_lag_while(
                lambda: turn(service, scenario, question, scenario)
            )
            turns.append(
                {
                    "seconds": round(seconds, 2),
                    "cpu_seconds": round(cpu, 2),
                    "max_lag": round(lag, 3),
                    "what": outcome,
                }
            )
    return {
        "scenario": scenario,
        "input_bytes": sum(len(t.encode()) for t in files.values()),
        "turns": turns,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> None:
    """Run each scenario in a fresh process and print the table (or JSON)."""
    parser = argparse.ArgumentParser(prog="python -m bench.askcode_loop", description=__doc__)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child process runs one scenario
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(asyncio.run(run_scenario(args.one))))
        return
    results = []
    for scenario in args.scenarios.split(","):
        done = subprocess.run(  # noqa: S603  # this module, one scenario
            [sys.executable, "-m", "bench.askcode_loop", "--one", scenario],
            check=True,
            capture_output=True,
            text=True,
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        "| scenario | input | turn 1: wall s / CPU s / max loop lag | turn 2: the same | peak RSS |"
    )
    print("|---|---|---|---|---|")
    for r in results:
        one, two = r["turns"]
        print(
            f"| {r['scenario']} | {r['input_bytes'] / 1024:,.0f} KB | {_turn(one)} | "
            f"{_turn(two)} | {r['peak_rss_mb']} MB |"
        )
        for t in r["turns"]:
            print(f"<!-- {r['scenario']}: {t['what']} -->")


def _turn(figures: dict[str, Any]) -> str:
    return f"{figures['seconds']} / {figures['cpu_seconds']} / {figures['max_lag']} s"


if __name__ == "__main__":
    main()
