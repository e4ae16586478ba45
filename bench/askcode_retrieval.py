"""/ask-code retrieval: are the files that answer a question in front of the model at once?

    python -m bench.askcode_retrieval [--budget 100000] [--before REV] [--json PATH] [--misses]

Repositories of different sizes, each an installed PyPI package committed into a temporary git
repository, and questions whose answer lives in known files (bench/askcode_questions.py: the
method of SWE-QA-Bench, the questions our own; flask and requests held out). A question counts
as covered when every one of its files is in the initial context (whole, or a line range of it)
— what the model reads before any tool call. Three selections, in one run:

- today: the bot's /ask-code code at REV (default: the commit before this work), from a
  `git archive` of its `bot/`, run on the same repositories;
- new: this checkout's /ask-code code;
- baseline: every `.py` file in path order, concatenated raw (a path line each) and cut at the
  budget, counted with the same estimate as the bot's context (3.5 characters a token; the
  figures at 4 characters a token are printed too). It never looks at docs or config.

Both bot runs go through the same worker script in a subprocess (`python -m bot`'s own code,
nothing mocked, no API call: tokens are the bot's calibrated estimate).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from bench.askcode_answers import Part, resolve, shows_file, shows_span
from bench.askcode_questions import CASES, Case

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "2addb4fc7944d1b569c075d1d986f49adfc8ecfe"  # the code before the context-quality work
CHARS_PER_TOKEN = 3.5  # bot.askcode.context's estimate, for the baseline too

WORKER = """
import asyncio, json, sys
from pathlib import Path
from bot.askcode.inspect import open_local, report
from bot.logs import configure_logging

async def main():
    job = json.loads(Path(sys.argv[1]).read_text())
    configure_logging("WARNING", "console")
    out = {}
    for repo in job["repos"]:
        ws = await open_local(Path(repo["path"]), job["budget"])
        rows = []
        for question in repo["questions"]:
            shown = report(ws, question, job["budget"])
            parts = [(f["path"], f["start_line"], f["end_line"]) for f in shown["files"]]
            rows.append({"parts": parts, "tokens": shown["tokens"]["total"]})
        out[repo["name"]] = {"mode": ws.plan.mode.value, "whole_tokens": ws.plan.whole_tokens,
                             "selected": len(ws.snapshot.files), "rows": rows}
    Path(sys.argv[2]).write_text(json.dumps(out))

asyncio.run(main())
"""


def git(repo: Path, *args: str, capture: bool = False) -> bytes:
    """Run git quietly in the repository (no user config)."""
    env = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}
    done = subprocess.run(  # noqa: S603  # fixed git command lines
        ["git", "-C", str(repo), *args],  # noqa: S607
        check=True,
        capture_output=True,
        env={**env, "PATH": "/usr/bin:/bin:/usr/local/bin", "GIT_CONFIG_GLOBAL": "/dev/null"},
    )
    return done.stdout if capture else b""


def package_repo(package: str, into: Path) -> Path:
    """An installed package's source committed into a fresh git repository."""
    source = Path(importlib.import_module(package).__file__ or "").parent
    target = into / source.name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    git(target, "init", "--quiet")
    git(target, "add", "--all")
    git(target, "commit", "--quiet", "-m", "snapshot")
    return target


def baseline(
    repo: Path, budget_tokens: int, chars_per_token: float = CHARS_PER_TOKEN
) -> list[Part]:
    """What the simple approach shows: every .py at HEAD in path order, each as a path line and
    its raw text, cut at the budget (the file the cut goes through, up to the cut)."""
    listing = git(repo, "ls-tree", "-r", "-z", "--name-only", "HEAD", capture=True).decode()
    room = int(budget_tokens * chars_per_token)
    parts: list[Part] = []
    for path in sorted(p for p in listing.split("\0") if p.endswith(".py")):
        if room <= 0:
            break
        text = (repo / path).read_text(encoding="utf-8", errors="replace")
        room -= len(f"=== {path}\n")
        shown = text[: max(room, 0)]
        lines = shown.count("\n") + (0 if shown.endswith("\n") else 1)
        if shown:
            parts.append((path, 1, lines))
        room -= len(text) + 1
    return parts


