"""Where the secrets are in a file's text: character spans, from three detectors (pure).

- Private keys: every PEM `BEGIN … PRIVATE KEY … END` block, whole, over lines or in one line
  with JSON-escaped `\\n` (a GCP service-account key), and a block whose END is missing up to the
  end of its base64 body (hand-written: a scanner's rule needs the END line).
- Token formats: Kingfisher (MongoDB; kingfisher-secret-scanner), ~500 maintained rules with
  current formats (GitHub fine-grained, GitLab, npm, Anthropic, OpenAI, cloud keys, ...) on a
  Hyperscan engine, giving exact spans.
- Generic values: detect-secrets (Yelp) through its plugins' public `analyze_line`: keywords
  (`password = "..."`), high-entropy strings, URL credentials; long lines are read in
  overlapping windows so its regexes never see more than WINDOW characters at once.

Every regex here runs in linear time on any input (bounded repeats, possessive quantifiers).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

from detect_secrets.filters import heuristic
from detect_secrets.plugins.base import BasePlugin, RegexBasedDetector
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.high_entropy_strings import (
    Base64HighEntropyString,
    HexHighEntropyString,
)
from detect_secrets.plugins.keyword import KeywordDetector
from kingfisher_sdk import Rules, Scanner

Span = tuple[int, int]

# ---- PEM private keys -------------------------------------------------------------------------
PEM_BEGIN = re.compile(
    r"-{4,5} ?BEGIN [A-Z0-9 _-]{0,60}?(?:PRIVATE|SECRET) KEY(?: BLOCK)? ?-{4,5}", re.IGNORECASE
)
PEM_END = re.compile(r"-{4,5} ?END [A-Z0-9 _-]{0,60}?KEY(?: BLOCK)? ?-{4,5}", re.IGNORECASE)
# a body without its END line: base64, armor headers (Proc-Type: 4,ENCRYPTED), line breaks, and
# JSON/C-escaped line breaks
PEM_BODY = re.compile(r"(?:[A-Za-z0-9+/=:,\- \t\r\n]|\\[rn])*+")


def pem_spans(text: str) -> list[Span]:
    """Each private-key block, BEGIN line to END line (or to the end of its body)."""
    spans: list[Span] = []
    if "----" not in text:
        return spans
    position = 0
    no_end_after = len(text) + 1  # where a search for an END line already came up empty
    while (begin := PEM_BEGIN.search(text, position)) is not None:
        end = None if begin.end() >= no_end_after else PEM_END.search(text, begin.end())
        if end is None:
            no_end_after = min(no_end_after, begin.end())
            body = PEM_BODY.match(text, begin.end())
            stop = body.end() if body is not None else begin.end()
        else:
            stop = end.end()
        spans.append((begin.start(), stop))
        position = max(stop, begin.end())
    return spans


# ---- Kingfisher --------------------------------------------------------------------------------
class KingfisherDetector:
    """Kingfisher's built-in rules, compiled once (cached on disk) and shared by all threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scanner: Scanner | None = None
        self.cache_dir: Path | None = None
        self.timeout_seconds = 10.0

    def scanner(self) -> Scanner:
        """The compiled scanner (built on first use, from the rule cache when it has one)."""
        with self._lock:
            if self._scanner is None:
                cache = None if _default_cache_usable() else self.cache_dir
                rules = Rules(confidence="low", cache_dir=cache)
                self._scanner = Scanner(rules, base64=True)
            return self._scanner

    def spans(self, text: str) -> list[Span]:
        """Character spans of every finding (raises TimeoutError past the time limit)."""
        data = text.encode("utf-8")
        found = self.scanner().scan(data, timeout=self.timeout_seconds)
        byte_spans = [_byte_span(f.location) for f in found]
        if data.isascii():
            return byte_spans
        return _char_spans(data, byte_spans)


def _default_cache_usable() -> bool:
    """Whether Kingfisher's own rule cache can be written: KF_RULE_CACHE_DIR, or the user's
    cache directory under a writable home (not so for a service user without a home)."""
    if os.environ.get("KF_RULE_CACHE_DIR"):
        return True
    home = Path.home()
    return home.is_dir() and os.access(home, os.W_OK)


def _byte_span(location: dict[str, int]) -> Span:
    return location["start_offset"], location["end_offset"]


def _char_spans(data: bytes, spans: list[Span]) -> list[Span]:
    """Byte spans of UTF-8 data as character spans (offsets widened to whole characters)."""
    offsets = sorted({offset for span in spans for offset in span})
    chars: dict[int, int] = {}
    previous_byte = previous_char = 0
    for offset in offsets:
        aligned = offset
        while 0 < aligned < len(data) and data[aligned] & 0xC0 == 0x80:
            aligned -= 1  # back to the start of the character
        aligned = max(aligned, previous_byte)
        previous_char += len(data[previous_byte:aligned].decode("utf-8", "replace"))
        previous_byte = aligned
        chars[offset] = previous_char
    out = []
    for start, end in spans:
        stop = chars[end]
        if end < len(data) and data[end] & 0xC0 == 0x80:
            stop += 1  # the end fell inside a character: take all of it
        out.append((chars[start], stop))
    return out


