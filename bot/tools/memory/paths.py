"""Paths of the memory tool: `/memories`, `/memories/channel/...` (this channel's notes) and
`/memories/you/...` (the asker's own), checked strictly (pure).

A path is a virtual name, never a file on disk: each scope is one Redis hash whose fields are the
paths inside it. Still, names are held to a small alphabet so nothing odd reaches Slack or the
model: no `.` or `..` segments, no leading dot, no empty segment, no backslash, no control or
percent characters, a bounded depth and length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROOT = "/memories"
SCOPE_NAMES = ("channel", "you")
MAX_PATH_CHARS = 200
MAX_DEPTH = 5  # segments below a scope
_SEGMENT = re.compile(r"^\w[\w .@+=-]{0,63}$")


class MemoryProblem(Exception):
    """A command Claude asked for that cannot be done; the message is the tool's error result."""


@dataclass(frozen=True)
class MemoryPath:
    """A checked path: the scope it is in (None: /memories itself) and the path inside it
    ("" for the scope's own folder)."""

    scope: str | None
    inner: str = ""

    def __str__(self) -> str:
        if self.scope is None:
            return ROOT
        return f"{ROOT}/{self.scope}" + (f"/{self.inner}" if self.inner else "")

    def child(self, name: str) -> str:
        """The display path of something inside this folder."""
        return f"{self}/{name}"


def parse_path(raw: object) -> MemoryPath:
    """The path Claude gave, checked; MemoryProblem saying what is wrong otherwise."""
    if not isinstance(raw, str) or not raw:
        raise MemoryProblem("A path is required, e.g. /memories/channel/notes.md.")
    if len(raw) > MAX_PATH_CHARS:
        raise MemoryProblem(f"The path is longer than {MAX_PATH_CHARS} characters.")
    if raw != ROOT and not raw.startswith(ROOT + "/"):
        raise MemoryProblem(f"Path must start with /memories, got: {raw}")
    rest = raw[len(ROOT) :].strip("/")
    if not rest:
        return MemoryPath(None)
    segments = rest.split("/")
    scope, inner = segments[0], segments[1:]
    if scope not in SCOPE_NAMES:
        raise MemoryProblem(
            f"{raw} is not a memory folder: use /memories/channel/… (shared with this channel) "
            "or /memories/you/… (only for the person asking)."
        )
    if len(inner) > MAX_DEPTH:
        raise MemoryProblem(f"The path is deeper than {MAX_DEPTH} folders below /memories/{scope}.")
    for segment in inner:
        if not _SEGMENT.match(segment):
            raise MemoryProblem(
                f"Path {raw} has an invalid part {segment!r}: use letters, digits, spaces and "
                "`.` `_` `-` `@` `+` `=` (not starting with a dot), separated by single slashes."
            )
    return MemoryPath(scope, "/".join(inner))
