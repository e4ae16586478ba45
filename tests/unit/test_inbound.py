"""Parsing Slack events into questions: what is answered and what is ignored."""

from __future__ import annotations

from typing import Any

import pytest

from bot.conversation.messages import Question, ThreadKey
from bot.slack.handlers.inbound import (
    Ignored,
    is_external_author,
    message_mark,
    question_from_event,
    strip_mention,
)

BOT = "U0BOT"


def _parse(event: dict[str, Any]) -> Any:
    return question_from_event(event, team_id="T1", bot_user_id=BOT, event_id="Ev1")


def test_channel_mention_starts_a_thread_under_itself() -> None:
    """A top-level mention's thread is the mention itself; the mention is stripped."""
    q = _parse(
        {"type": "app_mention", "user": "U1", "text": f"<@{BOT}> hi", "ts": "1.1", "channel": "C1"}
    )
    assert q.key == ThreadKey("T1", "C1", "1.1")
    assert q.text == "hi"
    assert q.reply_thread_ts == "1.1"
    assert not q.is_direct_message


def test_mention_inside_a_thread_uses_that_thread() -> None:
    """A mention in a thread continues that thread's conversation."""
    q = _parse(
        {
            "type": "app_mention",
            "user": "U1",
            "text": f"<@{BOT}> more",
            "ts": "2.2",
            "thread_ts": "1.1",
            "channel": "C1",
        }
    )
    assert q.key.thread_ts == "1.1"
    assert q.reply_thread_ts == "1.1"


def test_top_level_dm_answers_at_top_level() -> None:
    """A top-level DM is one running conversation, answered without a thread."""
    q = _parse(
        {
            "type": "message",
            "channel_type": "im",
            "user": "U1",
            "text": "hey",
            "ts": "3.3",
            "channel": "D1",
        }
    )
    assert q.is_direct_message
    assert q.key.thread_ts == "dm"
    assert q.reply_thread_ts is None


def test_threaded_dm_answers_in_the_thread() -> None:
    """A DM written in a thread is answered in that thread."""
    q = _parse(
        {
            "type": "message",
            "channel_type": "im",
            "user": "U1",
            "text": "hey",
            "ts": "3.4",
            "thread_ts": "3.3",
            "channel": "D1",
        }
    )
    assert q.key.thread_ts == "3.3"
    assert q.reply_thread_ts == "3.3"


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (
            {
                "type": "message",
                "channel_type": "im",
                "bot_id": "B1",
                "text": "x",
                "ts": "1",
                "channel": "D1",
            },
            "posted by a bot",
        ),
        (
            {
                "type": "message",
                "channel_type": "im",
                "subtype": "message_changed",
                "ts": "1",
                "channel": "D1",
            },
            "subtype 'message_changed'",
        ),
        (
            {
                "type": "message",
                "channel_type": "im",
                "subtype": "message_deleted",
                "ts": "1",
                "channel": "D1",
            },
            "subtype 'message_deleted'",
        ),
        (
            {
                "type": "message",
                "channel_type": "im",
                "user": BOT,
                "text": "x",
                "ts": "1",
                "channel": "D1",
            },
            "the bot's own message",
        ),
        (
            {
                "type": "message",
                "channel_type": "channel",
                "user": "U1",
                "text": "x",
                "ts": "1",
                "channel": "C1",
            },
            "message in a 'channel' channel",
        ),
        ({"type": "app_mention", "text": "x"}, "missing user, channel or ts"),
        ({"type": "reaction_added"}, "event type 'reaction_added'"),
    ],
)
def test_ignored_events(event: dict[str, Any], reason: str) -> None:
    """Bots, edits, deletions, the bot itself and malformed payloads are dropped with a reason."""
    assert _parse(event) == Ignored(reason)


def test_strip_mention_handles_labels() -> None:
    """Mentions with a label (<@U|name>) are stripped too."""
    assert strip_mention(f"<@{BOT}|claude> what?", BOT) == "what?"


def test_message_mark_is_per_message() -> None:
    """The dedupe mark names the workspace, channel and message ts."""
    q = _parse({"type": "app_mention", "user": "U1", "text": "x", "ts": "9.9", "channel": "C1"})
    assert message_mark(q) == "msg:T1:C1:9.9"


def _wrapped(event: dict[str, Any], *, shared: bool | None = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "team_id": "T1",
        "context_team_id": "T1",
        "authorizations": [{"team_id": "T1", "enterprise_id": None}],
        "event": {"type": "app_mention", "user": "U9", "channel": "C1", "ts": "1.1", **event},
    }
    if shared is not None:
        body["is_ext_shared_channel"] = shared
    return body


@pytest.mark.parametrize(
    ("event", "external"),
    [
        ({"user_team": "T2", "source_team": "T2", "team": "T2"}, True),
        ({"user_profile": {"team": "T2"}}, True),
        ({"team": "T2"}, True),
        ({"source_team": "T2"}, True),
        ({"user_team": "T1", "source_team": "T2"}, False),  # the user's own team decides
        ({"user_team": "T1", "source_team": "T1", "team": "T1"}, False),
        ({}, False),  # nothing says who they are: a plain workspace event
    ],
)
def test_external_author_by_the_team_fields_slack_connect_sends(
    event: dict[str, Any], external: bool
) -> None:
    """A message whose author's team (user_team, then user_profile.team, team, source_team) is
    not the workspace's comes from another organisation."""
    assert is_external_author(_wrapped(event)) is external
    assert is_external_author(_wrapped(event, shared=None)) is external


def test_no_guests_where_slack_says_the_channel_is_not_externally_shared() -> None:
    """An Enterprise Grid channel shared across the organisation's own workspaces carries
    other team ids but is_ext_shared_channel false: those are colleagues, not guests."""
    assert not is_external_author(_wrapped({"user_team": "T2"}, shared=False))


def test_action_token_and_assistant_context_are_kept() -> None:
    """A mention's action_token (top level, or inside assistant_thread) and the assistant
    thread's context channel reach the Question; without them both are None."""
    base = {"type": "app_mention", "user": "U1", "channel": "C1", "ts": "1.1", "text": "hi"}
    q = question_from_event({**base, "action_token": "1.2.abc"}, team_id="T1", bot_user_id="UB")
    assert isinstance(q, Question)
    assert q.action_token == "1.2.abc"
    assert "1.2.abc" not in repr(q)
    nested = {
        **base,
        "assistant_thread": {"action_token": "9.9.xyz", "context": {"channel_id": "C777"}},
    }
    q = question_from_event(nested, team_id="T1", bot_user_id="UB")
    assert isinstance(q, Question)
    assert (q.action_token, q.context_channel) == ("9.9.xyz", "C777")
    q = question_from_event(base, team_id="T1", bot_user_id="UB")
    assert isinstance(q, Question)
    assert (q.action_token, q.context_channel) == (None, None)
