"""A repository at one commit as the model may see it: selected text files, secrets redacted."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from bot.askcode.git import Checkout, RepoTooLarge, TreeEntry
from bot.askcode.secrets import Unscannable, redact
from bot.askcode.select import Skip, skip_by_content, skip_by_path

SCHEMA = 3  # 3: JSON lines, and redaction by whole tokens and PEM blocks (older caches rebuilt)


@dataclass(frozen=True)
class SourceFile:
    """One selected file: its text (secrets redacted) and line count."""

    path: str
    text: str
    redactions: int = 0

    @cached_property
    def lines(self) -> list[str]:
        """The file's lines, without line endings."""
        return self.text.splitlines()

    @property
    def line_count(self) -> int:
        """How many lines the file has."""
        return len(self.lines)


@dataclass
class Snapshot:
    """The selected files of a repository at a commit, and what was left out and why."""

    repo: str
    commit: str
    files: list[SourceFile]
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> paths
    tracked: frozenset[str] = frozenset()  # every tracked path, selected or not
    tokens: dict[str, int] = field(default_factory=dict)  # counted contexts, by what was counted

    def __post_init__(self) -> None:
        self.by_path = {f.path: f for f in self.files}

    @property
    def short(self) -> str:
        """The commit's short form, as people see it."""
        return self.commit[:10]

    @property
    def redactions(self) -> int:
        """Secret-looking values replaced, over all files."""
        return sum(f.redactions for f in self.files)

    def json_lines(self) -> Iterator[str]:
        """The snapshot as JSON lines, for the per-commit cache on disk: a header, then one line
        a file (each small, so writing never holds the GIL long)."""
        header = {
            "schema": SCHEMA,
            "repo": self.repo,
            "commit": self.commit,
            "skipped": self.skipped,
            "tracked": sorted(self.tracked),
            "tokens": self.tokens,
        }
        yield json.dumps(header, ensure_ascii=False)
        for f in self.files:
            yield json.dumps([f.path, f.text, f.redactions], ensure_ascii=False)

    @classmethod
    def from_json_lines(cls, lines: Iterable[str]) -> Snapshot | None:
        """A snapshot from the cache, or None when the cache is of another schema."""
        rows = iter(lines)
        data: dict[str, Any] = json.loads(next(rows, "{}"))
        if data.get("schema") != SCHEMA:
            return None
        files = [SourceFile(p, t, r) for p, t, r in map(json.loads, rows)]
        return cls(
            repo=data["repo"],
            commit=data["commit"],
            files=files,
            skipped=data["skipped"],
            tracked=frozenset(data["tracked"]),
            tokens=data["tokens"],
        )


@dataclass(frozen=True)
class Limits:
    """Size caps of a snapshot."""

    max_file_bytes: int = 256 * 1024
    max_repo_bytes: int = 200 * 1024 * 1024  # all tracked blobs together: the hard cap


async def build_snapshot(checkout: Checkout, commit: str, limits: Limits) -> Snapshot:
    """Read the commit's tree, select files, read them in one batch, redact secrets."""
    entries = await checkout.tree(commit)
    if sum(max(e.size, 0) for e in entries) > limits.max_repo_bytes:
        raise RepoTooLarge("the repository is larger than the size cap")
    skipped: dict[str, list[str]] = {}
    wanted = []
    for entry in entries:
        reason = skip_by_path(entry.path, entry.mode, entry.size, limits.max_file_bytes)
        if reason is None:
            wanted.append(entry)
        else:
            skipped.setdefault(reason.value, []).append(entry.path)
    total = sum(e.size for e in wanted) + 100 * len(wanted) + 1024
    blobs = await checkout.blobs([e.oid for e in wanted], max_bytes=total)
    files = await asyncio.to_thread(_select_and_redact, wanted, blobs, skipped)
    return Snapshot(
        repo=checkout.spec.name,
        commit=commit,
        files=files,
        skipped=skipped,
        tracked=frozenset(e.path for e in entries),
    )


def _select_and_redact(
    wanted: list[TreeEntry], blobs: dict[str, bytes], skipped: dict[str, list[str]]
) -> list[SourceFile]:
    """The text files among the blobs, secrets redacted (in a worker thread: it decodes and
    scans every byte); what is left out (binary, minified, unscannable...) is added to
    `skipped`."""
    files = []
    for entry in wanted:
        content = skip_by_content(blobs.get(entry.oid, b""))
        if isinstance(content, Skip):
            skipped.setdefault(content.value, []).append(entry.path)
            continue
        try:
            clean, count = redact(entry.path, content)
        except Unscannable:
            skipped.setdefault(Skip.UNSCANNABLE.value, []).append(entry.path)
            continue
        files.append(SourceFile(entry.path, clean, count))
    return files


def skipped_summary(snapshot: Snapshot) -> str:
    """A short line on what was left out, e.g. "left out: 3 binary, 1 secret"."""
    counts = Counter({reason: len(paths) for reason, paths in snapshot.skipped.items()})
    if not counts:
        return ""
    return "left out: " + ", ".join(f"{n} {reason}" for reason, n in counts.most_common())


def load_cached(path: Path, commit: str) -> Snapshot | None:
    """The cached snapshot of this commit, if any and readable."""
    try:
        with path.open(encoding="utf-8") as lines:
            snapshot = Snapshot.from_json_lines(lines)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return snapshot if snapshot is not None and snapshot.commit == commit else None


def save_cached(path: Path, snapshot: Snapshot) -> None:
    """Write the snapshot's cache file (atomically), a line at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    with partial.open("w", encoding="utf-8") as out:
        for line in snapshot.json_lines():
            out.write(line + "\n")
    partial.replace(path)