# ---- detect-secrets ----------------------------------------------------------------------------
WINDOW = 1024  # a long line is read in windows this long, overlapping by OVERLAP: some of the
OVERLAP = 256  # plugins' regexes are quadratic in a run of word characters, so runs stay short
# detect-secrets' keyword plugin reads ~3 µs a character where keywords are dense (a dozen
# regexes over each line): past this much keyword text a file is left out, not sent unscanned
KEYWORD_BUDGET = 128 * 1024
MIN_VALUE = 3  # shorter values are noise (and would match everywhere)
# The generic plugins; detect-secrets' provider formats (AWS, GitHub, Slack, Stripe, JWT, ...)
# are all among Kingfisher's rules, in more current forms.
GENERIC_PLUGINS: tuple[type[BasePlugin], ...] = (
    KeywordDetector,
    Base64HighEntropyString,
    HexHighEntropyString,
    BasicAuthDetector,
)
# What each plugin needs to find anything, checked first (in linear time): most lines have none.
# Each hint is a few substrings (fast to look for), then a regex.
KEYWORD_WORDS = ("key", "pass", "pwd", "secret", "contrase")
KEYWORD = re.compile("|".join(KEYWORD_WORDS))  # in lower-cased text
KEYWORD_BEFORE, KEYWORD_AFTER = 128, 384  # what the keyword plugin reads around a keyword
QUOTES = ("'", '"')
HINTS: dict[type[BasePlugin], tuple[tuple[str, ...], re.Pattern[str]]] = {
    Base64HighEntropyString: (QUOTES, re.compile(r"[\'\"][A-Za-z0-9+/=_\-]{20}")),
    HexHighEntropyString: (QUOTES, re.compile(r"[\'\"][0-9A-Fa-f]{8}")),
    BasicAuthDetector: (("://",), re.compile(r"://[^\s@/]{1,200}@")),
}


class GenericDetector:
    """detect-secrets' generic plugins and its false-positive heuristics, line by line."""

    def __init__(self) -> None:
        self._plugins: list[BasePlugin] | None = None
        self._lock = threading.Lock()

    def plugins(self) -> list[BasePlugin]:
        """The plugin instances (made once), the keyword plugin first."""
        with self._lock:
            if self._plugins is None:
                self._plugins = [cls() for cls in GENERIC_PLUGINS]
            return self._plugins

    def spans(self, path: str, text: str) -> list[Span]:
        """Spans of every occurrence of each value a plugin flags, line by line (raises
        TimeoutError when the keyword plugin would read more than KEYWORD_BUDGET characters)."""
        keyword, *others = self.plugins()
        jobs: list[tuple[int, str, list[BasePlugin]]] = []
        keyword_chars = 0
        for offset, piece in _windows(text):
            if piece.isspace():
                continue
            chosen = [plugin for plugin in others if _hinted(plugin, piece)]
            if chosen:
                jobs.append((offset, piece, chosen))
            for start, excerpt in _keyword_excerpts(piece):
                keyword_chars += len(excerpt)
                jobs.append((offset + start, excerpt, [keyword]))
        if keyword_chars > KEYWORD_BUDGET:
            raise TimeoutError("too much keyword text to scan")
        spans: list[Span] = []
        for offset, piece, chosen in jobs:
            for value in _values(chosen, path, piece):
                spans.extend(_occurrences(piece, value, offset))
        return spans


def _hinted(plugin: BasePlugin, piece: str) -> bool:
    """Whether the plugin could find anything in the piece."""
    words, pattern = HINTS[type(plugin)]
    return any(word in piece for word in words) and pattern.search(piece) is not None


def _keyword_excerpts(piece: str) -> Iterator[tuple[int, str]]:
    """(offset, text) around the keywords in the piece: the piece when short, else excerpts
    (the keyword plugin's regexes slow down with the length of what they read)."""
    lower = piece.lower()
    if not any(word in lower for word in KEYWORD_WORDS):
        return
    if len(piece) <= 2 * KEYWORD_AFTER:
        yield 0, piece
        return
    start = end = -1
    for hit in KEYWORD.finditer(lower):
        low, high = max(0, hit.start() - KEYWORD_BEFORE), hit.end() + KEYWORD_AFTER
        if low > end >= 0:
            yield start, piece[start:end]
            start = -1
        start, end = (low if start < 0 else start), high
    if start >= 0:
        yield start, piece[start:end]


def _windows(text: str) -> Iterator[tuple[int, str]]:
    """(offset, text) of each line; a long line as overlapping windows."""
    start = 0
    for line in text.splitlines(keepends=True):
        if len(line) <= WINDOW:
            yield start, line
        else:
            for at in range(0, len(line) - OVERLAP, WINDOW - OVERLAP):
                yield start + at, line[at : at + WINDOW]
        start += len(line)


def _values(plugins: list[BasePlugin], path: str, line: str) -> set[str]:
    values: set[str] = set()
    for plugin in plugins:
        for secret in plugin.analyze_line(filename=path, line=line, line_number=1):
            value = secret.secret_value
            if value and len(value) >= MIN_VALUE and not _is_false_positive(value, line, plugin):
                values.add(value)
    return values


def _is_false_positive(value: str, line: str, plugin: BasePlugin) -> bool:
    """detect-secrets' default heuristics (its allowlist pragma is not honoured: a file's author
    cannot let a value through)."""
    if isinstance(plugin, KeywordDetector) and heuristic.is_indirect_reference(line):
        return True
    if isinstance(plugin, RegexBasedDetector):
        return False  # a known format: no heuristic applies
    return (
        heuristic.is_sequential_string(value)
        or heuristic.is_potential_uuid(value)
        or heuristic.is_likely_id_string(value, line, plugin)
        or heuristic.is_templated_secret(value)
        or heuristic.is_prefixed_with_dollar_sign(value)
        or heuristic.is_not_alphanumeric_string(value)
    )


def _occurrences(line: str, value: str, offset: int) -> Iterator[Span]:
    at = line.find(value)
    while at >= 0:
        yield offset + at, offset + at + len(value)
        at = line.find(value, at + len(value))
