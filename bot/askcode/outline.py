"""The repository map (pure): the file tree and the main definitions of each file."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from bot.askcode.snapshot import SourceFile

_PY = re.compile(r"^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)")
_JS = re.compile(
    r"^(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:function\*?|class|interface|type|enum)\s+"
    r"([A-Za-z_$][\w$]*)|^(?:export\s+)?(?:const|let)\s+([A-Za-z_$][\w$]*)\s*=\s*(?:async\s*)?\("
)
_GO = re.compile(r"^func\s+(?:\([^)]*\)\s*)?([A-Za-z_]\w*)|^type\s+([A-Za-z_]\w*)")
_RUST = re.compile(
    r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?(?:fn|struct|enum|trait|mod)\s+(\w+)"
)
# Every pattern here is matched against each line of every file, so none may backtrack more than
# linearly: no two adjacent parts may match the same characters (`\s*(?:…|\s)*` took seconds on
# one long line of spaces); tests/unit/test_askcode_outline.py runs each on hostile lines.
_JAVA = re.compile(
    r"^\s*(?:(?:public|protected|private|internal|open|abstract|final|static|data|sealed)\s+)*"
    r"(?:class|interface|enum|record|object|fun)\s+([A-Za-z_]\w*)"
)
_RUBY = re.compile(r"^\s*(?:def|class|module)\s+([A-Za-z_][\w.?!]*)")
_C = re.compile(r"^(?:[A-Za-z_]\w*[\s*]+)+([A-Za-z_]\w*)\s*\([^;]*$")
_SHELL = re.compile(r"^(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\)\s*\{")
_HEADING = re.compile(r"^#{1,3}\s+(\S.*)")  # closing #s are stripped in definitions()
_YAML_TOP = re.compile(r"^([A-Za-z_][\w.-]*):")
_TOML_TABLE = re.compile(r"^\[\[?([^\]]+)\]\]?")

PATTERNS: dict[str, re.Pattern[str]] = {
    ".py": _PY,
    ".pyi": _PY,
    ".js": _JS,
    ".jsx": _JS,
    ".mjs": _JS,
    ".cjs": _JS,
    ".ts": _JS,
    ".tsx": _JS,
    ".go": _GO,
    ".rs": _RUST,
    ".java": _JAVA,
    ".kt": _JAVA,
    ".scala": _JAVA,
    ".cs": _JAVA,
    ".swift": _JAVA,
    ".rb": _RUBY,
    ".c": _C,
    ".h": _C,
    ".cc": _C,
    ".cpp": _C,
    ".hpp": _C,
    ".sh": _SHELL,
    ".bash": _SHELL,
    ".md": _HEADING,
    ".rst": _HEADING,
    ".yml": _YAML_TOP,
    ".yaml": _YAML_TOP,
    ".toml": _TOML_TABLE,
}
MAX_DEFINITIONS = 15


def definitions(source: SourceFile, limit: int = MAX_DEFINITIONS) -> list[tuple[int, str]]:
    """(line, name) of the file's top-level definitions (headings for Markdown), in order."""
    pattern = PATTERNS.get(PurePosixPath(source.path).suffix.lower())
    if pattern is None:
        return []
    found: list[tuple[int, str]] = []
    top_level_only = pattern is _PY or pattern is _YAML_TOP or pattern is _TOML_TABLE
    for number, line in enumerate(source.lines, start=1):
        if top_level_only and line[:1].isspace() and not _is_method(line, pattern):
            continue
        match = pattern.match(line.lstrip() if pattern is _PY else line)
        if match is None:
            continue
        name = next((g for g in match.groups() if g), "")
        if pattern is _HEADING:
            name = name.rstrip().rstrip("#")
        if name.strip():
            found.append((number, name.strip()[:60]))
        if len(found) >= limit:
            break
    return found


def _is_method(line: str, pattern: re.Pattern[str]) -> bool:
    """Methods one level into a Python class count too (`    def name`)."""
    return pattern is _PY and line.startswith("    ") and not line.startswith("     ")


def map_line(source: SourceFile, limit: int) -> str:
    """One line of the map: the path, its size and its definitions with their line numbers."""
    line = f"{source.path} ({source.line_count} lines)"
    names = definitions(source, limit) if limit else []
    if names:
        line += ": " + ", ".join(f"{name} L{number}" for number, name in names)
    return line


def render_map(files: list[SourceFile], max_chars: int) -> tuple[str, int]:
    """The map within max_chars: definitions trimmed first, then files. Returns (text, files
    listed)."""
    for limit in (MAX_DEFINITIONS, 6, 2, 0):
        lines = [map_line(source, limit) for source in files]
        text = "\n".join(lines)
        if len(text) <= max_chars:
            return text, len(files)
    kept: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > max_chars - 80:
            break
        kept.append(line)
        size += len(line) + 1
    kept.append(f"(… {len(files) - len(kept)} more files: use list_files to see them)")
    return "\n".join(kept), len(kept) - 1
