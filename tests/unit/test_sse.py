"""The adapter's server-sent event splitter (bot/claude/sse.py) against the SDK's own decoder."""

from __future__ import annotations

import json
import random

from anthropic._streaming import SSEDecoder

from bot.claude.sse import SseSplitter
from testing.paths import SHARED

RECORDED = sorted((SHARED / "anthropic" / "sse").glob("*.txt"))


def _sdk_events(raw: bytes) -> list[tuple[str, bytes]]:
    decoder = SSEDecoder()
    events = []
    for line in raw.decode().splitlines():
        sse = decoder.decode(line)
        if sse is not None:
            events.append((sse.event or "", sse.data.encode()))
    sse = decoder.decode("")
    if sse is not None:
        events.append((sse.event or "", sse.data.encode()))
    return events


def _split(raw: bytes, sizes: list[int]) -> list[tuple[str, bytes]]:
    splitter, events, at = SseSplitter(), [], 0
    for size in sizes:
        events += splitter.feed(raw[at : at + size])
        at += size
    events += splitter.feed(raw[at:])
    return events + splitter.close()


def test_real_streams_split_as_the_sdk_decodes_them_whatever_the_chunk_boundaries() -> None:
    """Every recorded Claude stream gives the SDK decoder's events (name and data), cut into
    chunks anywhere, with LF, CRLF or CR line ends."""
    rng = random.Random(7)
    assert RECORDED
    for path in RECORDED:
        text = path.read_text()
        for ending in ("\n", "\r\n", "\r"):
            raw = text.replace("\n", ending).encode()
            expected = [e for e in _sdk_events(text.encode()) if e[0] or e[1]]
            assert _split(raw, []) == expected
            sizes = [rng.randint(1, 9) for _ in range(len(raw) // 3)]
            assert _split(raw, sizes) == expected, (path.name, repr(ending))


def test_data_lines_are_joined_and_comments_skipped() -> None:
    """Several data lines make one data (LF-joined); a comment-only block is no event; an event
    the stream ended without a blank line after still counts."""
    raw = b': keep-alive\n\nevent: x\ndata: {"a":\ndata: 1}\n\nevent: y\ndata:2'
    events = _split(raw, [5, 5])
    assert events == [("x", b'{"a":\n1}'), ("y", b"2")]
    assert json.loads(events[0][1]) == {"a": 1}
