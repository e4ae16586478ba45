"""Server-sent events read straight from the response bytes (pure).

The SDK's stream reader decodes every line into a ServerSentEvent and then builds a typed
(pydantic) event for each one; at a few characters of text per event and hundreds of answers in
flight that was most of the bot's CPU per streamed token. Here an event is split out of the
bytes once, and its `data` is handed on as bytes for `json.loads` (the only parse it gets).
Line ends may be LF, CRLF or CR, as the SSE specification allows.
"""

from __future__ import annotations

SseEvent = tuple[str, bytes]  # (event name, data: the data lines joined by LF)


class SseSplitter:
    """Cuts a byte stream into events, whatever the chunk boundaries."""

    __slots__ = ("_after_cr", "_buffer")

    def __init__(self) -> None:
        self._buffer = b""
        self._after_cr = False  # the last chunk ended in CR: a LF starting the next one is its pair

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """The events completed by this chunk, in order."""
        if self._after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        if b"\r" in chunk:
            self._after_cr = chunk.endswith(b"\r")
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        else:
            self._after_cr = False
        buffer = self._buffer + chunk if self._buffer else chunk
        if b"\n\n" not in buffer:
            self._buffer = buffer
            return []
        blocks = buffer.split(b"\n\n")
        self._buffer = blocks.pop()
        return [event for block in blocks if (event := parse_block(block)) is not None]

    def close(self) -> list[SseEvent]:
        """An event left without its closing blank line when the stream ended."""
        block, self._buffer = self._buffer, b""
        event = parse_block(block.rstrip(b"\n")) if block.strip() else None
        return [] if event is None else [event]


def parse_block(block: bytes) -> SseEvent | None:
    """One event's lines: its name and data (None for a block with neither, e.g. a comment)."""
    name = b""
    data: list[bytes] = []
    for line in block.split(b"\n"):
        field, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if field == b"data":
            data.append(value)
        elif field == b"event":
            name = value
    if not name and not data:
        return None
    return name.decode(), b"\n".join(data)
