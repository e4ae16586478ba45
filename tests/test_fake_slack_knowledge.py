"""The fake Slack as a knowledge source: per-person search visibility, action tokens,
conversations.members, message shortcuts and the rate tiers of the method specs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from testing.fakes.slack_server import FakeSlack
from testing.fakes.slack_surfaces import message_shortcut

ANA, BOB, GUEST = "U0ANA", "U0BOB", "U0GUEST"
PUBLIC, SECRET, DM = "C0LAUNCH", "G0SECRET", "D0ANA"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    fake.add_user(ANA, "ana", "Ana Lima")
    fake.add_user(BOB, "bob", "Bob Stone")
    fake.add_user(GUEST, "gus", "Gus Guest", restricted=True)
    bot = fake.ids.bot_user_id
    fake.add_channel(PUBLIC, "launch", members={ANA, bot})
    fake.add_channel(SECRET, "secret-launch", members={BOB, bot}, is_private=True)
    fake.add_im(DM, ANA)
    fake.post_as(PUBLIC, ANA, "We decided the launch moves to Tuesday")
    fake.post_as(SECRET, BOB, "Secret: the launch price is 42 dollars")
    await fake.start()
    yield fake
    await fake.stop()


def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=slack.ids.bot_token, base_url=slack.api_url)


async def token_for(slack: FakeSlack, user: str) -> str:
    """The action_token of a DM (or mention) `user` just sent."""
    if user == ANA:
        delivery = await slack.user_message(DM, ANA, "hello")
    else:  # a mention in a channel of their own (posting there makes them a member)
        lobby = f"C0LOBBY{user[-3:]}"
        slack.add_channel(lobby, f"lobby-{user.lower()}", members={user, slack.ids.bot_user_id})
        delivery = await slack.user_message(lobby, user, f"<@{slack.ids.bot_user_id}> hi")
    token = delivery.event.get("action_token")
    assert isinstance(token, str)
    return token


async def test_search_sees_only_what_the_action_tokens_person_may_see(slack: FakeSlack) -> None:
    """A public channel's message is found for a workspace member who is not in it; a private
    channel's never (a bot token cannot search private channels); a guest finds nothing in a
    channel they are not in."""
    web = client(slack)
    bob = await token_for(slack, BOB)
    found = await web.assistant_search_context(query="launch", action_token=bob)
    contents = [m["content"] for m in found["results"]["messages"]]
    assert "We decided the launch moves to Tuesday" in contents
    assert not any("Secret" in text for text in contents)
    first = found["results"]["messages"][0]
    assert first["author_name"]
    assert first["permalink"].startswith("https://")
    guest = await token_for(slack, GUEST)
    found = await web.assistant_search_context(query="launch Tuesday", action_token=guest)
    assert [m["channel_id"] for m in found["results"]["messages"]] == []
    with pytest.raises(SlackApiError) as err:
        await web.assistant_search_context(
            query="launch", action_token=bob, channel_types=["private_channel"]
        )
    assert err.value.response["error"] == "missing_scope"


async def test_search_needs_a_live_action_token(slack: FakeSlack) -> None:
    """Without an action_token, or with one that expired, a bot token cannot search."""
    web = client(slack)
    with pytest.raises(SlackApiError) as err:
        await web.assistant_search_context(query="launch")
    assert err.value.response["error"] == "invalid_action_token"
    token = await token_for(slack, ANA)
    slack.expire_action_tokens()
    with pytest.raises(SlackApiError) as err:
        await web.assistant_search_context(query="launch", action_token=token)
    assert err.value.response["error"] == "invalid_action_token"
    slack.set_ai_search(False)
    assert not (await web.assistant_search_info())["is_ai_search_enabled"]


async def test_members_and_permalinks(slack: FakeSlack) -> None:
    """conversations.members pages through a channel's members; a private channel the bot is
    not in is not found; chat.getPermalink agrees with the fake's permalink()."""
    web = client(slack)
    first = await web.conversations_members(channel=SECRET, limit=1)
    rest = await web.conversations_members(
        channel=SECRET, cursor=first["response_metadata"]["next_cursor"]
    )
    assert set(first["members"] + rest["members"]) == {BOB, slack.ids.bot_user_id}
    slack.add_channel("G0NOBOT", "nobot", members={ANA}, is_private=True)
    with pytest.raises(SlackApiError) as err:
        await web.conversations_members(channel="G0NOBOT")
    assert err.value.response["error"] == "channel_not_found"
    ts = slack.messages(PUBLIC)[0].ts
    link = await web.chat_getPermalink(channel=PUBLIC, message_ts=ts)
    assert link["permalink"] == slack.permalink(PUBLIC, ts)


async def test_methods_are_held_to_their_spec_tier(slack: FakeSlack) -> None:
    """assistant.search.info is Tier 2: the 21st call within a minute gets a 429 with
    Retry-After."""
    web = client(slack)
    for _ in range(20):
        await web.assistant_search_info()
    with pytest.raises(SlackApiError) as err:
        await web.assistant_search_info()
    assert err.value.response.status_code == 429
    assert int(err.value.response.headers["Retry-After"]) >= 1


async def test_message_shortcut_payload(slack: FakeSlack) -> None:
    """A message shortcut of the manifest arrives as a message_action payload naming the
    message, its channel and the person; an unknown callback id is refused."""
    ts = slack.messages(PUBLIC)[0].ts
    envelope_id = await message_shortcut(slack, "summarise_thread", PUBLIC, ts, ANA)
    payload = next(e for e in slack.envelopes if e["envelope_id"] == envelope_id)["payload"]
    assert payload["type"] == "message_action"
    assert payload["callback_id"] == "summarise_thread"
    assert payload["message"]["ts"] == ts
    assert (payload["channel"]["id"], payload["user"]["id"]) == (PUBLIC, ANA)
    with pytest.raises(ValueError, match="not a message shortcut"):
        await message_shortcut(slack, "nope", PUBLIC, ts, ANA)
