"""The code tools the model calls in the large-repository mode (pure, over a snapshot)."""

from __future__ import annotations

import fnmatch
from typing import Any

from bot.askcode.context import numbered
from bot.askcode.search import (
    MAX_PATTERN,
    ToolInputError,
    compile_pattern,
    render_found,
    search_files,
)
from bot.askcode.snapshot import Snapshot

__all__ = ["TOOL_SPECS", "ToolInputError", "describe", "run_tool"]

MAX_LISTED = 300
MAX_READ_LINES = 400
MAX_RESULT_CHARS = 24_000

TOOL_SPECS: tuple[dict[str, Any], ...] = (
    {
        "name": "search_code",
        "description": (
            "Search the repository's files with a regular expression, line by line (RE2 "
            "syntax: no backreferences or lookaround; case sensitive unless (?i) is given). "
            "Returns matching lines as path:line: text."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "pattern": {"type": "string", "description": "The regular expression."},
                "path_glob": {
                    "type": "string",
                    "description": "Only files whose path matches this glob, e.g. src/**/*.py.",
                },
            },
            "required": ["pattern"],
        },
    },
    {
        "name": "list_files",
        "description": "List the repository's files whose path matches a glob, with line counts.",
        "input_schema": {
            "type": "object",
            "properties": {
                "glob": {"type": "string", "description": "e.g. **/*.md, src/api/*, *config*"}
            },
            "required": ["glob"],
        },
    },
    {
        "name": "read_file",
        "description": (
            f"Read lines of a file (at most {MAX_READ_LINES} at a time), each prefixed with its "
            "line number and a tab."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "start_line": {"type": "integer", "minimum": 1},
                "end_line": {"type": "integer", "minimum": 1},
            },
            "required": ["path"],
        },
    },
)


def glob_match(path: str, pattern: str) -> bool:
    """fnmatch on the path, where a pattern without a slash also matches the file name."""
    pattern = pattern.strip() or "*"
    if fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern.replace("**/", "")):
        return True
    return "/" not in pattern and fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern)


def describe(name: str, tool_input: dict[str, Any]) -> str:
    """What the placeholder says while the tool runs."""
    if name == "search_code":
        return f"Searching for `{str(tool_input.get('pattern', ''))[:60]}`…"
    if name == "list_files":
        return f"Listing `{str(tool_input.get('glob', ''))[:60]}`…"
    if name == "read_file":
        start, end = tool_input.get("start_line"), tool_input.get("end_line")
        span = f":{start or 1}-{end}" if end else (f":{start}-" if start else "")
        return f"Reading {str(tool_input.get('path', ''))[:80]}{span}…"
    return f"Running {name}…"


def run_tool(snapshot: Snapshot, name: str, tool_input: dict[str, Any]) -> str:
    """The tool's result text; raises ToolInputError for bad input."""
    if name == "search_code":
        return search_code(
            snapshot, str(tool_input.get("pattern", "")), tool_input.get("path_glob")
        )
    if name == "list_files":
        return list_files(snapshot, str(tool_input.get("glob", "*")))
    if name == "read_file":
        return read_file(
            snapshot,
            str(tool_input.get("path", "")),
            _int(tool_input.get("start_line"), 1),
            _int(tool_input.get("end_line"), None),
        )
    raise ToolInputError(f"there is no tool named {name!r}")


def _int(value: Any, default: int | None) -> Any:
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ToolInputError(f"{value!r} is not a line number") from None


def search_code(snapshot: Snapshot, pattern: str, path_glob: Any = None) -> str:
    """Lines matching the regular expression (RE2, linear time), as path:line: text."""
    regex = compile_pattern(pattern)
    files = snapshot.files
    if path_glob:
        glob = _glob(str(path_glob))
        files = [f for f in files if glob_match(f.path, glob)]
    return _capped(render_found(search_files(files, regex)))


def _glob(pattern: str) -> str:
    if len(pattern) > MAX_PATTERN:
        raise ToolInputError(f"the glob must have at most {MAX_PATTERN} characters")
    return pattern


def list_files(snapshot: Snapshot, pattern: str) -> str:
    """Paths matching the glob, with their line counts."""
    pattern = _glob(pattern)
    matches = [f for f in snapshot.files if glob_match(f.path, pattern)]
    if not matches:
        return "No files match."
    lines = [f"{f.path} ({f.line_count} lines)" for f in matches[:MAX_LISTED]]
    if len(matches) > MAX_LISTED:
        lines.append(f"({len(matches) - MAX_LISTED} more not shown)")
    return _capped("\n".join(lines))


def read_file(snapshot: Snapshot, path: str, start: int, end: int | None) -> str:
    """A line range of a file, numbered."""
    path = path.strip().removeprefix("./")
    source = snapshot.by_path.get(path)
    if source is None:
        hint = "it was left out (binary, secret, vendored…)" if path in snapshot.tracked else ""
        raise ToolInputError(f"no file {path!r} in the snapshot" + (f": {hint}" if hint else ""))
    count = source.line_count
    start = max(1, start)
    end = min(count, end if end is not None else start + MAX_READ_LINES - 1)
    end = min(end, start + MAX_READ_LINES - 1)
    if start > count:
        raise ToolInputError(f"{path} has {count} lines")
    header = f"{path} lines {start}-{end} of {count}"
    return _capped(f"{header}\n{numbered(source.lines[start - 1 : end], start)}")


def _capped(text: str) -> str:
    if len(text) <= MAX_RESULT_CHARS:
        return text
    return text[:MAX_RESULT_CHARS] + "\n(output cut: narrow the search or the range)"
