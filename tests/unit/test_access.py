"""Allowlists and where the bot token may be sent."""

from __future__ import annotations

import pytest

from bot.config import is_slack_host
from bot.slack.handlers.access import NOT_EXTERNAL, NOT_FOR_YOU, NOT_HERE, AccessPolicy, parse_ids


def test_empty_policy_allows_everyone_everywhere() -> None:
    """Without allowlists nobody is refused."""
    assert AccessPolicy().refusal("U1", "C1", is_direct_message=False) is None


def test_user_and_channel_lists() -> None:
    """Listed users in listed channels are served; others get the matching refusal; the
    channel list does not apply to a person's DM with the bot."""
    policy = AccessPolicy(users=parse_ids("U1, U2"), channels=parse_ids("C1"))
    assert policy.refusal("U1", "C1", is_direct_message=False) is None
    assert policy.refusal("U3", "C1", is_direct_message=False) == NOT_FOR_YOU
    assert policy.refusal("U2", "C9", is_direct_message=False) == NOT_HERE
    assert policy.refusal("U2", "D9", is_direct_message=True) is None


def test_people_of_another_organisation_only_when_allowed() -> None:
    """A Slack Connect guest is refused by default, whatever the lists say, and served once
    BOT_ALLOW_EXTERNAL_USERS is on (the lists still apply to them then)."""
    closed = AccessPolicy()
    assert closed.refusal("U1", "C1", is_direct_message=False, external=True) == NOT_EXTERNAL
    assert closed.refusal("U1", "D1", is_direct_message=True, external=True) == NOT_EXTERNAL
    opened = AccessPolicy(channels=parse_ids("C1"), allow_external=True)
    assert opened.refusal("U1", "C1", is_direct_message=False, external=True) is None
    assert opened.refusal("U1", "C2", is_direct_message=False, external=True) == NOT_HERE


def test_may_read_follows_the_channel_list() -> None:
    """Channels outside a non-empty list may not be read; DMs and an empty list may."""
    assert AccessPolicy().may_read("C9")
    listed = AccessPolicy(channels=parse_ids("C1"))
    assert listed.may_read("C1")
    assert not listed.may_read("C9")
    assert listed.may_read("D9", is_direct_message=True)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("slack.com", True),
        ("api.slack.com", True),
        ("files.slack.com", True),
        ("x.slack-gov.com", True),
        ("127.0.0.1", True),
        ("localhost", True),
        ("slack.com.evil.example", False),
        ("evilslack.com", False),
        ("example.com", False),
    ],
)
def test_bot_token_only_goes_to_slack_hosts(host: str, allowed: bool) -> None:
    """SLACK_API_URL must point at Slack (or loopback for tests): lookalikes are refused."""
    assert is_slack_host(host) is allowed
