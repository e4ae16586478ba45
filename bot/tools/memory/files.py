"""The memory tool's file commands over one scope's files, as plain values (pure).

A scope's files are a mapping of inner path → Entry; folders exist only as prefixes of those
paths. Each command returns the text Claude reads and, for a change, the Change to store; it
raises MemoryProblem for anything that cannot be done. Results and error wording follow the
Anthropic SDK's reference implementation (anthropic.lib.tools._beta_builtin_memory_tool), so
Claude reads what it was trained on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.tools.memory.paths import MemoryPath, MemoryProblem

LINE_NUMBER_WIDTH = 6


@dataclass(frozen=True)
class Entry:
    """One memory file: its text, who created it, and when it last changed (epoch seconds)."""

    text: str
    by: str
    at: float


@dataclass(frozen=True)
class Limits:
    """How much one scope may hold."""

    file_chars: int = 4000
    scope_chars: int = 20_000
    files: int = 100


@dataclass
class Change:
    """What a command changes in one scope."""

    put: dict[str, Entry] = field(default_factory=dict)
    delete: set[str] = field(default_factory=set)
    deleted: list[str] = field(default_factory=list)  # display paths, for the audit log

    def applied(self, files: Mapping[str, Entry]) -> dict[str, Entry]:
        """The scope's files after the change."""
        after = {path: entry for path, entry in files.items() if path not in self.delete}
        after.update(self.put)
        return after


Files = Mapping[str, Entry]


def size_label(chars: int) -> str:
    """1.5K-style sizes, as the reference implementation shows them (characters, here)."""
    if chars < 1024:
        return f"{chars}B"
    size = chars / 1024
    return f"{int(size)}K" if size == int(size) else f"{size:.1f}K"


def under(files: Files, folder: str) -> dict[str, Entry]:
    """The files inside a folder ("" is the scope's own), by inner path."""
    if not folder:
        return dict(files)
    prefix = folder + "/"
    return {path: entry for path, entry in files.items() if path.startswith(prefix)}


def is_folder(files: Files, inner: str) -> bool:
    """Whether something is stored below this path."""
    return not inner or bool(under(files, inner))


def listing(path: MemoryPath, files: Files) -> list[str]:
    """`size<TAB>path` lines for a folder and what is up to 2 levels below it."""
    inside = under(files, path.inner)
    lines = [f"{size_label(sum(len(e.text) for e in inside.values()))}\t{path}"]
    start = len(path.inner) + 1 if path.inner else 0
    items: dict[str, int] = {}
    for inner, entry in inside.items():
        parts = inner[start:].split("/")
        for depth in range(1, min(len(parts), 2) + 1):
            name = "/".join(parts[:depth]) + ("/" if depth < len(parts) else "")
            items[name] = items.get(name, 0) + len(entry.text)
    lines += [f"{size_label(chars)}\t{path.child(name)}" for name, chars in sorted(items.items())]
    return lines


def view(path: MemoryPath, files: Files, view_range: object = None) -> str:
    """A folder's listing, or a file's lines with their numbers."""
    entry = files.get(path.inner) if path.inner else None
    if entry is None:
        if not is_folder(files, path.inner):
            raise MemoryProblem(f"The path {path} does not exist. Please provide a valid path.")
        header = (
            f"Here're the files and directories up to 2 levels deep in {path}, "
            "excluding hidden items:"
        )
        return "\n".join([header, *listing(path, files)])
    lines = entry.text.split("\n")
    start, end = _range(view_range, len(lines))
    numbered = [
        f"{str(number).rjust(LINE_NUMBER_WIDTH)}\t{line}"
        for number, line in enumerate(lines[start:end], start=start + 1)
    ]
    return f"Here's the content of {path} with line numbers:\n" + "\n".join(numbered)


def _range(view_range: object, count: int) -> tuple[int, int]:
    if view_range is None:
        return 0, count
    if (
        not isinstance(view_range, list)
        or len(view_range) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in view_range)
    ):
        raise MemoryProblem("view_range must be two line numbers, [start, end] (end -1: the end).")
    first, last = view_range
    return max(1, first) - 1, count if last == -1 else last


def _file(path: MemoryPath, files: Files) -> Entry:
    if not path.inner:
        raise MemoryProblem(f"The path {path} is not a file.")
    entry = files.get(path.inner)
    if entry is None:
        if is_folder(files, path.inner):
            raise MemoryProblem(f"The path {path} is not a file.")
        raise MemoryProblem(f"The path {path} does not exist. Please provide a valid path.")
    return entry


def create(path: MemoryPath, files: Files, text: str, by: str, now: float) -> Change:
    """A new file (never over an existing one, never inside a file)."""
    if not path.inner:
        raise MemoryProblem(f"{path} is a folder: create a file inside it, e.g. {path}/notes.md")
    if path.inner in files:
        raise MemoryProblem(f"File {path} already exists")
    if is_folder(files, path.inner):
        raise MemoryProblem(f"{path} is a folder: create a file inside it.")
    _check_parents(path, files)
    return Change(put={path.inner: Entry(text, by, now)})


