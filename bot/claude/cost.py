"""What a call cost, from its usage and the catalog's prices (pure)."""

from __future__ import annotations

from bot.claude.catalog import WEB_SEARCH_USD, ModelInfo
from bot.conversation.messages import Usage

PER_MILLION = 1_000_000


def server_tool_cost_usd(usage: Usage) -> float:
    """USD for the call's server-tool uses billed apart from tokens: web searches (a failed
    search is not counted by the API; web fetch costs only its tokens)."""
    return usage.web_search_requests * WEB_SEARCH_USD


def call_cost_usd(model: ModelInfo, usage: Usage) -> float:
    """USD for one call: uncached input, 5-minute and 1-hour cache writes, cache reads, output,
    and the server tools billed per use."""
    prices = model.prices_for(usage.prompt_tokens)
    total = (
        usage.input_tokens * prices.input
        + usage.cache_write_5m_tokens * prices.cache_write_5m
        + usage.cache_write_1h_tokens * prices.cache_write_1h
        + usage.cache_read_tokens * prices.cache_read
        + usage.output_tokens * prices.output
    )
    return total / PER_MILLION + server_tool_cost_usd(usage)


def uncached_cost_usd(model: ModelInfo, usage: Usage) -> float:
    """USD the same call would cost without the prompt cache: every prompt token at the input
    price (the baseline cache savings are measured against; server tools cost the same)."""
    prices = model.prices_for(usage.prompt_tokens)
    tokens = usage.prompt_tokens * prices.input + usage.output_tokens * prices.output
    return tokens / PER_MILLION + server_tool_cost_usd(usage)
