"""Tier switching, fallback order and what users see (pure functions)."""

from __future__ import annotations

import pytest

from bot.conversation.display import footer, live_text, quoted_thinking, thinking_status
from bot.conversation.routing import fallback_chain, parse_switch


@pytest.mark.parametrize(
    ("text", "tier"),
    [
        ("switch to opus", "opus"),
        ("Switch to Haiku.", "haiku"),
        ("please change this thread to sonnet", "sonnet"),
        ("use opus", "opus"),
        ("switch to claude opus now", "opus"),
        ("switch to opus and explain monads", None),
        ("what is opus?", None),
        ("use python", None),
    ],
)
def test_parse_switch(text: str, tier: str | None) -> None:
    """Only whole switch commands change the tier; anything else is a normal question."""
    assert parse_switch(text) == tier


def test_fallback_goes_down_never_up() -> None:
    """Opus falls back to Sonnet then Haiku; Haiku has nowhere to go."""
    assert fallback_chain("opus") == ["opus", "sonnet", "haiku"]
    assert fallback_chain("sonnet") == ["sonnet", "haiku"]
    assert fallback_chain("haiku") == ["haiku"]


def test_footer_plain_and_after_fallback() -> None:
    """The footer names the model and time, and the fallback when there was one."""
    assert footer("Opus 5.5", 3.14, "opus", "opus") == "_Opus 5.5 · 3.1 s_"
    assert (
        footer("Sonnet 5.5", 2.0, "opus", "sonnet")
        == "_Opus was overloaded — answered by Sonnet 5.5 · 2.0 s_"
    )


def test_live_text_shows_status_until_text_arrives() -> None:
    """While only thinking has streamed, the status shows; then the answer replaces it."""
    status = thinking_status(4.2)
    assert status == "_Thinking… 4 s_"
    assert live_text("", "pondering", status, show_thinking=False) == status
    assert live_text("Answer", "pondering", status, show_thinking=False) == "Answer"
    shown = live_text("Answer", "pondering", status, show_thinking=True)
    assert shown.startswith("> _Thinking:_\n> pondering")
    assert shown.endswith("\n\nAnswer")


def test_quoted_thinking_is_capped() -> None:
    """Very long thinking is cut to a readable summary."""
    assert len(quoted_thinking("x" * 10_000)) < 1600
