"""Which tier a thread uses: "switch to <tier>" and the fallback order (see tiers.py); and
"forget this thread", which the bot carries out itself rather than asking Claude."""

from __future__ import annotations

import re

from bot.conversation.tiers import DEFAULT_TIER, TIER_NAMES, fallback_chain, tier_label

__all__ = [
    "DEFAULT_TIER",
    "TIERS",
    "fallback_chain",
    "is_forget_thread",
    "parse_switch",
    "tier_label",
]

TIERS = TIER_NAMES
_SWITCH = re.compile(
    r"^(?:please\s+)?(?:(?:switch|change)\s+(?:this\s+thread\s+)?to|use)\s+"
    rf"(?:claude\s+)?({'|'.join(map(re.escape, TIER_NAMES))})(?:\s+(?:please|now))?\s*[.!]?$",
    re.IGNORECASE,
)


def parse_switch(text: str) -> str | None:
    """The tier a message like "switch to opus" asks for; None for anything else."""
    match = _SWITCH.match(text.strip())
    return match.group(1).lower() if match else None


_FORGET_THREAD = re.compile(
    r"^(?:please\s+)?(?:forget|delete|erase)\s+(?:all\s+of\s+|everything\s+(?:in|about)\s+)?"
    r"(?:this|the\s+whole)\s+(?:thread|conversation|chat)(?:\s+please)?\s*[.!]?$",
    re.IGNORECASE,
)


def is_forget_thread(text: str) -> bool:
    """Whether a message asks the bot to forget this thread ("forget this thread", "please
    delete this conversation"). Other "forget …" requests (a remembered fact) go to Claude."""
    return _FORGET_THREAD.match(text.strip()) is not None
