"""PromptCacheModel: the prompt cache of the fake Claude, after the Claude docs (prompt-caching).

Rules:
- Writes happen only at breakpoints: each breakpoint whose prefix is not read and is at least
  the model's minimum cacheable length writes one entry keyed by the prefix hash (model +
  blocks without cache_control; tool_choice, thinking and images salt the messages level).
- Reads: for each breakpoint, last first, the prefix hashes at that block and up to 19 blocks
  before it (20 positions) are looked up; the first live entry is the hit A.
- Billing (docs, "Mixing TTLs"): read = tokens up to A; 1h write = tokens from A to the last
  written 1h breakpoint B; 5m write = from B to the last written breakpoint C; input_tokens =
  tokens after C (after A when nothing is written).
- An entry lives for its TTL (5m or 1h) after its last write or read; a read refreshes the
  entry it hit and the request's breakpoint entries within the read prefix.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from testing.fakes.claude_prompt import Breakpoint, PromptLayout

TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}
LOOKBACK_BLOCKS = 20
_SWEEP_AT = 50_000


@dataclass
class CacheEntry:
    """A cached prefix."""

    tokens: int
    ttl: str
    expires_at: float


@dataclass(frozen=True)
class CacheUsage:
    """How a request's input tokens split between uncached input, cache reads and writes."""

    input_tokens: int = 0
    cache_read_input_tokens: int = 0
    ephemeral_5m_input_tokens: int = 0
    ephemeral_1h_input_tokens: int = 0

    @property
    def cache_creation_input_tokens(self) -> int:
        """Tokens written to the cache (both TTLs)."""
        return self.ephemeral_5m_input_tokens + self.ephemeral_1h_input_tokens

    def as_usage(self, output_tokens: int) -> dict[str, Any]:
        """The `usage` object of a Message."""
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.ephemeral_5m_input_tokens,
                "ephemeral_1h_input_tokens": self.ephemeral_1h_input_tokens,
            },
            "output_tokens": output_tokens,
            "service_tier": "standard",
        }


class PromptCacheModel:
    """The cache. `clock` is injectable; `advance()` moves this cache's time forward."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._offset = 0.0
        self._entries: dict[bytes, CacheEntry] = {}

    @property
    def now(self) -> float:
        """The cache's current time (clock plus everything advanced)."""
        return self._clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the cache's time forward, so entries expire without sleeping."""
        self._offset += seconds

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()

    def live_entries(self) -> list[CacheEntry]:
        """Entries not yet expired."""
        now = self.now
        return [e for e in self._entries.values() if e.expires_at > now]

    def _live(self, digest: bytes, now: float) -> CacheEntry | None:
        entry = self._entries.get(digest)
        if entry is None or entry.expires_at > now:
            return entry
        del self._entries[digest]
        return None

    def _find_hit(self, layout: PromptLayout, points: list[Breakpoint], now: float) -> int:
        for bp in reversed(points):
            for index in range(bp.index, max(bp.index - LOOKBACK_BLOCKS, -1), -1):
                if self._live(layout.digests[index], now) is not None:
                    return index
        return -1

    def _refresh(
        self, layout: PromptLayout, points: list[Breakpoint], hit: int, now: float
    ) -> None:
        for index in {hit, *(bp.index for bp in points if bp.index <= hit)}:
            entry = self._live(layout.digests[index], now)
            if entry is not None:
                entry.expires_at = now + TTL_SECONDS[entry.ttl]

    def _write(self, layout: PromptLayout, bp: Breakpoint, now: float) -> None:
        if len(self._entries) >= _SWEEP_AT:
            self._entries = {k: e for k, e in self._entries.items() if e.expires_at > now}
        self._entries[layout.digests[bp.index]] = CacheEntry(
            tokens=layout.cumulative[bp.index], ttl=bp.ttl, expires_at=now + TTL_SECONDS[bp.ttl]
        )

    def account(
        self, layout: PromptLayout, points: list[Breakpoint], min_tokens: int
    ) -> CacheUsage:
        """Look the request up, write its new breakpoints, and say how its input splits."""
        total = layout.total
        if not points:
            return CacheUsage(input_tokens=total)
        now = self.now
        hit = self._find_hit(layout, points, now)
        read = layout.cumulative[hit] if hit >= 0 else 0
        if hit >= 0:
            self._refresh(layout, points, hit, now)
        written = [
            bp for bp in points if bp.index > hit and layout.cumulative[bp.index] >= min_tokens
        ]
        if not written:
            return CacheUsage(input_tokens=total - read, cache_read_input_tokens=read)
        for bp in written:
            self._write(layout, bp, now)
        one_hour = [bp for bp in written if bp.ttl == "1h"]
        upto_1h = layout.cumulative[one_hour[-1].index] if one_hour else read
        upto_all = layout.cumulative[written[-1].index]
        return CacheUsage(
            input_tokens=total - upto_all,
            cache_read_input_tokens=read,
            ephemeral_1h_input_tokens=upto_1h - read,
            ephemeral_5m_input_tokens=upto_all - upto_1h,
        )
