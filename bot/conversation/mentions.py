"""Broadcast mentions defused in text the bot posts (pure).

Claude's text can carry what it read — a thread message, a repository file, a web page — and
that can hold Slack's broadcast syntax: `<!channel>`, `<!here>`, `<!everyone>` (also with a
`|label`), a user group `<!subteam^S123>`, or the bare `@channel` / `@here` / `@everyone`
that Slack's parsing can link. Posted as is, a prompt injection would notify a whole channel.

Each such token gets an invisible WORD JOINER (U+2060) before its last keyword character:
`<!here>` becomes `<!her\u2060e>`, `@channel` becomes `@channe\u2060l`. The reader sees the same
characters, the token is no longer Slack syntax, and nothing else changes (`<!DOCTYPE html>`,
`<!-- -->` and one person's mention `<@U123>` stay as written).

The rewrite is stable under streaming: the joiner goes in only when the character after it
has arrived, so `defuse(prefix)` is always a prefix of `defuse(prefix + more)`, and a token
split across two deltas is defused the moment it completes. It is also idempotent.
"""

from __future__ import annotations

import re

WORD_JOINER = "\u2060"

_KEYWORDS = ("channel", "here", "everyone")
# The joiner goes before the lookahead character: each alternative matches a token up to its
# last character and only looks at that one.
_SPECIAL = "|".join(f"{word[:-1]}(?={re.escape(word[-1])})" for word in _KEYWORDS)
_BROADCAST = re.compile(
    rf"(?:<|&lt;)!(?:{_SPECIAL}|subteam(?=\^))"  # <!here>, <!subteam^…>, &lt;!here&gt;
    rf"|(?<![^\W_])@(?:{_SPECIAL})",  # a bare @here not inside a word or an address
    re.IGNORECASE,
)


def defuse_broadcasts(text: str) -> str:
    """The text with every broadcast mention made inert (see the module docstring)."""
    if "!" not in text and "@" not in text:
        return text
    return _BROADCAST.sub(lambda match: match.group(0) + WORD_JOINER, text)
