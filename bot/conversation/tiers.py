"""The model tiers: one row each. Everything tier-shaped is derived from this table.

Routing (fallbacks, the default, the "switch to" parser), the settings (`CLAUDE_MODEL_<TIER>`,
`BOT_THINKING_<TIER>`), the `/ask-<tier>` slash commands, the Home tab and a manifest test all
read these rows. Adding a tier is one row here, one entry in manifest.yml's slash commands and one
model in the catalog (bot/claude/catalog.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Effort = Literal["off", "low", "medium", "high", "xhigh", "max"]
EFFORTS: tuple[Effort, ...] = ("off", "low", "medium", "high", "xhigh", "max")


@dataclass(frozen=True)
class TierSpec:
    """One model tier: how it is named, which model and thinking it has by default, where it
    falls back to, and how people reach it."""

    name: str  # stored in a thread's meta, said in "switch to <name>", the settings' suffix
    label: str  # how users see it: "Opus"
    default_model: str  # a catalog id; CLAUDE_MODEL_<NAME> overrides it
    thinking: Effort  # BOT_THINKING_<NAME> overrides it
    fallback: str | None  # the next tier down when this one is overloaded (never up)
    note: str  # a few words for the Home tab and the manifest's command description
    command_help: str  # the Home tab's line for its slash command

    @property
    def command(self) -> str:
        """The slash command that starts a thread on this tier."""
        return f"/ask-{self.name}"

    @property
    def model_variable(self) -> str:
        """The environment variable naming this tier's model."""
        return f"CLAUDE_MODEL_{self.name.upper()}"

    @property
    def thinking_variable(self) -> str:
        """The environment variable setting this tier's thinking effort."""
        return f"BOT_THINKING_{self.name.upper()}"


TIER_TABLE: tuple[TierSpec, ...] = (
    TierSpec(
        name="haiku",
        label="Haiku",
        default_model="claude-haiku-5-5",
        thinking="off",
        fallback=None,
        note="fastest",
        command_help="a new thread answered by Haiku, the fastest",
    ),
    TierSpec(
        name="sonnet",
        label="Sonnet",
        default_model="claude-sonnet-5-5",
        thinking="off",
        fallback="haiku",
        note="mentions and DMs",
        command_help="the same with Sonnet, the default",
    ),
    TierSpec(
        name="opus",
        label="Opus",
        default_model="claude-opus-5-5",
        thinking="high",
        fallback="sonnet",
        note="thinks first",
        command_help="the same with Opus, which thinks first",
    ),
)
DEFAULT_TIER = "sonnet"  # mentions, DMs and threads without a tier

TIERS: dict[str, TierSpec] = {spec.name: spec for spec in TIER_TABLE}
TIER_NAMES: tuple[str, ...] = tuple(TIERS)
TIERS_BY_COMMAND: dict[str, TierSpec] = {spec.command: spec for spec in TIER_TABLE}


def tier(name: str) -> TierSpec:
    """The row of a tier name; KeyError for a name the table lacks."""
    return TIERS[name]


def fallback_chain(name: str) -> list[str]:
    """The tier, then the tiers to try when it is overloaded, following each row's fallback."""
    chain = [name]
    spec = TIERS.get(name)
    while spec is not None and spec.fallback is not None and spec.fallback not in chain:
        chain.append(spec.fallback)
        spec = TIERS.get(spec.fallback)
    return chain


def tier_label(name: str) -> str:
    """How a tier is named to users."""
    spec = TIERS.get(name)
    return spec.label if spec is not None else name.capitalize()
