"""Prices from the catalog applied to usage."""

from __future__ import annotations

import pytest

from bot.claude.catalog import CATALOG, DEFAULT_MODELS, lookup
from bot.claude.cost import call_cost_usd
from bot.conversation.messages import Usage


def test_hand_computed_cost_with_both_cache_ttls() -> None:
    """Opus 5.5: 1000 input, 2000 5m-write, 3000 1h-write, 4000 read, 500 output."""
    usage = Usage(
        1000, 500, cache_read_tokens=4000, cache_write_5m_tokens=2000, cache_write_1h_tokens=3000
    )
    expected = (1000 * 4 + 2000 * 5 + 3000 * 8 + 4000 * 0.20 + 500 * 20) / 1e6
    assert call_cost_usd(CATALOG["claude-opus-5-5"], usage) == pytest.approx(expected)


def test_haiku_long_context_prices_apply_above_100k() -> None:
    """Haiku 5.5 charges its higher prices once the prompt passes 100K tokens."""
    haiku = CATALOG["claude-haiku-5-5"]
    small = call_cost_usd(haiku, Usage(100_000, 0))
    large = call_cost_usd(haiku, Usage(100_001, 0))
    assert small == pytest.approx(100_000 * 0.10 / 1e6)
    assert large == pytest.approx(100_001 * 0.50 / 1e6)


def test_defaults_are_the_newest_and_known() -> None:
    """The default model of each tier is in the catalog with that tier."""
    for tier, model_id in DEFAULT_MODELS.items():
        assert CATALOG[model_id].tier == tier


def test_unknown_model_is_usable_without_prices() -> None:
    """An id the catalog lacks still resolves, flagged unknown, with zero prices."""
    info, known = lookup("claude-future-9", "sonnet")
    assert not known
    assert info.model_id == "claude-future-9"
    assert info.prices.output == 0
