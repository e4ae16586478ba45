"""Secrets are redacted before any file text leaves the bot (for Claude, Slack and the logs).

The detectors (bot.askcode.detectors) give character spans: PEM private-key blocks, Kingfisher's
maintained token formats, detect-secrets' keyword and high-entropy values. Each span is widened
to the whole token it sits in (a detector that matches a token's prefix or a fixed length never
leaves the rest behind), overlaps are merged, and each span is replaced by REDACTED; a span over
several lines leaves one REDACTED per line, so line numbers (and citations) stay right. Nothing
here logs a value.
"""

from __future__ import annotations

from pathlib import Path

from bot.askcode.detectors import GenericDetector, KingfisherDetector, Span, pem_spans

REDACTED = "[REDACTED]"
# what a token is made of: letters, digits and the separators of base64, URL-safe base64, JWTs
# and prefixed keys (sk-ant-…, github_pat_…, glpat-….01.…)
TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-.")
TOKEN_START_CHARS = TOKEN_CHARS - {"="}  # "=" only pads a token's end (KEY=value keeps KEY=)

_kingfisher = KingfisherDetector()
_generic = GenericDetector()


class Unscannable(Exception):
    """The file could not be scanned in time: it must be left out, not sent unredacted."""


def configure(rule_cache_dir: Path | None, timeout_seconds: float | None = None) -> None:
    """Where Kingfisher keeps its compiled rules when its own cache (KF_RULE_CACHE_DIR or the
    user's cache directory) can't be written, and its time limit per file."""
    _kingfisher.cache_dir = rule_cache_dir
    if timeout_seconds is not None:
        _kingfisher.timeout_seconds = timeout_seconds


def secret_spans(path: str, text: str) -> list[Span]:
    """Merged, whole-token spans of every secret in the text (raises Unscannable)."""
    # each detector reads the text with what the ones before it found blanked out
    spans = widen(text, pem_spans(text))
    try:
        spans = widen(text, spans + _kingfisher.spans(masked(text, spans)))
        return widen(text, spans + _generic.spans(path, masked(text, spans)))
    except TimeoutError:
        raise Unscannable(path) from None


def masked(text: str, spans: list[Span]) -> str:
    """The text with the (merged, ordered) spans blanked out, line breaks kept, same length."""
    if not spans:
        return text
    parts: list[str] = []
    position = 0
    for start, end in spans:
        parts.append(text[position:start])
        parts.append("\n".join(" " * len(line) for line in text[start:end].split("\n")))
        position = end
    parts.append(text[position:])
    return "".join(parts)


def widen(text: str, spans: list[Span]) -> list[Span]:
    """The spans grown to whole tokens and merged, in order (linear in the text's length)."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            previous_start, previous_end = merged.pop()
            start, end = previous_start, max(end, previous_end)
        else:
            floor = merged[-1][1] if merged else 0
            while start > floor and text[start - 1] in TOKEN_START_CHARS:
                start -= 1
            if merged and start == floor:
                start = merged.pop()[0]  # touches the previous span: one secret
        while end < len(text) and text[end] in TOKEN_CHARS:
            end += 1
        merged.append((start, end))
    return merged


def redact(path: str, text: str) -> tuple[str, int]:
    """The text with every secret replaced, and how many were replaced (raises Unscannable)."""
    spans = secret_spans(path, text)
    if not spans:
        return text, 0
    parts: list[str] = []
    position = 0
    for start, end in spans:
        parts.append(text[position:start])
        parts.append(_placeholder(text[start:end]))
        position = end
    parts.append(text[position:])
    return "".join(parts), len(spans)


def _placeholder(secret: str) -> str:
    """REDACTED for each line the secret spans, keeping its line breaks."""
    lines = secret.split("\n")
    return "\n".join(REDACTED + ("\r" if line.endswith("\r") else "") for line in lines)
