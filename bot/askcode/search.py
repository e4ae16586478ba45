"""search_code's engine (pure): the model's regular expression run by RE2, in linear time.

The pattern is the model's (and so, through the question, anyone's): Python's backtracking `re`
would let `(\\w+\\w*)+\\s*=$` take seconds on a 20-character line with the GIL held. RE2
(google-re2) matches in time linear in the text, has no backreferences or lookaround, and refuses
patterns over its memory budget. Each search is also capped in matches counted, bytes scanned
and seconds, and says so when a cap cut it short.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import re2

from bot.askcode.snapshot import SourceFile

MAX_PATTERN = 300  # characters
REGEX_MEMORY = 8 * 1024 * 1024  # RE2's budget for the compiled program and its DFA cache
MAX_MATCHES = 60  # lines shown
MAX_COUNTED = 1_000  # matching lines counted before the search stops
MAX_SCAN_BYTES = 64 * 1024 * 1024
MAX_SECONDS = 10.0


class ToolInputError(ValueError):
    """The model called a tool with input it cannot run; the message goes back to the model."""


@dataclass(frozen=True)
class Caps:
    """How much one search may do."""

    matches: int = MAX_MATCHES
    counted: int = MAX_COUNTED
    scan_bytes: int = MAX_SCAN_BYTES
    seconds: float = MAX_SECONDS


@dataclass
class Found:
    """What a search found: the lines shown, how many matched, and why it stopped early."""

    lines: list[str] = field(default_factory=list)
    total: int = 0
    stopped: str | None = None  # None: every selected file was searched to its end


def compile_pattern(pattern: str) -> re2._Regexp:
    """The pattern compiled by RE2, each line matched on its own (`^`/`$` at line ends, nothing
    crosses a newline); ToolInputError with RE2's reason when it is empty, too long, invalid,
    unsupported (backreferences, lookaround) or over the memory budget."""
    if not pattern or len(pattern) > MAX_PATTERN:
        raise ToolInputError(f"the pattern must have 1 to {MAX_PATTERN} characters")
    options = re2.Options()
    options.never_nl = True
    options.log_errors = False
    options.max_mem = REGEX_MEMORY
    try:
        return re2.compile(f"(?m){pattern}", options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "not a valid pattern"
        if isinstance(reason, bytes):
            reason = reason.decode(errors="replace")
        raise ToolInputError(
            f"invalid regular expression ({reason}); this search uses RE2 syntax: no "
            "backreferences or lookaround, repetition counts up to 1000"
        ) from None


def search_files(
    files: Iterable[SourceFile],
    regex: re2._Regexp,
    caps: Caps = Caps(),  # frozen, never mutated
    clock: Callable[[], float] = time.monotonic,
) -> Found:
    """Every file's lines that match, as `path:line: text` (first `caps.matches` shown)."""
    found = Found()
    scanned = 0
    deadline = clock() + caps.seconds
    for source in files:
        if scanned >= caps.scan_bytes:
            found.stopped = f"stopped after {scanned // (1024 * 1024)} MB searched"
        elif clock() > deadline:
            found.stopped = f"stopped after {caps.seconds:.0f} s"
        if found.stopped:
            break
        if not source.lines:
            continue
        data = "\n".join(source.lines).encode()
        scanned += len(data)
        if _search_one(source.path, data, regex, found, caps):
            found.stopped = f"stopped after {caps.counted} matching lines"
            break
    return found


def _search_one(path: str, data: bytes, regex: re2._Regexp, found: Found, caps: Caps) -> bool:
    """Add the file's matching lines to `found`; True when the count cap was reached."""
    pos, line, counted_to = 0, 1, 0
    while pos <= len(data):
        match = regex.search(data, pos)
        if match is None:
            return False
        start = match.start()
        line += data.count(b"\n", counted_to, start)
        counted_to = start
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        found.total += 1
        if len(found.lines) < caps.matches:
            text = data[data.rfind(b"\n", 0, start) + 1 : end].decode(errors="replace")
            found.lines.append(f"{path}:{line}: {text.strip()[:200]}")
        if found.total >= caps.counted:
            return True
        pos = end + 1
    return False


def render_found(found: Found) -> str:
    """The tool's result text."""
    notes = []
    if found.total > len(found.lines):
        more = found.total - len(found.lines)
        notes.append(f"({'at least ' if found.stopped else ''}{more} more matches not shown)")
    if found.stopped:
        notes.append(f"(search {found.stopped}: narrow the pattern or the path_glob)")
    if not found.lines:
        return "\n".join(["No matches.", *notes])
    return "\n".join([*found.lines, *notes])