def _check_parents(path: MemoryPath, files: Files) -> None:
    parts = path.inner.split("/")
    for depth in range(1, len(parts)):
        if "/".join(parts[:depth]) in files:
            raise MemoryProblem(f"{'/'.join(parts[:depth])} is a file, not a folder.")


def str_replace(
    path: MemoryPath, files: Files, old: str, new: str, now: float
) -> tuple[Change, str]:
    """Replace the one occurrence of `old`; the change and a snippet around it."""
    entry = _file(path, files)
    count = entry.text.count(old) if old else 0
    if count == 0:
        raise MemoryProblem(
            f"No replacement was performed, old_str `{old}` did not appear verbatim in {path}."
        )
    if count > 1:
        numbers, start = [], 0
        while (found := entry.text.find(old, start)) != -1:
            numbers.append(entry.text[:found].count("\n") + 1)
            start = found + 1
        raise MemoryProblem(
            f"No replacement was performed. Multiple occurrences of old_str `{old}` in lines: "
            f"{', '.join(map(str, numbers))}. Please ensure it is unique"
        )
    changed_line = entry.text[: entry.text.find(old)].count("\n")
    text = entry.text.replace(old, new)
    lines = text.split("\n")
    first, last = max(0, changed_line - 2), min(len(lines), changed_line + 3)
    snippet = [f"{str(n + 1).rjust(LINE_NUMBER_WIDTH)}\t{lines[n]}" for n in range(first, last)]
    message = (
        "The memory file has been edited. Here is the snippet showing the change (with line "
        "numbers):\n" + "\n".join(snippet)
    )
    return Change(put={path.inner: Entry(text, entry.by, now)}), message


def insert(path: MemoryPath, files: Files, line: int, text: str, now: float) -> Change:
    """Insert text after line `line` (0: at the top)."""
    entry = _file(path, files)
    lines = entry.text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if line < 0 or line > len(lines):
        raise MemoryProblem(
            f"Invalid `insert_line` parameter: {line}. It should be within the range "
            f"[0, {len(lines)}]."
        )
    lines.insert(line, text.rstrip("\n"))
    return Change(put={path.inner: Entry("\n".join(lines) + "\n", entry.by, now)})


def delete(path: MemoryPath, files: Files) -> Change:
    """Delete a file, or a folder with everything in it."""
    if path.inner in files:
        return Change(delete={path.inner}, deleted=[str(path)])
    inside = under(files, path.inner)
    if not inside:
        if not path.inner:
            raise MemoryProblem(f"The path {path} is already empty")
        raise MemoryProblem(f"The path {path} does not exist")
    return Change(delete=set(inside), deleted=[str(path)])


def rename(old: MemoryPath, new: MemoryPath, files: Files, now: float) -> Change:
    """Move a file or folder to a new path in the same scope."""
    if not old.inner:
        raise MemoryProblem(f"Cannot rename {old} itself")
    if old.scope != new.scope:
        raise MemoryProblem(
            "Memories can't move between /memories/channel and /memories/you: create the file "
            "in the other folder (only if the person asking wants it there), then delete this one."
        )
    if new.inner == old.inner or new.inner.startswith(old.inner + "/"):
        raise MemoryProblem(f"Cannot move {old} into itself")
    if not new.inner:
        raise MemoryProblem(f"{new} is a folder: name the file, e.g. {new}/notes.md")
    if new.inner in files or is_folder(files, new.inner):
        raise MemoryProblem(f"The destination {new} already exists")
    _check_parents(new, files)
    if old.inner in files:
        moves = {old.inner: new.inner}
    else:
        inside = under(files, old.inner)
        if not inside:
            raise MemoryProblem(f"The path {old} does not exist")
        moves = {path: new.inner + path[len(old.inner) :] for path in inside}
    put = {dst: Entry(files[src].text, files[src].by, now) for src, dst in moves.items()}
    return Change(put=put, delete=set(moves))


def check_limits(path: MemoryPath, files: Files, change: Change, limits: Limits) -> None:
    """Refuse a change that would make a file or the scope too big."""
    for inner, entry in change.put.items():
        if len(entry.text) > limits.file_chars:
            raise MemoryProblem(
                f"That would make /memories/{path.scope}/{inner} {len(entry.text):,} characters; "
                f"a memory file holds at most {limits.file_chars:,}. Keep memories short: "
                "summarise, or split them into another file."
            )
    after = change.applied(files)
    if len(after) > limits.files:
        raise MemoryProblem(
            f"/memories/{path.scope} may hold at most {limits.files} files. Delete or merge "
            "files that no longer matter first."
        )
    total = sum(len(entry.text) for entry in after.values())
    if total > limits.scope_chars and total > sum(len(e.text) for e in files.values()):
        raise MemoryProblem(
            f"/memories/{path.scope} would hold {total:,} characters; it holds at most "
            f"{limits.scope_chars:,}. Delete or shorten memories that no longer matter first."
        )
