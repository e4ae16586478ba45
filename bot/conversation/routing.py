"""Which tier a thread uses: "switch to <tier>" and the fallback order (see tiers.py)."""

from __future__ import annotations

import re

from bot.conversation.tiers import DEFAULT_TIER, TIER_NAMES, fallback_chain, tier_label

__all__ = ["DEFAULT_TIER", "TIERS", "fallback_chain", "parse_switch", "tier_label"]

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
