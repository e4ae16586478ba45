"""Model tiers: which one a thread uses, switching by message, falling back when overloaded."""

from __future__ import annotations

import re

TIERS = ("haiku", "sonnet", "opus")
DEFAULT_TIER = "sonnet"
# Falls back toward the faster, more available models, never up.
_FALLBACKS = {"opus": ("sonnet", "haiku"), "sonnet": ("haiku",), "haiku": ()}
_SWITCH = re.compile(
    r"^(?:please\s+)?(?:(?:switch|change)\s+(?:this\s+thread\s+)?to|use)\s+"
    r"(?:claude\s+)?(haiku|sonnet|opus)(?:\s+(?:please|now))?\s*[.!]?$",
    re.IGNORECASE,
)


def parse_switch(text: str) -> str | None:
    """The tier a message like "switch to opus" asks for; None for anything else."""
    match = _SWITCH.match(text.strip())
    return match.group(1).lower() if match else None


def fallback_chain(tier: str) -> list[str]:
    """The tier, then the tiers to try when it is overloaded."""
    return [tier, *_FALLBACKS.get(tier, ())]


def tier_label(tier: str) -> str:
    """How a tier is named to users."""
    return tier.capitalize()
