"""/ask-code's regular expressions cannot freeze the bot: the model's run by RE2 within caps, ours
linear on hostile lines (pure)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import pytest

from bot.askcode.citations import render
from bot.askcode.outline import PATTERNS, definitions
from bot.askcode.retrieve import Index, excerpts
from bot.askcode.search import Caps, compile_pattern, render_found, search_files
from bot.askcode.snapshot import Snapshot, SourceFile
from bot.askcode.tools import ToolInputError, run_tool

REDOS = r"(\w+\w*)+\s*=$"


def snapshot_of(files: dict[str, str]) -> Snapshot:
    """A snapshot with these files."""
    return Snapshot("demo", "a" * 40, [SourceFile(p, t) for p, t in files.items()])


def seconds(work: Callable[[], object]) -> float:
    """How long `work` took."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def test_catastrophic_pattern_answers_at_once() -> None:
    """The pattern that took Python's `re` 18 s on a 20-character line (exponential in its
    length: this 23-character one would take minutes) is a plain "No matches." here."""
    snapshot = snapshot_of({"src/ids.py": "abcdefghij_klmnopqrstuv\n" * 200})
    result: list[str] = []
    took = seconds(lambda: result.append(run_tool(snapshot, "search_code", {"pattern": REDOS})))
    assert result == ["No matches."]
    assert took < 10  # milliseconds with RE2; a generous bound


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "invalid escape sequence"),
        (r"(?<=a)b", "invalid perl operator"),
        (r"a{1001}", "invalid repetition size"),
        (r"(", r"missing \)"),
        ("x" * 301, "1 to 300 characters"),
        ("", "1 to 300 characters"),
    ],
)
def test_invalid_or_unsupported_pattern_is_a_tool_error(pattern: str, reason: str) -> None:
    """Backreferences, lookaround, huge repetitions and bad syntax come back as a message the
    model can read (naming RE2), not an exception."""
    with pytest.raises(ToolInputError, match=reason) as caught:
        compile_pattern(pattern)
    if "characters" not in reason:
        assert "RE2 syntax" in str(caught.value)


def test_lines_are_matched_one_at_a_time_with_read_file_numbers() -> None:
    """^ and $ are line ends, nothing crosses a newline, and line numbers are read_file's even
    with CRLF and form feeds; each line is reported once."""
    text = "def a():\r\n    return 1\r\n\x0cdef b(): x = x\nend\n"
    snapshot = snapshot_of({"m.py": text})
    assert run_tool(snapshot, "search_code", {"pattern": r"^def \w+"}).splitlines() == [
        "m.py:1: def a():",
        "m.py:4: def b(): x = x",
    ]
    assert run_tool(snapshot, "search_code", {"pattern": r"1\s+def"}) == "No matches."
    assert run_tool(snapshot, "search_code", {"pattern": r"x"}) == "m.py:4: def b(): x = x"
    assert run_tool(snapshot, "search_code", {"pattern": r"(?i)END$"}) == "m.py:5: end"
    read = run_tool(snapshot, "read_file", {"path": "m.py", "start_line": 4, "end_line": 4})
    assert read.endswith("4\tdef b(): x = x")


def test_a_search_stops_at_its_caps_and_says_so() -> None:
    """Counted matches, bytes scanned and seconds are capped; the result says the search was
    cut short and how to narrow it."""
    files = [SourceFile(f"f{i}.py", "hit\n" * 50) for i in range(10)]
    regex = compile_pattern("hit")
    counted = search_files(files, regex, Caps(matches=3, counted=120))
    assert counted.total == 120
    text = render_found(counted)
    assert text.splitlines()[:3] == ["f0.py:1: hit", "f0.py:2: hit", "f0.py:3: hit"]
    assert "(at least 117 more matches not shown)" in text
    assert "stopped after 120 matching lines: narrow the pattern or the path_glob" in text
    scanned = search_files(files, regex, Caps(scan_bytes=300))
    assert scanned.total == 100
    assert scanned.stopped == "stopped after 0 MB searched"
    ticks = itertools.count()
    timed = search_files(files, regex, Caps(seconds=2.5), clock=lambda: float(next(ticks)))
    assert timed.total == 100
    assert timed.stopped == "stopped after 2 s"
    assert search_files(files, compile_pattern("miss")).stopped is None


def test_a_long_glob_is_a_tool_error() -> None:
    """Globs are capped like patterns."""
    with pytest.raises(ToolInputError, match="at most 300 characters"):
        run_tool(snapshot_of({"a.py": "x\n"}), "list_files", {"glob": "*" * 400})


HOSTILE_LINES = [
    " " * 20_000 + ";",
    "\t" * 20_000 + "x",
    "A" + "\t" * 20_000 + ";",
    "class " + "\t" * 20_000 + ";",
    "# " + "#" * 20_000 + ";",
    "# a" + " " * 20_000 + "b",
    "int " + "a " * 10_000 + ";",
    "pub(" + "A" * 20_000,
]


@pytest.mark.parametrize("suffix", sorted(set(PATTERNS)))
def test_outline_patterns_are_linear_on_hostile_lines(suffix: str) -> None:
    """Every outline pattern reads 20,000-character lines of spaces, tabs, words and hashes in
    well under a second (the Java one took 8 s on one 31 KB file)."""
    source = SourceFile(f"a{suffix}", "\n".join(HOSTILE_LINES) + "\n")
    assert seconds(lambda: definitions(source, limit=200)) < 2  # generous: milliseconds


def test_index_of_hostile_files_is_linear() -> None:
    """The search index (definitions, constants, terms) of such files builds quickly too."""
    text = "\n".join(HOSTILE_LINES) + "\n"
    snapshot = snapshot_of({f"a{suffix}": text for suffix in PATTERNS})
    took = seconds(lambda: excerpts(Index.build(snapshot), "where is main?", 10_000))
    assert took < 5  # generous


def test_citations_are_linear_on_a_hostile_answer() -> None:
    """Checking citations in a 60,000-character answer of path characters and brackets is
    quick, and still finds the real citation after it."""
    snapshot = snapshot_of({"src/a.py": "x\n" * 10})
    answer = "pub(" + "A" * 30_000 + " " + "[" * 30_000 + " see src/a.py:L2"
    shown: list[str] = []
    took = seconds(lambda: shown.append(render(snapshot, answer, lambda *_: None)[0]))
    assert shown[0].endswith("see `src/a.py:L2`")
    assert took < 2  # generous: milliseconds
