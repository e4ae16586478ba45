"""Splitting a long Markdown answer into message-sized parts, and keeping fences balanced.

The split is stable under appends: a part, once the text has grown past it, never changes,
so a streamed answer can move on to the next Slack message without editing the previous one.
"""

from __future__ import annotations

FENCE = "```"
_FENCE_ROOM = 8  # room kept for a closing fence added to a part


def open_fence(text: str) -> str | None:
    """The opening line of a code fence left open at the end of text, or None."""
    opening: str | None = None
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(FENCE):
            opening = None if opening is not None else stripped
    return opening


def balance_fences(text: str) -> str:
    """Close a code fence the text leaves open, so partial text renders as code."""
    return f"{text}\n{FENCE}" if open_fence(text) is not None else text


def _cut_point(text: str, limit: int) -> int:
    """Where to cut text to keep at most limit characters: a paragraph, line or word end."""
    window = text[:limit]
    floor = limit // 2
    for separator in ("\n\n", "\n", " "):
        at = window.rfind(separator)
        if at >= floor:
            return at + len(separator)
    return limit


def split_off(text: str, limit: int) -> tuple[str, str]:
    """Split text into a first part of at most limit characters and the rest."""
    if len(text) <= limit:
        return text, ""
    cut = _cut_point(text, limit - _FENCE_ROOM)
    head, rest = text[:cut], text[cut:]
    fence = open_fence(head)
    if fence is not None:
        head = head.rstrip("\n") + "\n" + FENCE
        rest = fence + "\n" + rest
    return head.rstrip() or head, rest.lstrip("\n") if fence is None else rest


def split_message(text: str, limit: int) -> list[str]:
    """All parts of text, each at most limit characters; an empty text is one empty part."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        head, rest = split_off(rest, limit)
        parts.append(head)
    parts.append(rest)
    return parts
