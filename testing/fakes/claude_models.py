"""Per-model rules of the fake Claude: ONE table, read by validation and by the prompt cache.

Sources (Claude docs, as stored for the `search` tool; checked 2026-10):
- models/opus-5-5/migration-guide: Opus 5.5 takes no `thinking` or `adaptive` only (`enabled`
  and `disabled` rejected), rejects forced tool_choice, non-default sampling and prefill; min
  cacheable prompt 512.
- models/sonnet-5-5/migration-guide: thinking types table (Sonnet 5.5: adaptive, between_tools;
  Sonnet 5: adaptive, disabled; Sonnet 4.6: adaptive, disabled, enabled; Sonnet 4.5 and Haiku
  4.5: disabled, enabled), the exact 400 messages, prefill rejected from Sonnet 4.6 on, cache
  minimum 512 on Sonnet 5.5 (1,024 on Sonnet 5, 4.6, 4.5).
- models/haiku-5-5/migration-guide: Haiku 5.5 rejects `enabled` budgets, prefill and sampling
  other than temperature 1 / top_p 0.99 (both together also rejected); forced tool_choice OK.
- prompt-caching (Oct 2026 figures): 512 Opus 5.5, Sonnet 5.5, Opus 5; 1,024 Opus 4.8, Sonnet 5,
  Sonnet 4.6, Sonnet 4.5; 2,048 Opus 4.7; 4,096 Opus 4.6, Opus 4.5, Haiku 4.5. Haiku 5.5's
  figure was not found: its migration guide names no caching change, so 4,096 is kept.
- Opus 4.7 rejects sampling parameters and manual thinking budgets; models before Opus 4.8
  reject `role: "system"` messages (whats-new-claude-4-8, mid-conversation system messages).
- Effort levels: none on Sonnet 4.5 / Haiku 4.5 (Sonnet 5.5 guide: "Claude Sonnet 4.5 has no
  effort parameter"), low/medium/high on Opus 4.5, `max` from the 4.6 models, `xhigh` new with
  Opus 4.7 and the 5 generation (not on Sonnet 4.6). Partly from secondary sources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ALL_THINKING = frozenset({"enabled", "adaptive", "disabled"})
ALL_EFFORTS = ("low", "medium", "high", "xhigh", "max")
_NO_XHIGH = ("low", "medium", "high", "max")


@dataclass(frozen=True)
class ModelRules:
    """What one model accepts."""

    max_output: int = 128_000
    cache_min_tokens: int = 1024
    thinking_types: frozenset[str] = ALL_THINKING
    sampling_locked: bool = False  # temperature/top_p only at their defaults, top_k never
    sampling_exclusive: bool = False  # temperature and top_p may not both be set
    forced_tool_choice: bool = True  # tool_choice "any" / "tool"
    prefill: bool = True  # a final assistant turn
    system_messages: bool = False  # mid-conversation {"role": "system"} messages
    efforts: tuple[str, ...] = ALL_EFFORTS  # output_config.effort levels; () = no effort
    context_window: int = 200_000  # 200k models take 100 images / PDF pages a request, others 600
    programmatic_tool_calling: bool = True  # code execution may call tools (dynamic web filtering)


def _newest(
    cache_min: int,
    thinking: frozenset[str],
    *,
    forced_tool_choice: bool = True,
    system_messages: bool = False,
    context_window: int = 200_000,
) -> ModelRules:
    """A model of the 4.7+ generation: sampling locked, no prefill."""
    return ModelRules(
        context_window=context_window,
        cache_min_tokens=cache_min,
        thinking_types=thinking,
        sampling_locked=True,
        sampling_exclusive=True,
        forced_tool_choice=forced_tool_choice,
        prefill=False,
        system_messages=system_messages,
    )


_ADAPTIVE = frozenset({"adaptive"})
_ADAPTIVE_OFF = frozenset({"adaptive", "disabled"})
_BUDGET_ONLY = frozenset({"enabled", "disabled"})

#: The table. Extend here; ids with a date suffix fall back to the undated entry.
MODEL_RULES: dict[str, ModelRules] = {
    "claude-opus-5-5": _newest(
        512, _ADAPTIVE, forced_tool_choice=False, system_messages=True, context_window=1_000_000
    ),
    "claude-sonnet-5-5": _newest(
        512,
        frozenset({"adaptive", "between_tools"}),
        forced_tool_choice=False,
        system_messages=True,
        context_window=1_000_000,
    ),
    "claude-haiku-5-5": _newest(4096, _ADAPTIVE_OFF, system_messages=True),
    "claude-opus-5": _newest(512, _ADAPTIVE_OFF, system_messages=True),
    "claude-sonnet-5": _newest(1024, _ADAPTIVE_OFF),
    "claude-opus-4-8": _newest(1024, _ADAPTIVE_OFF, system_messages=True),
    "claude-opus-4-7": _newest(2048, _ADAPTIVE_OFF),
    "claude-opus-4-6": ModelRules(
        cache_min_tokens=4096, sampling_exclusive=True, prefill=False, efforts=_NO_XHIGH
    ),
    "claude-sonnet-4-6": ModelRules(
        max_output=64_000,
        cache_min_tokens=1024,
        sampling_exclusive=True,
        prefill=False,
        efforts=_NO_XHIGH,
    ),
    "claude-opus-4-5": ModelRules(
        max_output=64_000,
        cache_min_tokens=4096,
        thinking_types=_BUDGET_ONLY,
        sampling_exclusive=True,
        efforts=("low", "medium", "high"),
    ),
    "claude-sonnet-4-5": ModelRules(
        max_output=64_000,
        cache_min_tokens=1024,
        thinking_types=_BUDGET_ONLY,
        sampling_exclusive=True,
        efforts=(),
    ),
    "claude-haiku-4-5": ModelRules(
        max_output=64_000,
        cache_min_tokens=4096,
        thinking_types=_BUDGET_ONLY,
        sampling_exclusive=True,
        efforts=(),
        programmatic_tool_calling=False,  # code-execution docs, "Tool versions"
    ),
}

#: Rules for a `claude-*` id not in the table (accepted when known_models is None).
DEFAULT_RULES = ModelRules()

_DATE_SUFFIX = re.compile(r"-\d{8}$")


def rules_for(model: str) -> ModelRules:
    """The rules of a model id (dated ids use their undated entry)."""
    rules = MODEL_RULES.get(model) or MODEL_RULES.get(_DATE_SUFFIX.sub("", model))
    return rules if rules is not None else DEFAULT_RULES


def is_known(model: str, known_models: set[str] | None) -> bool:
    """Whether the fake serves this model id."""
    if known_models is not None:
        return model in known_models
    return model.startswith("claude-")
