"""Splitting long answers into Slack-sized messages."""

from __future__ import annotations

from bot.conversation.split import balance_fences, open_fence, split_message


def test_short_text_is_one_part() -> None:
    """A text under the limit stays whole."""
    assert split_message("hello", 100) == ["hello"]


def test_every_part_fits_and_nothing_is_lost() -> None:
    """A 30,000-character answer splits into parts within the limit that keep every word."""
    words = [f"word{i}" for i in range(5000)]
    text = " ".join(words)
    parts = split_message(text, 3500)
    assert all(len(part) <= 3500 for part in parts)
    assert " ".join(parts).split() == words


def test_split_prefers_paragraph_boundaries() -> None:
    """The cut falls between paragraphs when one is in the second half of the window."""
    text = "a" * 60 + "\n\n" + "b" * 60
    head, *rest = split_message(text, 100)
    assert head == "a" * 60
    assert rest == ["b" * 60]


def test_split_is_stable_as_text_grows() -> None:
    """Parts already complete never change when more text arrives (streaming-safe)."""
    text = " ".join(f"w{i}" for i in range(3000))
    earlier = split_message(text[:9000], 1000)
    later = split_message(text, 1000)
    assert later[: len(earlier) - 1] == earlier[:-1]


def test_code_fence_is_closed_and_reopened_across_parts() -> None:
    """A code block cut in two is closed at the end of one part and reopened in the next."""
    code = "\n".join(f"line {i}" for i in range(100))
    text = f"Intro\n```python\n{code}\n```\nOutro"
    parts = split_message(text, 300)
    assert len(parts) > 1
    for part in parts[:-1]:
        assert open_fence(part) is None
    assert parts[1].startswith("```python\n")
    assert all(len(part) <= 300 for part in parts)


def test_balance_fences_closes_an_open_block() -> None:
    """Partial text inside a code block gets a closing fence for display."""
    assert balance_fences("x\n```py\nprint(1)") == "x\n```py\nprint(1)\n```"
    assert balance_fences("```\ncode\n```") == "```\ncode\n```"
