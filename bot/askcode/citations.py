"""Citations in an answer (pure): `path:Lstart-Lend` checked against the snapshot, then linked."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.askcode.snapshot import Snapshot

# Both run over the model's answer, so neither may try a match from every position of a long run
# (quadratic): a path starts only where a run of path characters starts (leading `/+@-` are
# dropped), and a link's text and URL stop at the brackets that could start another.
CITATION = re.compile(
    r"(?P<tick>`?)(?<![A-Za-z0-9_./+@-])[/+@-]*(?P<path>[A-Za-z0-9_.][A-Za-z0-9_./+@-]*)"
    r":L(?P<start>\d+)(?:-L?(?P<end>\d+))?(?P=tick)"
)
MARKDOWN_LINK = re.compile(r"\[[^\[\]\n]*\]\([^()\s]*(?:\([^()\s]*\)[^()\s]*)*\)")


@dataclass(frozen=True)
class Citation:
    """One citation found in an answer, and whether the snapshot has those lines."""

    path: str
    start: int
    end: int
    problem: str | None  # None: the file exists and has these lines

    @property
    def label(self) -> str:
        """`path:Lstart-Lend` (or `path:Lstart`)."""
        span = f"L{self.start}" if self.start == self.end else f"L{self.start}-L{self.end}"
        return f"{self.path}:{span}"


def check(snapshot: Snapshot, path: str, start: int, end: int) -> str | None:
    """Why the citation is wrong, or None when the snapshot has those lines."""
    source = snapshot.by_path.get(path)
    if source is None:
        if path in snapshot.tracked:
            return None if start <= end else "an empty line range"
        return "no such file in the repository"
    if start < 1 or end < start:
        return "an empty line range"
    if end > source.line_count:
        return f"past the end: the file has {source.line_count} lines"
    return None


def find_citations(snapshot: Snapshot, text: str) -> list[Citation]:
    """Every citation in the text, checked."""
    found = []
    for match in CITATION.finditer(text):
        start = int(match["start"])
        end = int(match["end"] or start)
        path = match["path"].removeprefix("./")
        found.append(Citation(path, start, end, check(snapshot, path, start, end)))
    return found


def render(
    snapshot: Snapshot, text: str, link: Callable[[str, int, int], str | None]
) -> tuple[str, list[Citation]]:
    """The text with each valid citation linked (when `link` knows the host) and each invalid
    one flagged; and the citations. Markdown links already in the text are left alone."""
    protected = [(m.start(), m.end()) for m in MARKDOWN_LINK.finditer(text)]
    citations: list[Citation] = []

    def replace(match: re.Match[str]) -> str:
        if any(a <= match.start() < b for a, b in protected):
            return match.group(0)
        start = int(match["start"])
        end = int(match["end"] or start)
        path = match["path"].removeprefix("./")
        citation = Citation(path, start, end, check(snapshot, path, start, end))
        citations.append(citation)
        if citation.problem is not None:
            return f"`{citation.label}` _(⚠ unverified citation: {citation.problem})_"
        url = link(path, start, end)
        return f"[{citation.label}]({url})" if url else f"`{citation.label}`"

    return CITATION.sub(replace, text), citations
