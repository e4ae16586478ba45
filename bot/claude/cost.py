"""What a call cost, from its usage and the catalog's prices (pure)."""

from __future__ import annotations

from bot.claude.catalog import ModelInfo
from bot.conversation.messages import Usage

PER_MILLION = 1_000_000


def call_cost_usd(model: ModelInfo, usage: Usage) -> float:
    """USD for one call: uncached input, 5-minute and 1-hour cache writes, cache reads, output."""
    prices = model.prices_for(usage.prompt_tokens)
    total = (
        usage.input_tokens * prices.input
        + usage.cache_write_5m_tokens * prices.cache_write_5m
        + usage.cache_write_1h_tokens * prices.cache_write_1h
        + usage.cache_read_tokens * prices.cache_read
        + usage.output_tokens * prices.output
    )
    return total / PER_MILLION


def uncached_cost_usd(model: ModelInfo, usage: Usage) -> float:
    """USD the same call would cost without the prompt cache: every prompt token at the input
    price (the baseline cache savings are measured against)."""
    prices = model.prices_for(usage.prompt_tokens)
    return (usage.prompt_tokens * prices.input + usage.output_tokens * prices.output) / PER_MILLION
