"""/claude-memory's answer as Block Kit (pure): what is remembered for this channel and for you,
each note with a Forget button (a channel note: for its author or an admin)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bot.tools.memory.files import Entry
from bot.tools.memory.store import Scope

Block = dict[str, Any]
FORGET_ACTION = "memory_forget"
PREVIEW_CHARS = 300
MAX_NOTES = 40  # a message holds at most 50 blocks


@dataclass(frozen=True)
class Shelf:
    """One scope's notes as shown: a title and its files."""

    title: str
    scope: Scope
    files: dict[str, Entry]


def button_value(scope: Scope, inner: str) -> str:
    """What a Forget button carries: the scope and the note's path in it."""
    return f"{scope.token}|{inner}"


def parse_button_value(value: str) -> tuple[str, str] | None:
    """(scope token, inner path) of a Forget button, or None."""
    token, sep, inner = value.partition("|")
    return (token, inner) if sep and token and inner else None


def _preview(entry: Entry) -> str:
    text = " ".join(entry.text.split())
    text = text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _note(shelf: Shelf, inner: str, entry: Entry, viewer: str, admin: bool) -> Block:
    day = time.strftime("%Y-%m-%d", time.gmtime(entry.at))
    folder = "channel" if shelf.scope.kind == "channel" else "you"
    line = f"`/memories/{folder}/{inner}` · <@{entry.by}> · {day}\n{_preview(entry)}"
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": line[:3000]}}
    may_forget = shelf.scope.kind == "user" or entry.by == viewer or admin
    if may_forget:
        block["accessory"] = {
            "type": "button",
            "action_id": FORGET_ACTION,
            "text": {"type": "plain_text", "text": "Forget"},
            "style": "danger",
            "value": button_value(shelf.scope, inner)[:2000],
        }
    return block


def memory_blocks(shelves: list[Shelf], viewer: str, admin: bool, note: str = "") -> list[Block]:
    """The listing: a header, each shelf's notes (with Forget where allowed), a footnote."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "What I remember here"}}
    ]
    shown = 0
    for shelf in shelves:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{shelf.title}*"}})
        if not shelf.files:
            blocks.append(_context("Nothing yet."))
        for inner, entry in sorted(shelf.files.items()):
            if shown == MAX_NOTES:
                break
            blocks.append(_note(shelf, inner, entry, viewer, admin))
            shown += 1
    total = sum(len(shelf.files) for shelf in shelves)
    if total > shown:
        blocks.append(_context(f"…and {total - shown} more (ask me to list them)."))
    footnote = (
        'Say "@Claude remember that …" or "@Claude forget …" to change this. A channel note '
        "can be forgotten by its author or an admin."
    )
    blocks.append(_context(f"{note} {footnote}".strip()))
    return blocks


def memory_text(shelves: list[Shelf]) -> str:
    """The notification text of the listing."""
    total = sum(len(shelf.files) for shelf in shelves)
    return f"I remember {total} note{'s' if total != 1 else ''} here."


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}