def archived_bot(rev: str, into: Path) -> Path:
    """This repository's `bot/` at `rev`, extracted (git archive) into a folder of its own."""
    data = git(ROOT, "archive", "--format=tar", rev, "bot", capture=True)
    target = into / f"bot-{rev[:10]}"
    target.mkdir()
    with tarfile.open(fileobj=BytesIO(data)) as archive:
        archive.extractall(target, filter="data")
    return target


def run_worker(code_root: Path, repos: dict[str, Path], budget: int, work: Path) -> dict[str, Any]:
    """What the bot code under `code_root` puts in front of the model, question by question."""
    job = {
        "budget": budget,
        "repos": [
            {
                "name": case.name,
                "path": str(repos[case.name]),
                "questions": [q for q, _ in case.questions],
            }
            for case in CASES
        ],
    }
    job_path, out_path = work / f"job-{code_root.name}.json", work / f"out-{code_root.name}.json"
    job_path.write_text(json.dumps(job))
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    subprocess.run(  # noqa: S603  # this interpreter, a fixed script
        [sys.executable, "-c", WORKER, str(job_path), str(out_path)],
        check=True,
        cwd=code_root,
        env=env,
    )
    result: dict[str, Any] = json.loads(out_path.read_text())
    return result


@dataclass(frozen=True)
class Score:
    """Questions whose files (any part of each), and whose answer code, were in the context, out
    of those asked; and the mean tokens a question."""

    files: int
    answers: int
    asked: int
    tokens: int = 0

    def __str__(self) -> str:
        return f"{self.files}/{self.asked} · {self.answers}/{self.asked}"

    def __add__(self, other: Score) -> Score:
        return Score(
            self.files + other.files, self.answers + other.answers, self.asked + other.asked
        )


def score(case: Case, repo: Path, shown: list[list[Part]], tokens: list[int]) -> Score:
    """How many of the case's questions had all their files, and all their answer code, among
    the parts shown for each."""
    files = answers = 0
    for (_, locations), parts in zip(case.questions, shown, strict=True):
        spans = [resolve(location, repo) for location in locations]
        files += all(shows_file(parts, path) for path, _ in spans)
        answers += all(shows_span(parts, path, span) for path, span in spans)
    mean = round(sum(tokens) / len(tokens)) if tokens else 0
    return Score(files, answers, len(case.questions), mean)


def run_score(case: Case, repo: Path, run: dict[str, Any]) -> Score:
    """A bot run's score on the case."""
    shown = [[tuple(part) for part in row["parts"]] for row in run["rows"]]
    return score(case, repo, shown, [row["tokens"] for row in run["rows"]])  # type: ignore[arg-type]


def missed(case: Case, repo: Path, run: dict[str, Any]) -> list[str]:
    """The questions whose answer code a run did not show."""
    out = []
    for (question, locations), row in zip(case.questions, run["rows"], strict=True):
        parts = [tuple(part) for part in row["parts"]]
        spans = [resolve(location, repo) for location in locations]
        if not all(shows_span(parts, path, span) for path, span in spans):  # type: ignore[arg-type]
            out.append(question)
    return out


