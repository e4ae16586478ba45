"""'@Claude summarise …' becomes an instruction naming what to read (pure)."""

from __future__ import annotations

from bot.slack.handlers.summaries import summary_instruction


def test_summarise_in_a_thread_reads_the_thread() -> None:
    """In a thread, "summarise" asks for that thread with read_channel and its permalinks."""
    text = summary_instruction("summarise", "C1", "1700.1")
    assert text is not None
    assert "thread_ts=1700.1" in text
    assert "permalink" in text


def test_summarise_a_channel_since_monday() -> None:
    """A named channel and "since Monday" become read_channel's channel and since."""
    text = summary_instruction("Summarize <#C0INC|incidents> since Monday", "C1", None)
    assert text is not None
    assert "channel=C0INC, since=monday" in text


def test_other_text_is_left_alone() -> None:
    """A question that is not a summary request, or "summarise this: …" at the top level, is
    an ordinary question."""
    assert summary_instruction("what is a summary?", "C1", "1.1") is None
    assert summary_instruction("summarise this article: blah", "C1", None) is None
