"""Which files import which (pure): Python's `import` and `from … import` lines, resolved to the
repository's own files. Read with line patterns, not a parser: a file that does not parse (an
old syntax, a template) still has its imports found, and no line is read twice."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from bot.askcode.snapshot import SourceFile

PYTHON_SUFFIXES = (".py", ".pyi")
_FROM = re.compile(r"^\s*from\s+(\.*)([\w.]*)\s+import\s+(.*)$")
_IMPORT = re.compile(r"^\s*import\s+(.*)$")
_NAME = re.compile(r"[A-Za-z_]\w*")
STDLIB = frozenset(sys.stdlib_module_names)
MAX_IMPORT_LINES = 20  # a parenthesised name list is followed this far, at most


def module_parts(path: str) -> tuple[str, ...] | None:
    """The dotted module a Python file is (`pkg/mod.py` → pkg, mod; `pkg/__init__.py` → pkg),
    or None for other files."""
    pure = PurePosixPath(path)
    if pure.suffix not in PYTHON_SUFFIXES:
        return None
    parts = pure.with_suffix("").parts
    return parts[:-1] if parts[-1] == "__init__" else parts


@dataclass(frozen=True)
class Modules:
    """The repository's Python files by module, to resolve what an import names."""

    by_parts: dict[tuple[str, ...], str]  # the module a file is, from the repository's root
    by_suffix: dict[tuple[str, ...], str]  # and every tail of it (the shortest path wins)

    @classmethod
    def of(cls, paths: Iterable[str]) -> Modules:
        """The modules among these paths (a .py wins over its .pyi stub)."""
        by_parts: dict[tuple[str, ...], str] = {}
        for path in sorted(paths, key=lambda p: (p.endswith(".py"), p)):
            parts = module_parts(path)
            if parts:
                by_parts[parts] = path
        by_suffix: dict[tuple[str, ...], str] = {}
        for parts, path in sorted(by_parts.items(), key=lambda item: (-len(item[0]), item[1])):
            for start in range(len(parts)):
                by_suffix[parts[start:]] = path  # shorter modules come later and win
        return cls(by_parts, by_suffix)

    def find(self, parts: tuple[str, ...]) -> str | None:
        """The file of a module named absolutely: a file whose path ends with the module (a
        package under `src/`), or with its tail (a repository that is the package itself).
        Standard-library names are never the repository's."""
        if not parts or parts[0] in STDLIB:
            return None
        for start in range(len(parts)):
            found = self.by_suffix.get(parts[start:])
            if found is not None:
                return found
        return None

    def find_relative(self, importer: str, dots: int, parts: tuple[str, ...]) -> str | None:
        """The file of a module named relatively to the importing file (`from ..x import y`)."""
        package = PurePosixPath(importer).parent.parts
        if dots - 1 > len(package):
            return None
        return self.by_parts.get((*package[: len(package) - (dots - 1)], *parts))


def _statements(lines: list[str]) -> Iterable[str]:
    """Import statements, a parenthesised or continued one joined into one line."""
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        stripped = line.lstrip()
        if not (stripped.startswith("from ") or stripped.startswith("import ")):
            continue
        statement = line.split("#", 1)[0]
        taken = 0
        while (
            ("(" in statement and ")" not in statement) or statement.rstrip().endswith("\\")
        ) and index < len(lines):
            if taken == MAX_IMPORT_LINES:
                break
            statement = statement.rstrip().rstrip("\\") + " " + lines[index].split("#", 1)[0]
            index += 1
            taken += 1
        yield statement


def imports(source: SourceFile, modules: Modules) -> set[str]:
    """The repository files this Python file imports (itself left out)."""
    if module_parts(source.path) is None:
        return set()
    found: set[str] = set()
    for statement in _statements(source.lines):
        match = _FROM.match(statement)
        if match:
            found.update(_from_import(source.path, match, modules))
            continue
        match = _IMPORT.match(statement)
        if match:
            for name in match[1].split(","):
                dotted = name.split(" as ")[0].strip()
                target = modules.find(tuple(dotted.split("."))) if dotted else None
                if target:
                    found.add(target)
    found.discard(source.path)
    return found


def _from_import(importer: str, match: re.Match[str], modules: Modules) -> set[str]:
    """`from X import a, b`: X's file, and a's and b's where they are submodules of X."""
    dots = len(match[1])
    base = tuple(match[2].split(".")) if match[2] else ()
    names = []
    for part in match[3].replace("(", " ").replace(")", " ").split(","):
        name = part.split(" as ")[0].strip()
        if _NAME.fullmatch(name):
            names.append(name)
    found: set[str] = set()
    for parts in [base, *((*base, name) for name in names)]:
        if not parts:
            continue
        target = modules.find_relative(importer, dots, parts) if dots else modules.find(parts)
        if target:
            found.add(target)
    return found


@dataclass(frozen=True)
class ImportGraph:
    """Each file's imports within the repository, and who imports it."""

    imports: dict[str, frozenset[str]]
    imported_by: dict[str, frozenset[str]]

    @classmethod
    def build(cls, files: Iterable[SourceFile]) -> ImportGraph:
        """The graph of these files."""
        sources = list(files)
        modules = Modules.of(f.path for f in sources)
        forward = {f.path: frozenset(imports(f, modules)) for f in sources}
        backward: dict[str, set[str]] = {}
        for path, targets in forward.items():
            for target in targets:
                backward.setdefault(target, set()).add(path)
        return cls(
            {p: t for p, t in forward.items() if t},
            {p: frozenset(s) for p, s in backward.items()},
        )

    def neighbours(self, path: str) -> frozenset[str]:
        """The files this one imports and those that import it."""
        return self.imports.get(path, frozenset()) | self.imported_by.get(path, frozenset())

    def importers(self, path: str) -> int:
        """How many files import this one."""
        return len(self.imported_by.get(path, ()))
