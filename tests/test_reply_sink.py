"""The edit-in-place sink (bot/slack/reply.py) against the fake Slack: what it tells the
coalescer when the workspace's chat.update budget has no token for an interim edit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.throttle import MonotonicClock
from bot.slack.sinks.edit_in_place import Destination, SlackReplySink, YoungAnswers
from testing.fakes.slack_server import FakeSlack

USER, CHANNEL = "U0ANA", "C0GENERAL"


class EmptyBudget:
    """A budget whose next interim token is due in 0.4 s; finals always get one."""

    def __init__(self) -> None:
        self.asked = 0

    async def try_take(self, team: str, *, young: bool = False) -> float:
        self.asked += 1
        return 0.4

    async def low(self, team: str, *, waiting: int = 0) -> bool:
        return True

    async def take(self, team: str) -> None:
        return None

    async def back_off(self, team: str, seconds: float) -> None:
        return None


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    fake.add_user(USER, "ana", "Ana Lima")
    fake.add_channel(CHANNEL, "general", members={USER, fake.ids.bot_user_id})
    await fake.start()
    yield fake
    await fake.stop()
    assert fake.violations == []


async def test_an_edit_out_of_budget_is_skipped_and_says_when_a_token_is_due(
    slack: FakeSlack,
) -> None:
    """No token: no chat.update is sent, show() returns the budget's wait (so the coalescer
    retries then), and the final text still lands."""
    root = (await slack.user_message(CHANNEL, USER, "a question")).ts
    budget = EmptyBudget()
    sink = SlackReplySink(
        AsyncWebClient(token=slack.ids.bot_token, base_url=slack.api_url),
        Destination(slack.ids.team_id, CHANNEL, root, "a1"),
        message_chars=3500,
        clock=MonotonicClock(),
        budget=budget,
    )
    assert await sink.show("First words") == 0.0  # a new message is posted: no budget needed
    assert await sink.show("First words and more") == 0.4
    assert budget.asked == 1
    assert slack.calls_to("chat.update") == []
    await sink.finish("First words and more, all of them.")
    (reply,) = slack.bot_replies(CHANNEL, root)
    assert reply.visible_text == "First words and more, all of them."


async def test_answers_whose_first_message_lacks_its_first_words_are_counted(
    slack: FakeSlack,
) -> None:
    """An answer counts as waiting for its first words from its first post with fewer than ten
    whole words until an edit shows them; answers over, or not yet posted, do not count."""
    root = (await slack.user_message(CHANNEL, USER, "a question")).ts
    client = AsyncWebClient(token=slack.ids.bot_token, base_url=slack.api_url)
    young = YoungAnswers()
    sinks = [
        SlackReplySink(
            client,
            Destination(slack.ids.team_id, CHANNEL, root, f"a{n}"),
            message_chars=3500,
            clock=MonotonicClock(),
        )
        for n in range(3)
    ]
    for sink in sinks:
        young.add(slack.ids.team_id, sink)
    assert young.waiting(slack.ids.team_id) == 0
    await sinks[0].show("One")
    await sinks[1].show("One two")
    assert young.waiting(slack.ids.team_id) == 2
    await sinks[0].show(" ".join(f"w{n}" for n in range(11)))
    young.discard(slack.ids.team_id, sinks[1])
    assert young.waiting(slack.ids.team_id) == 0
