"""/ask-code retrieval: are the files that answer a question in front of the model at once?

    python -m bench.askcode_retrieval [--budget 100000] [--json]

Three real codebases, each committed into a temporary git repository (this project is read at
its HEAD as it is): `requests` (small: installed with detect-secrets), this bot (mid-size, with
docs, config, CI and tests) and the `anthropic` SDK (large). For each, questions written by hand
whose answer lives in known files. A question counts as covered when every one of its files is
in the initial context (whole, or a line range of it) — what the model reads before any tool
call. The baseline is the simple approach: every `.py` file, in path order, concatenated up to
the same budget (4 characters a token); it never looks at docs, config or tests by design.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import requests

from bot.askcode.inspect import open_local, report
from bot.logs import configure_logging

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Case:
    """A codebase and its questions (question, files that answer it)."""

    name: str
    size: str
    questions: tuple[tuple[str, tuple[str, ...]], ...]


REQUESTS = Case(
    "requests",
    "small",
    (
        ("Which exception is raised after too many redirects?", ("sessions.py",)),
        ("How are proxies picked from environment variables?", ("utils.py",)),
        ("What is the default User-Agent header?", ("utils.py",)),
        ("How are HTTP basic auth credentials encoded?", ("auth.py",)),
        ("What names does status code 418 have?", ("status_codes.py",)),
        ("How does HTTPAdapter configure max_retries?", ("adapters.py",)),
        ("How are session cookies merged with request cookies?", ("cookies.py", "sessions.py")),
        ("What does raise_for_status do for a 404?", ("models.py",)),
        ("How does CaseInsensitiveDict compare keys?", ("structures.py",)),
        ("Where is the package version defined?", ("__version__.py",)),
    ),
)
THIS_BOT = Case(
    "claude-slack-bot",
    "mid",
    (
        ("Which OAuth scopes does the Slack app manifest ask for?", ("manifest.yml",)),
        ("What does CI run, and in what order?", (".ci/run",)),
        ("How does the Docker image check that the bot is healthy?", ("Dockerfile",)),
        ("How are cache breakpoints placed on Claude requests?", ("bot/claude/request.py",)),
        ("What is the Redis key layout of a thread?", ("bot/storage/keys.py",)),
        ("What is the default of BOT_MESSAGE_CHARS?", ("bot/config.py",)),
        ("How is a thread's answer lock renewed while it streams?", ("bot/storage/locks.py",)),
        (
            "Which hosts may receive the bot token when a file is downloaded?",
            ("bot/slack/files.py",),
        ),
        ("How do the wire tests start the real bot process?", ("testing/harness.py",)),
        ("How does the fake Claude model the prompt cache?", ("testing/fakes/claude_cache.py",)),
        (
            "How are Slack edits coalesced while an answer streams?",
            ("bot/conversation/throttle.py",),
        ),
        ("What is in the project's dev dependencies?", ("pyproject.toml",)),
    ),
)
ANTHROPIC = Case(
    "anthropic",
    "large",
    (
        ("When does the client retry on the x-should-retry header?", ("_base_client.py",)),
        ("How is the retry delay calculated from retry-after?", ("_base_client.py",)),
        ("What is the default timeout of a request?", ("_constants.py",)),
        ("Where is ANTHROPIC_API_KEY read from the environment?", ("_client.py",)),
        ("How does SSEDecoder decode server-sent event lines?", ("_streaming.py",)),
        ("Which exception class stands for an overloaded API (529)?", ("_exceptions.py",)),
        (
            "How does the message stream accumulate text_delta events?",
            ("lib/streaming/_messages.py",),
        ),
        ("How does messages.count_tokens send its request?", ("resources/messages/messages.py",)),
        ("How does the beta Files API upload a file?", ("resources/beta/files.py",)),
        ("How is the Authorization Bearer header built from the API key?", ("_client.py",)),
        ("How does the Bedrock client infer the AWS region?", ("lib/bedrock/_client.py",)),
        ("How does the Vertex client get a Google access token?", ("lib/vertex/_client.py",)),
        (
            "How does the beta tool runner pick the next step from the stop reason?",
            ("lib/tools/_beta_runner.py",),
        ),
        (
            "How does the refusal fallback middleware retry refused requests?",
            ("lib/middleware/_fallbacks.py",),
        ),
    ),
)


def git(repo: Path, *args: str) -> None:
    """Run git quietly in the repository."""
    env = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}
    subprocess.run(  # noqa: S603  # fixed git command lines on a temporary repository
        ["git", "-C", str(repo), *args],  # noqa: S607
        check=True,
        capture_output=True,
        env={**env, "PATH": "/usr/bin:/bin:/usr/local/bin", "GIT_CONFIG_GLOBAL": "/dev/null"},
    )


def package_repo(package_dir: Path, into: Path) -> Path:
    """An installed package's source committed into a fresh git repository."""
    target = into / package_dir.name
    shutil.copytree(package_dir, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    git(target, "init", "--quiet")
    git(target, "add", "--all")
    git(target, "commit", "--quiet", "-m", "snapshot")
    return target


def baseline(repo: Path, budget_tokens: int) -> set[str]:
    """Files the simple approach includes: every .py at HEAD, in path order, up to budget * 4
    characters (sizes from `git ls-tree -l`, so it reads the same commit as /ask-code)."""
    listing = subprocess.run(  # noqa: S603  # a fixed git command line
        ["git", "-C", str(repo), "ls-tree", "-r", "-l", "-z", "HEAD"],  # noqa: S607
        check=True,
        capture_output=True,
    ).stdout.decode()
    sizes = {}
    for record in filter(None, listing.split("\0")):
        meta, path = record.split("\t", 1)
        size = meta.split()[3]
        if path.endswith(".py") and size.isdigit():
            sizes[path] = int(size)
    included: set[str] = set()
    used = 0
    for path in sorted(sizes):
        if used >= budget_tokens * 4:
            break
        included.add(path)
        used += sizes[path]
    return included


async def run_case(case: Case, repo: Path, budget: int) -> dict[str, Any]:
    """Coverage of ours and the baseline over the case's questions."""
    simple = baseline(repo, budget)
    workspace = await open_local(repo, budget)
    ours_hits = simple_hits = 0
    rows = []
    tokens = []
    for question, files in case.questions:
        shown = report(workspace, question, budget)
        tokens.append(shown["tokens"]["total"])
        seen = {f["path"] for f in shown["files"]}
        ours, base = all(f in seen for f in files), all(f in simple for f in files)
        ours_hits += ours
        simple_hits += base
        rows.append({"question": question, "files": files, "ours": ours, "baseline": base})
    n = len(case.questions)
    return {
        "repo": case.name,
        "size": case.size,
        "files": shown["selected_files"],
        "whole_tokens": shown["tokens"]["whole_repository"],
        "mode": shown["mode"],
        "ours": ours_hits / n,
        "baseline": simple_hits / n,
        "questions": n,
        "mean_tokens": round(sum(tokens) / n),
        "rows": rows,
    }


async def main(budget: int, as_json: bool) -> None:
    """Run every case and print the table."""
    configure_logging("WARNING", "console")
    with tempfile.TemporaryDirectory(prefix="askcode-bench-") as tmp:
        small = package_repo(Path(requests.__file__).parent, Path(tmp))
        large = package_repo(Path(anthropic.__file__).parent, Path(tmp))
        results = [
            await run_case(REQUESTS, small, budget),
            await run_case(THIS_BOT, ROOT, budget),
            await run_case(ANTHROPIC, large, budget),
        ]
    if as_json:
        print(json.dumps(results, indent=2))
        return
    print(f"budget {budget:,} tokens\n")
    print(
        "| repository | size | files | whole repo (tokens) | mode | questions "
        "| ours | ours, tokens a question | baseline (.py up to the budget) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['repo']} | {r['size']} | {r['files']} | {r['whole_tokens']:,} | {r['mode']} | "
            f"{r['questions']} | {r['ours']:.0%} | {r['mean_tokens']:,} | {r['baseline']:.0%} |"
        )
    for r in results:
        missed = [row["question"] for row in r["rows"] if not row["ours"]]
        if missed:
            print(f"\n{r['repo']}: not in the initial context: " + "; ".join(missed))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.budget, args.json))
