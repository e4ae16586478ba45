"""`python -m bot ask-code-context`: what the bot would put in front of the model for a question.

The same checkout, selection, redaction and planning as /ask-code, on a local repository, in a
temporary data directory; tokens are the calibrated estimate (no API call is made).
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from bot.askcode.context import Mode, estimate_tokens
from bot.askcode.repos import repo_spec
from bot.askcode.service import AskCodeOptions, AskCodeService
from bot.askcode.workspace import RepoWorkspace


def repo_name(path: Path) -> str:
    """A configured-name-like name for a local repository."""
    name = re.sub(r"[^A-Za-z0-9._-]", "-", path.resolve().name).strip("-.")
    return name or "repo"


async def open_local(path: Path, budget: int) -> RepoWorkspace:
    """The repository at `path` (its HEAD), planned as /ask-code would plan it."""
    name = repo_name(path)
    with tempfile.TemporaryDirectory(prefix="askcode-") as tmp:
        options = AskCodeOptions(data_dir=Path(tmp), budget_tokens=budget, refresh_seconds=0)
        service = AskCodeService({name: repo_spec(name, str(path))}, options)

        async def silent(_: str) -> None:
            return None

        return await service.open(name, None, silent)


async def inspect_context(path: Path, question: str, budget: int) -> dict[str, Any]:
    """The mode, the files and line ranges in front of the model before any tool call, and the
    token count, for this question about the repository at `path` (its HEAD)."""
    return report(await open_local(path, budget), question, budget)


def report(workspace: RepoWorkspace, question: str, budget: int) -> dict[str, Any]:
    """What the workspace puts in front of the model for the question."""
    name = workspace.repo
    excerpts, _ = workspace.picked(question)
    system_tokens = workspace.plan.tokens
    excerpt_tokens = estimate_tokens(len(excerpts))
    snapshot = workspace.snapshot
    return {
        "repo": name,
        "commit": workspace.commit,
        "question": question,
        "mode": workspace.plan.mode.value,
        "budget_tokens": budget,
        "tokens": {
            "repository_context": system_tokens,
            "question_excerpts": excerpt_tokens,
            "total": system_tokens + excerpt_tokens,
            "whole_repository": workspace.plan.whole_tokens,
            "counted": workspace.plan.counted,
        },
        "files": [
            {"path": part.path, "start_line": part.start, "end_line": part.end}
            for part in workspace.included(question)
        ],
        "map_lists_files": workspace.plan.listed if workspace.plan.mode is Mode.TOOLS else 0,
        "tools": [tool["name"] for tool in workspace.tools],
        "selected_files": len(snapshot.files),
        "left_out": {reason: len(paths) for reason, paths in sorted(snapshot.skipped.items())},
        "redacted_values": snapshot.redactions,
    }


def as_text(report: dict[str, Any]) -> str:
    """The report for a person."""
    tokens = report["tokens"]
    lines = [
        f"{report['repo']} at {report['commit'][:10]}: mode {report['mode']}, "
        f"~{tokens['total']:,} tokens before any tool call (budget {report['budget_tokens']:,}; "
        f"the whole repository ~{tokens['whole_repository']:,})",
        f"{report['selected_files']} files selected; left out: {report['left_out'] or 'none'}; "
        f"{report['redacted_values']} secret-looking values redacted",
    ]
    if report["mode"] == Mode.TOOLS.value:
        lines.append(f"map lists {report['map_lists_files']} files; tools: {report['tools']}")
    lines.append("in front of the model:")
    lines.extend(f"  {f['path']}:{f['start_line']}-{f['end_line']}" for f in report["files"])
    return "\n".join(lines)


def render(report: dict[str, Any], as_json: bool) -> str:
    """JSON or text."""
    return json.dumps(report, indent=2) if as_json else as_text(report)
