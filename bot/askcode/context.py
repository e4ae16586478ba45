"""What the model sees of a repository (pure): the whole repository, or a map plus excerpts.

Everything rendered here for the system prompt is byte-stable per commit: the same snapshot
always gives the same text, so a cache breakpoint on it is read by every later question.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath

from bot.askcode.graph import ImportGraph
from bot.askcode.outline import render_map
from bot.askcode.snapshot import Snapshot, SourceFile

CHARS_PER_TOKEN = 3.5  # the estimate for code with line numbers, before a count calibrates it
# Shares of the budget in the tools mode: the map (cached, at most), each question's files (new to
# the cache every question; small enough for a follow-up to keep the previous exchange within
# BOT_MAX_INPUT_TOKENS), and the rest for files shown whole in the cached prompt.
MAP_SHARE = 0.2
QUESTION_SHARE = 0.35
ENTRY_STEMS = frozenset(
    {"__main__", "main", "app", "cli", "index", "server", "manage", "wsgi", "asgi", "run", "lib"}
)
MANIFESTS = frozenset(
    {
        "pyproject.toml",
        "setup.py",
        "setup.cfg",
        "package.json",
        "cargo.toml",
        "go.mod",
        "pom.xml",
        "build.gradle",
        "gemfile",
        "dockerfile",
        "makefile",
        "docker-compose.yml",
        "compose.yml",
        "requirements.txt",
        "manifest.yml",
    }
)
DOC_SUFFIXES = frozenset({".md", ".rst", ".txt", ".adoc"})
TEST_PARTS = frozenset({"test", "tests", "spec", "specs", "__tests__", "testing"})

WHOLE_INSTRUCTIONS = """\
You are answering questions about the git repository `{repo}` at commit {commit}. Its selected \
files follow, one <file> block each, every line prefixed with its line number and a tab \
(binaries, lockfiles, vendored, generated and minified files, and files that may hold secrets \
were left out; secret-looking values read [REDACTED]).
Ground every claim in these files. Cite the code you rely on as `path:Lstart-Lend` (for example \
`src/app.py:L10-L24`), with the exact line numbers shown; cite only lines you can see. If the \
files do not answer the question, say so."""

TOOLS_INSTRUCTIONS = """\
You are answering questions about the git repository `{repo}` at commit {commit}. It is too \
large to show whole: below is its map (every selected file with its line count and main \
definitions), then the files most of the others import, whole. Each question comes with the \
files that matched it by keyword, whole or in excerpts; use the tools to search the code \
(search_code), list files (list_files) and read line ranges (read_file) before you answer: look \
things up rather than guess, and stop when you have what you need.
Files shown and read have every line prefixed with its line number and a tab (binaries, \
lockfiles, vendored, generated and minified files, and files that may hold secrets were left \
out; secret-looking values read [REDACTED]).
Cite the code you rely on as `path:Lstart-Lend` (for example `src/app.py:L10-L24`), with the \
exact line numbers shown; cite only lines you have seen. If the code does not answer the \
question, say so."""


class Mode(StrEnum):
    """How a repository is put in front of the model."""

    WHOLE = "whole"  # every selected file, in the cached system prompt
    TOOLS = "tools"  # a cached map, excerpts per question, and tools


@dataclass(frozen=True)
class Included:
    """A file, or a line range of it, in front of the model."""

    path: str
    start: int
    end: int


def estimate_tokens(chars: int) -> int:
    """The token estimate for this many characters of code."""
    return math.ceil(chars / CHARS_PER_TOKEN)


def priority(path: str) -> tuple[int, int]:
    """Sort key: README first, then entry points and manifests, docs, code, tests last."""
    parts = PurePosixPath(path).parts
    name = parts[-1].lower()
    stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix
    depth = len(parts) - 1
    if name.startswith("readme"):
        return (0, depth)
    if depth <= 2 and stem in ENTRY_STEMS and suffix not in DOC_SUFFIXES:
        return (1, depth)
    if name in MANIFESTS:
        return (2, depth)
    if {p.lower() for p in parts[:-1]} & TEST_PARTS or name.startswith("test_"):
        return (5, 0)
    if suffix in DOC_SUFFIXES or parts[0].lower() in ("doc", "docs"):
        return (3, 0)
    return (4, 0)


def ordered(files: list[SourceFile]) -> list[SourceFile]:
    """The files in the order the model reads them."""
    return sorted(files, key=lambda f: (*priority(f.path), f.path))


def numbered(lines: list[str], start: int = 1) -> str:
    """Lines prefixed with their line numbers and a tab."""
    return "\n".join(f"{number}\t{line}" for number, line in enumerate(lines, start=start))


def file_block(source: SourceFile, start: int = 1, end: int | None = None) -> str:
    """One file (or a line range of it) as a <file> block."""
    lines = source.lines
    last = len(lines) if end is None else min(end, len(lines))
    body = numbered(lines[start - 1 : last], start)
    return f'<file path="{source.path}" lines="{start}-{last}">\n{body}\n</file>'


def whole_blocks(snapshot: Snapshot) -> list[str]:
    """The system blocks of the whole-repository mode: instructions, then one per file."""
    header = WHOLE_INSTRUCTIONS.format(repo=snapshot.repo, commit=snapshot.commit)
    return [header, *(file_block(source) for source in ordered(snapshot.files))]


def map_blocks(snapshot: Snapshot, max_chars: int) -> tuple[list[str], int]:
    """The system blocks of the tools mode: instructions and the repository map; and how many
    files the map lists."""
    header = TOOLS_INSTRUCTIONS.format(repo=snapshot.repo, commit=snapshot.commit)
    text, listed = render_map(ordered(snapshot.files), max_chars)
    title = f'<repository_map repo="{snapshot.repo}" files="{len(snapshot.files)}">'
    return [header, f"{title}\n{text}\n</repository_map>"], listed


def pin_order(files: list[SourceFile], graph: ImportGraph) -> list[SourceFile]:
    """The order in which files are shown whole in the tools mode's cached prompt: code before
    docs and tests (a repository that almost fits loses those first), then the files most
    others import (what many questions go through)."""

    def key(source: SourceFile) -> tuple[bool, int, str]:
        incidental = priority(source.path)[0] in (3, 5)  # docs, tests
        return (incidental, -graph.importers(source.path), source.path)

    return sorted(files, key=key)


def pinned_files(files: list[SourceFile], graph: ImportGraph, max_chars: int) -> list[SourceFile]:
    """The files shown whole in the cached prompt: in pin order, each that still fits."""
    chosen: list[SourceFile] = []
    size = 0
    for source in pin_order(files, graph):
        block = len(file_block(source)) + 1
        if size + block <= max_chars:
            chosen.append(source)
            size += block
    return chosen


def tools_blocks(
    snapshot: Snapshot, budget: Budget, graph: ImportGraph
) -> tuple[list[str], int, tuple[str, ...]]:
    """The system blocks of the tools mode: instructions, the map, then the pinned files whole,
    within the budget less each question's share; the files the map lists, and those pinned."""
    blocks, listed = map_blocks(snapshot, budget.map_chars)
    room = budget.context_chars - budget.question_chars - sum(len(b) + 1 for b in blocks)
    pinned = ordered(pinned_files(snapshot.files, graph, room))
    blocks.extend(file_block(source) for source in pinned)
    return blocks, listed, tuple(source.path for source in pinned)


def whole_included(snapshot: Snapshot) -> list[Included]:
    """What the whole mode puts in front of the model."""
    return [Included(f.path, 1, f.line_count) for f in ordered(snapshot.files)]


@dataclass(frozen=True)
class Budget:
    """Token budget of the repository context, and the parts of the tools mode derived from it:
    a map, the files shown whole in the cached prompt, and each question's files."""

    tokens: int = 100_000

    @property
    def context_chars(self) -> int:
        """Characters of everything shown before any tool call."""
        return int(self.tokens * CHARS_PER_TOKEN)

    @property
    def map_chars(self) -> int:
        """Characters of the repository map, at most."""
        return int(self.context_chars * MAP_SHARE)

    @property
    def question_chars(self) -> int:
        """Characters of the files picked for each question."""
        return int(self.context_chars * QUESTION_SHARE)