def measure(budget: int, before: str) -> dict[str, Any]:
    """Build the repositories and run the three selections on them."""
    results = []
    with tempfile.TemporaryDirectory(prefix="askcode-bench-") as tmp:
        work = Path(tmp)
        (work / "repos").mkdir()
        repos = {case.name: package_repo(case.package, work / "repos") for case in CASES}
        runs = {
            "today": run_worker(archived_bot(before, work), repos, budget, work),
            "new": run_worker(ROOT, repos, budget, work),
        }
        for case in CASES:
            repo = repos[case.name]
            today, new = runs["today"][case.name], runs["new"][case.name]
            n = len(case.questions)
            results.append(
                {
                    "repo": case.name,
                    "size": case.size,
                    "held_out": case.held_out,
                    "files": new["selected"],
                    "whole_tokens": new["whole_tokens"],
                    "mode_today": today["mode"],
                    "mode_new": new["mode"],
                    "today": run_score(case, repo, today),
                    "new": run_score(case, repo, new),
                    "baseline": score(case, repo, [baseline(repo, budget)] * n, []),
                    "baseline4": score(case, repo, [baseline(repo, budget, 4.0)] * n, []),
                    "missed": {"today": missed(case, repo, today), "new": missed(case, repo, new)},
                }
            )
    return {"budget": budget, "before": before, "results": results}


def table(report: dict[str, Any]) -> str:
    """The Markdown table: per repository and overall, today vs new vs the baseline."""
    lines = [
        f"budget {report['budget']:,} tokens; today = `bot/` at {report['before'][:10]}; each "
        "cell: questions with every answer file in the initial context · with the answer code "
        "itself in it\n",
        "| repository | size | files | whole (tokens) | mode today → new | today | new "
        "| baseline (.py up to the budget) | tokens a question today → new |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    for held_out, label in ((False, "goal set"), (True, "held out")):
        group = [r for r in report["results"] if r["held_out"] is held_out]
        for r in group:
            lines.append(
                f"| {r['repo']} | {r['size']} | {r['files']} | {r['whole_tokens']:,} "
                f"| {r['mode_today']} → {r['mode_new']} | {r['today']} | **{r['new']}** "
                f"| {r['baseline']} | {r['today'].tokens:,} → {r['new'].tokens:,} |"
            )
        sums = {k: sum((r[k] for r in group), Score(0, 0, 0)) for k in ("today", "new", "baseline")}
        lines.append(
            f"| **{label}** | | | | | {share(sums['today'])} | **{share(sums['new'])}** "
            f"| {share(sums['baseline'])} | |"
        )
    four = ", ".join(f"{r['repo']} {r['baseline4']}" for r in report["results"])
    lines.append(f"\nbaseline at 4 characters a token (the old definition): {four}")
    return "\n".join(lines)


def share(s: Score) -> str:
    """A total as percentages."""
    return f"{s.files / s.asked:.0%} · {s.answers / s.asked:.0%} (of {s.asked})"


def misses(report: dict[str, Any], side: str = "new") -> str:
    """The questions whose answer code a selection did not show."""
    return "\n".join(
        f"{r['repo']}: " + "; ".join(r["missed"][side])
        for r in report["results"]
        if r["missed"][side]
    )


def as_json(report: dict[str, Any]) -> str:
    """The report as JSON (scores as covered/asked/tokens)."""

    def plain(value: Any) -> Any:
        if isinstance(value, Score):
            return {
                "files": value.files,
                "answers": value.answers,
                "asked": value.asked,
                "tokens": value.tokens,
            }
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return json.dumps(plain(report), indent=2)


def main() -> None:
    """Run and print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--budget", type=int, default=100_000)
    parser.add_argument("--before", default=BEFORE, help="the revision whose bot/ is 'today'")
    parser.add_argument("--json", type=Path, help="also write the full report there")
    parser.add_argument("--misses", action="store_true", help="list the questions missed")
    args = parser.parse_args()
    missing = [c.package for c in CASES if importlib.util.find_spec(c.package) is None]
    if missing:
        sys.exit(
            f"not installed: {', '.join(missing)}; install the bench extra "
            "(VENV=.venv-bench scripts/bench askcode_retrieval does)"
        )
    report = measure(args.budget, args.before)
    print(table(report))
    if args.misses:
        print("\nanswer code not shown today:\n" + misses(report, "today"))
        print("\nanswer code not shown by the new selection:\n" + misses(report))
    if args.json:
        args.json.write_text(as_json(report))


if __name__ == "__main__":
    main()
