"""The model catalog: one place for every fact about a Claude model the bot relies on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.conversation.tiers import TIER_TABLE

Tier = str  # a name of bot.conversation.tiers.TIER_TABLE
ThinkingMode = Literal["adaptive", "budget"]


@dataclass(frozen=True)
class Prices:
    """USD per million tokens."""

    input: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float
    output: float


@dataclass(frozen=True)
class ModelInfo:
    """What the bot needs to know about one model id."""

    model_id: str
    tier: Tier
    display_name: str
    context_window: int
    max_output: int
    prices: Prices
    min_cacheable_tokens: int
    max_image_edge: int
    thinking: ThinkingMode
    forced_tool_choice: bool
    sampling_params: bool
    rejects_thinking_disabled: bool = False
    # Some models charge more above a prompt size: (threshold in input tokens, prices above it).
    long_context: tuple[int, Prices] | None = None

    def prices_for(self, prompt_tokens: int) -> Prices:
        """The prices that apply to a request whose whole prompt has this many tokens."""
        if self.long_context is not None and prompt_tokens > self.long_context[0]:
            return self.long_context[1]
        return self.prices


_NEWEST_EDGE = 2576
_OLDER_EDGE = 1568

CATALOG: dict[str, ModelInfo] = {
    info.model_id: info
    for info in (
        ModelInfo(
            model_id="claude-opus-5-5",
            tier="opus",
            display_name="Opus 5.5",
            context_window=1_000_000,
            max_output=128_000,
            prices=Prices(4.0, 5.0, 8.0, 0.20, 20.0),
            min_cacheable_tokens=512,
            max_image_edge=_NEWEST_EDGE,
            thinking="adaptive",
            forced_tool_choice=False,
            sampling_params=False,
            rejects_thinking_disabled=True,
        ),
        ModelInfo(
            model_id="claude-sonnet-5-5",
            tier="sonnet",
            display_name="Sonnet 5.5",
            context_window=1_000_000,
            max_output=64_000,
            prices=Prices(2.0, 2.50, 4.0, 0.20, 10.0),
            min_cacheable_tokens=512,
            max_image_edge=_NEWEST_EDGE,
            thinking="adaptive",
            forced_tool_choice=False,
            sampling_params=False,
            rejects_thinking_disabled=True,
        ),
        ModelInfo(
            model_id="claude-haiku-5-5",
            tier="haiku",
            display_name="Haiku 5.5",
            context_window=200_000,
            max_output=64_000,
            prices=Prices(0.10, 0.125, 0.20, 0.01, 0.50),
            long_context=(100_000, Prices(0.50, 0.625, 1.0, 0.05, 2.50)),
            min_cacheable_tokens=4096,
            max_image_edge=_NEWEST_EDGE,
            thinking="adaptive",
            forced_tool_choice=True,
            sampling_params=False,
        ),
        ModelInfo(
            model_id="claude-opus-4-7",
            tier="opus",
            display_name="Opus 4.7",
            context_window=200_000,
            max_output=128_000,
            prices=Prices(5.0, 6.25, 10.0, 0.50, 25.0),
            min_cacheable_tokens=2048,
            max_image_edge=_OLDER_EDGE,
            thinking="adaptive",
            forced_tool_choice=True,
            sampling_params=False,
        ),
        ModelInfo(
            model_id="claude-sonnet-4-6",
            tier="sonnet",
            display_name="Sonnet 4.6",
            context_window=200_000,
            max_output=64_000,
            prices=Prices(3.0, 3.75, 6.0, 0.30, 15.0),
            min_cacheable_tokens=1024,
            max_image_edge=_OLDER_EDGE,
            thinking="budget",
            forced_tool_choice=True,
            sampling_params=True,
        ),
        ModelInfo(
            model_id="claude-haiku-4-5",
            tier="haiku",
            display_name="Haiku 4.5",
            context_window=200_000,
            max_output=64_000,
            prices=Prices(1.0, 1.25, 2.0, 0.10, 5.0),
            min_cacheable_tokens=4096,
            max_image_edge=_OLDER_EDGE,
            thinking="budget",
            forced_tool_choice=True,
            sampling_params=True,
        ),
    )
}

DEFAULT_MODELS: dict[Tier, str] = {spec.name: spec.default_model for spec in TIER_TABLE}


def unknown_model(model_id: str, tier: Tier) -> ModelInfo:
    """Conservative facts for a model id the catalog does not know (no cost estimate)."""
    return ModelInfo(
        model_id=model_id,
        tier=tier,
        display_name=model_id,
        context_window=200_000,
        max_output=32_000,
        prices=Prices(0.0, 0.0, 0.0, 0.0, 0.0),
        min_cacheable_tokens=4096,
        max_image_edge=_OLDER_EDGE,
        thinking="adaptive",
        forced_tool_choice=False,
        sampling_params=False,
    )


def lookup(model_id: str, tier: Tier) -> tuple[ModelInfo, bool]:
    """The catalog entry for a model id, and whether the catalog knew it."""
    known = CATALOG.get(model_id)
    if known is not None:
        return known, True
    return unknown_model(model_id, tier), False


# The newest server-tool versions the bot knows (TOOLS.md in the team's shared folder); a model
# that needs an older one names it in SERVER_TOOL_OVERRIDES.
SERVER_TOOL_TYPES: dict[str, str] = {
    "web_search": "web_search_20260318",
    "web_fetch": "web_fetch_20260318",
    "code_execution": "code_execution_20260521",
}
SERVER_TOOL_OVERRIDES: dict[str, dict[str, str]] = {}
# Per-use prices of server tools, USD (tokens are priced as usual): web search $10 per 1,000.
WEB_SEARCH_USD = 0.01


def server_tool_type(model_id: str, name: str) -> str:
    """The `type` of a server tool for this model (its newest version the bot knows)."""
    return SERVER_TOOL_OVERRIDES.get(model_id, {}).get(name, SERVER_TOOL_TYPES[name])
