"""Where a question's answer is, and whether a selection showed it (pure helpers of
bench.askcode_retrieval).

A location is `path` (the file), `path::Name` or `path::Class.method` (a definition, found with
`ast`; of several with one name, the longest: an implementation over its overloads, a property
over its setter), or `path::L10-L24` (lines). A selection shows a file when any part of it is in
the context; it shows a location when it covers at least half of the location's lines (30 lines
are enough for a longer definition).
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterable
from pathlib import Path

LINES = re.compile(r"^L(\d+)-L(\d+)$")
ENOUGH_LINES = 30

Span = tuple[int, int]
Part = tuple[str, int, int]  # path, first line, last line


def definitions(source: str) -> dict[str, list[Span]]:
    """Every def and class (qualified by its classes) and module-level name, with its lines."""
    found: dict[str, list[Span]] = {}

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = prefix + child.name
                found.setdefault(name, []).append((child.lineno, child.end_lineno or child.lineno))
                if isinstance(child, ast.ClassDef):
                    walk(child, name + ".")
            elif isinstance(child, ast.Assign | ast.AnnAssign) and not prefix:
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        span = (child.lineno, child.end_lineno or child.lineno)
                        found.setdefault(target.id, []).append(span)

    walk(ast.parse(source), "")
    return found


def resolve(location: str, repo: Path) -> tuple[str, Span | None]:
    """The location's file and its lines (None: the whole file); ValueError when it is gone."""
    path, _, where = location.partition("::")
    if not where:
        return path, None
    lines = LINES.match(where)
    if lines:
        return path, (int(lines[1]), int(lines[2]))
    spans = definitions((repo / path).read_text(encoding="utf-8")).get(where)
    if not spans:
        raise ValueError(f"{location}: no such definition")
    return path, max(spans, key=lambda s: s[1] - s[0])


def shows_file(parts: Iterable[Part], path: str) -> bool:
    """Whether any part of the file is in the context."""
    return any(p == path for p, _, _ in parts)


def shows_span(parts: Iterable[Part], path: str, span: Span | None) -> bool:
    """Whether the context covers enough of the span (the whole file: any part of it)."""
    if span is None:
        return shows_file(parts, path)
    start, end = span
    covered: set[int] = set()
    for p, first, last in parts:
        if p == path:
            covered.update(range(max(first, start), min(last, end) + 1))
    need = min(math.ceil((end - start + 1) / 2), ENOUGH_LINES)
    return len(covered) >= need
