"""Optional redaction of personal data before a person's text leaves for Claude
(BOT_PII_REDACTION): email addresses, phone numbers and payment card numbers become
`[email redacted]`, `[phone redacted]`, `[card redacted]`.

- Phone numbers: Google's libphonenumber (the `phonenumbers` port), whose matcher finds numbers in
  free text and keeps only valid ones — international `+…` numbers anywhere, national ones for
  BOT_PII_REGION — and skips dates, times and the like.
- Card numbers: 13–19 digits (spaces or dashes between) starting like a card network's (2–6),
  kept only when their Luhn check digit is right (`python-stdnum`).
- Emails: the HTML standard's "valid e-mail address" pattern, with a dot in the domain.

Patterns run on RE2 (linear time, whatever the text). All of it works offline: no model, no
download. What is redacted is the user turn — the question, the thread messages passed along
with it, text files shared with it — so the stored thread holds the redacted text too (Redis
never keeps the original, and the prompt cache stays byte-stable); logs carry only the counts.
"""

from __future__ import annotations

import asyncio
import copy
from collections import Counter
from dataclasses import dataclass
from typing import Any

import phonenumbers
import re2
import structlog
from stdnum import luhn

from bot.conversation.messages import ChatMessage, Question

log = structlog.get_logger("bot.pii")

_EMAIL = re2.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+"
)
_CARD = re2.compile(r"\b[2-6](?:[ -]?\d){12,18}\b")
PLACEHOLDER = {"email": "[email redacted]", "phone": "[phone redacted]", "card": "[card redacted]"}
IN_THREAD_ABOVE = 4000  # characters: longer text is scanned in a worker thread


def _cards(text: str, found: Counter[str]) -> str:
    def replace(match: Any) -> str:
        digits = "".join(ch for ch in match.group(0) if ch.isdigit())
        if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
            found["card"] += 1
            return PLACEHOLDER["card"]
        return str(match.group(0))

    return str(_CARD.sub(replace, text))


def _emails(text: str, found: Counter[str]) -> str:
    def replace(match: Any) -> str:
        found["email"] += 1
        return PLACEHOLDER["email"]

    return str(_EMAIL.sub(replace, text))


def _phones(text: str, region: str, found: Counter[str]) -> str:
    spans = [(m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(text, region)]
    for start, end in reversed(spans):
        text = text[:start] + PLACEHOLDER["phone"] + text[end:]
    if spans:
        found["phone"] += len(spans)
    return text


@dataclass(frozen=True)
class PiiRedactor:
    """The core's Redactor: every question's user turn is redacted (per profile: the lead's
    profile lookup can pick this redactor or none per channel)."""

    region: str = "US"

    def redact_text(self, text: str) -> tuple[str, Counter[str]]:
        """The text with each email, phone and card number replaced, and how many of each."""
        found: Counter[str] = Counter()
        text = _emails(_cards(text, found), found)
        return _phones(text, self.region, found), found

    def redact_message(self, message: ChatMessage) -> tuple[ChatMessage, Counter[str]]:
        """A user message with its text blocks (and text documents) redacted."""
        found: Counter[str] = Counter()
        out = copy.deepcopy(message)
        content = out.get("content")
        if isinstance(content, str):
            out["content"], found = self.redact_text(content)
            return out, found
        for block in content if isinstance(content, list) else []:
            if block.get("type") == "text" and isinstance(block.get("text"), str):
                block["text"], counts = self.redact_text(block["text"])
                found += counts
            source = block.get("source")
            if isinstance(source, dict) and source.get("type") == "text":
                source["data"], counts = self.redact_text(str(source.get("data") or ""))
                found += counts
        return out, found

    async def redact(self, question: Question, message: ChatMessage) -> ChatMessage:
        """The user turn redacted (long text off the event loop); counts logged, never values."""
        if _size(message) > IN_THREAD_ABOVE:
            redacted, found = await asyncio.to_thread(self.redact_message, message)
        else:
            redacted, found = self.redact_message(message)
        if found:
            log.info("pii.redacted", **{kind: n for kind, n in found.items() if n})
        return redacted


def _size(message: ChatMessage) -> int:
    content = message.get("content")
    if isinstance(content, str):
        return len(content)
    return sum(len(str(block)) for block in content or [])
