"""Broadcast mentions in the bot's posts are defused, also while an answer streams."""

from __future__ import annotations

import re

import pytest

from bot.conversation.mentions import WORD_JOINER, defuse_broadcasts

# What Slack (or a client linking names) would turn into a notification for many people.
BROADCAST = re.compile(
    r"<!(channel|here|everyone)(\|[^>]*)?>|<!subteam\^\w+(\|[^>]*)?>"
    r"|(?<![^\W_])@(channel|here|everyone)\b",
    re.IGNORECASE,
)

INJECTED = (
    "<!channel> and @here: read this. <!here|here> <!everyone> <!subteam^S0ENG|@eng> "
    "<!HERE> @Channel *@everyone* _@here_ &lt;!channel&gt;"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<!channel>", f"<!channe{WORD_JOINER}l>"),
        ("<!here|here>", f"<!her{WORD_JOINER}e|here>"),
        ("<!everyone>", f"<!everyon{WORD_JOINER}e>"),
        ("<!subteam^S123|@eng>", f"<!subteam{WORD_JOINER}^S123|@eng>"),
        ("hi @here!", f"hi @her{WORD_JOINER}e!"),
        ("@CHANNEL", f"@CHANNE{WORD_JOINER}L"),
    ],
)
def test_each_broadcast_gets_a_joiner_before_its_last_letter(text: str, expected: str) -> None:
    """Each broadcast form is broken by one invisible joiner and otherwise reads the same."""
    assert defuse_broadcasts(text) == expected
    assert defuse_broadcasts(text).replace(WORD_JOINER, "") == text


def test_nothing_in_the_injected_text_can_broadcast() -> None:
    """A text full of broadcast syntax comes out with none left."""
    assert BROADCAST.findall(INJECTED)
    assert not BROADCAST.search(defuse_broadcasts(INJECTED))


@pytest.mark.parametrize(
    "text",
    [
        "Ask <@U0ANA> or <@W123|ana>; see <#C0GENERAL> and <https://x.example|docs>.",
        "```html\n<!DOCTYPE html>\n<!-- a comment -->\n```",
        "Mail ops@here.com, team@channel.io or a2@everyone.org: addresses, not broadcasts.",
        "<!date^1392734382^{date}|Feb 18>",
        "No mentions at all.",
    ],
)
def test_other_text_is_left_exactly_as_written(text: str) -> None:
    """One person's mention, channel links, HTML in code, e-mail addresses and dates stay."""
    assert defuse_broadcasts(text) == text


def test_idempotent() -> None:
    """Defusing twice changes nothing more (text can pass the sinks more than once)."""
    once = defuse_broadcasts(INJECTED)
    assert defuse_broadcasts(once) == once


def test_stable_under_streaming_at_every_cut() -> None:
    """Whatever delta boundary splits a token, the defused prefix is a prefix of the defused
    whole: a stream only ever appends, and a token split in two is defused when complete."""
    whole = defuse_broadcasts(INJECTED)
    for cut in range(len(INJECTED) + 1):
        part = defuse_broadcasts(INJECTED[:cut])
        assert whole.startswith(part), (cut, part)
        assert not BROADCAST.search(part)
