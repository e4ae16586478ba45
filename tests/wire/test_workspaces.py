"""Many workspaces, one process (OAuth, HTTP mode): an install stores a workspace (its token
encrypted) that its later events use; two workspaces of one Enterprise Grid organisation with
identical channel and thread ids never mix; an uninstall forgets the workspace; a bot token due
to expire is rotated."""

from __future__ import annotations

import html
import json
import re
import time
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
import redis.asyncio as redis
from cryptography.fernet import Fernet

from testing.fakes.claude_script_tools import CallTool, ToolTurn
from testing.fakes.claude_server import FakeClaude, TextReply
from testing.fakes.slack_server import FakeSlack
from testing.fakes.slack_specs import HTTP_MANIFEST_PATH
from testing.fakes.slack_surfaces import message_shortcut
from testing.harness import BotProcess, free_port, mention, wait_for_final
from tests.wire.conftest import CHANNEL, USER, BotFactory

ORG = "E0ORG"
CLIENT_ID = "1111.2222"
CLIENT_SECRET = "fake-client-secret"
KEY = Fernet.generate_key().decode()


def _team() -> str:
    return f"T{uuid.uuid4().hex[:8].upper()}"


def _people(team: FakeSlack) -> None:
    team.add_user(USER, "ana", "Ana Lima")
    team.add_channel(CHANNEL, "general", members={USER, team.ids.bot_user_id})


@pytest.fixture
async def slack(request: pytest.FixtureRequest) -> AsyncIterator[FakeSlack]:
    """Workspace A of organisation E0ORG, where the app is not installed yet (the app is set up
    from manifest.http.yml, with OAuth; `token_rotation` when the test is parametrized so)."""
    fake = FakeSlack(
        team_id=_team(),
        enterprise_id=ORG,
        manifest=HTTP_MANIFEST_PATH,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        token_rotation=getattr(request, "param", False),
        installed=False,
    )
    _people(fake)
    await fake.start()
    yield fake
    await fake.stop()
    assert fake.violations == [], "the bot called Slack in a way the real API would not accept"


@pytest.fixture
def other(slack: FakeSlack) -> FakeSlack:
    """Workspace B of the same organisation: same channel id, same person id."""
    team = slack.add_team(_team(), enterprise_id=ORG, installed=False)
    _people(team)
    return team


async def oauth_bot(bot_factory: BotFactory, slack: FakeSlack) -> BotProcess:
    """A bot serving every workspace that installs it, over HTTP."""
    bot = bot_factory(
        BOT_MODE="http",
        PORT=str(free_port()),
        SLACK_BOT_TOKEN="",
        SLACK_APP_TOKEN="",
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
        SLACK_STATE_SECRET="state-secret-of-the-test",
        BOT_TOKEN_ENCRYPTION_KEY=KEY,
    )
    await bot.start()
    slack.deliver_over_http(f"{bot.http_url}/slack/events")
    return bot


async def install(bot: BotProcess, team: FakeSlack) -> None:
    """A person of `team` goes through the install: the bot's install page, Slack's approval,
    back to the bot's redirect with the code (and the state cookie, as a browser would)."""
    async with aiohttp.ClientSession() as browser:
        async with browser.get(f"{bot.http_url}/slack/install") as page:
            assert page.status == 200
            cookie = page.headers["Set-Cookie"].split(";", 1)[0]
            found = re.search(
                r'href="(https://slack\.com/oauth/v2/authorize[^"]+)"', await page.text()
            )
        assert found is not None, "the install page links to Slack's authorize URL"
        code, state = team.approve_install(html.unescape(found.group(1)))
        async with browser.get(
            f"{bot.http_url}/slack/oauth_redirect",
            params={"code": code, "state": state},
            headers={"Cookie": cookie},
        ) as done:
            assert done.status == 200, await done.text()
    assert team.installed


async def stored(redis_url: str, team: FakeSlack) -> bytes | None:
    """The installation record of the team, as it sits in Redis."""
    client = redis.Redis.from_url(redis_url)
    try:
        raw: bytes | None = await client.get(f"csb:v1:install:{ORG}:{team.ids.team_id}")
        return raw
    finally:
        await client.aclose()


async def keys_naming(redis_url: str, ident: str) -> list[str]:
    client = redis.Redis.from_url(redis_url)
    try:
        found = [k.decode() async for k in client.scan_iter(match=f"csb:v1:*{ident}*")]
        return sorted(found)
    finally:
        await client.aclose()


def calls_of(slack: FakeSlack, team: FakeSlack, method: str) -> list[str]:
    """The tokens `method` was called with for the team."""
    return [c.token for c in slack.calls_to(method) if c.team == team.ids.team_id]


async def test_an_install_stores_a_workspace_that_its_events_then_use(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """Before the install a mention is not answered; the install stores the workspace with its
    token encrypted (BOT_TOKEN_ENCRYPTION_KEY); the next mention is answered with that token."""
    bot = await oauth_bot(bot_factory, slack)
    early = await mention(slack, CHANNEL, USER, "anyone here?")
    assert early.envelope_id is not None
    assert (await slack.wait_ack(early.envelope_id)).status == 200
    await bot.wait_for_log("oauth.not_installed")
    await install(bot, slack)
    raw = await stored(redis_url, slack)
    assert raw is not None
    assert slack.ids.bot_token.encode() not in raw
    record = json.loads(Fernet(KEY.encode()).decrypt(raw))
    assert record["bot_token"] == slack.ids.bot_token
    claude.enqueue(TextReply("Installed and answering."))
    delivery = await mention(slack, CHANNEL, USER, "now?")
    await wait_for_final(slack, CHANNEL, delivery.ts, "Installed and answering.")
    assert slack.bot_replies(CHANNEL, early.ts) == []
    assert set(calls_of(slack, slack, "chat.postMessage")) == {slack.ids.bot_token}
    assert len(claude.message_requests()) == 1


async def test_two_workspaces_with_the_same_ids_never_mix(
    bot_factory: BotFactory, slack: FakeSlack, other: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """Workspaces A and B of one organisation, each with channel C0GENERAL, person U0ANA and a
    thread at the same ts: each answer goes to its own workspace with its own token, each
    thread's history holds only its own turns, and their keys carry organisation and team."""
    bot = await oauth_bot(bot_factory, slack)
    await install(bot, slack)
    await install(bot, other)
    claude.enqueue(TextReply("Answer for A."))
    in_a = await mention(slack, CHANNEL, USER, "question in A")
    await wait_for_final(slack, CHANNEL, in_a.ts, "Answer for A.")
    claude.enqueue(TextReply("Answer for B."))
    in_b = await mention(other, CHANNEL, USER, "question in B")
    await wait_for_final(other, CHANNEL, in_b.ts, "Answer for B.")
    assert in_a.ts == in_b.ts  # the same channel and thread ids in both workspaces
    claude.enqueue(TextReply("Follow-up for A."))
    await mention(slack, CHANNEL, USER, "and then?", thread_ts=in_a.ts)
    final_a = await wait_for_final(slack, CHANNEL, in_a.ts, "Follow-up for A.")
    assert "Answer for B." not in final_a
    assert "Answer for A." not in "\n".join(
        m.visible_text for m in other.bot_replies(CHANNEL, in_b.ts)
    )
    follow_up = json.dumps(claude.message_requests()[-1].body["messages"])
    assert "question in A" in follow_up
    assert "question in B" not in follow_up
    assert "Answer for B." not in follow_up
    assert set(calls_of(slack, slack, "chat.postMessage")) == {slack.ids.bot_token}
    assert set(calls_of(slack, other, "chat.postMessage")) == {other.ids.bot_token}
    for team in (slack, other):
        thread = f"csb:v1:{{{ORG}:{team.ids.team_id}:{CHANNEL}:{in_a.ts}}}:history"
        assert thread in await keys_naming(redis_url, team.ids.team_id)


async def test_an_uninstall_forgets_the_workspace_and_its_data(
    bot_factory: BotFactory, slack: FakeSlack, other: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """B removes the app: its installation and every key naming it are deleted, A's stay; a
    later mention in B is not answered, A is still answered."""
    bot = await oauth_bot(bot_factory, slack)
    await install(bot, slack)
    await install(bot, other)
    claude.enqueue(TextReply("Hello A."), TextReply("Hello B."))
    in_a = await mention(slack, CHANNEL, USER, "hi from A")
    await wait_for_final(slack, CHANNEL, in_a.ts, "Hello A.")
    in_b = await mention(other, CHANNEL, USER, "hi from B")
    await wait_for_final(other, CHANNEL, in_b.ts, "Hello B.")
    assert await keys_naming(redis_url, other.ids.team_id)
    await other.uninstall()
    await bot.wait_for_log("oauth.uninstalled")
    assert await keys_naming(redis_url, other.ids.team_id) == []
    assert await stored(redis_url, other) is None
    assert await stored(redis_url, slack) is not None
    assert await keys_naming(redis_url, slack.ids.team_id)
    late = await mention(other, CHANNEL, USER, "still there?")
    assert late.envelope_id is not None
    await other.wait_ack(late.envelope_id)
    claude.enqueue(TextReply("Still here for A."))
    again = await mention(slack, CHANNEL, USER, "and for A?")
    await wait_for_final(slack, CHANNEL, again.ts, "Still here for A.")
    assert other.bot_replies(CHANNEL, late.ts) == []
    assert len(claude.message_requests()) == 3


@pytest.mark.parametrize("slack", [True], indirect=True)
async def test_a_bot_token_about_to_expire_is_rotated(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """With token rotation on, a stored token that expires within two hours is renewed with its
    refresh token (oauth.v2.access) before use; the answer goes out with the new token, which
    replaces the old one in the store."""
    bot = await oauth_bot(bot_factory, slack)
    await install(bot, slack)
    raw = await stored(redis_url, slack)
    assert raw is not None
    cipher = Fernet(KEY.encode())
    record = json.loads(cipher.decrypt(raw))
    first_token = record["bot_token"]
    record["bot_token_expires_at"] = int(time.time()) + 600  # ten hours later: due
    client = redis.Redis.from_url(redis_url)
    try:
        key = f"csb:v1:install:{ORG}:{slack.ids.team_id}"
        await client.set(key, cipher.encrypt(json.dumps(record).encode()))
    finally:
        await client.aclose()
    claude.enqueue(TextReply("Answered with a fresh token."))
    delivery = await mention(slack, CHANNEL, USER, "rotate?")
    await wait_for_final(slack, CHANNEL, delivery.ts, "Answered with a fresh token.")
    refreshes = [
        c for c in slack.calls_to("oauth.v2.access") if c.args.get("grant_type") == "refresh_token"
    ]
    assert len(refreshes) == 1
    posted_with = set(calls_of(slack, slack, "chat.postMessage"))
    assert first_token not in posted_with
    assert len(posted_with) == 1
    renewed = json.loads(cipher.decrypt(await stored(redis_url, slack) or b""))
    assert renewed["bot_token"] in posted_with
    await bot.wait_for_log("oauth.token_rotated")


async def test_a_shortcut_in_one_workspace_reads_that_workspace_only(
    bot_factory: BotFactory, slack: FakeSlack, other: FakeSlack, claude: FakeClaude
) -> None:
    """The Summarise thread shortcut in workspace B (same channel and thread ids as A) reads B's
    thread with B's token through read_channel and answers in B; A's thread is neither read nor
    answered."""
    bot = await oauth_bot(bot_factory, slack)
    await install(bot, slack)
    await install(bot, other)
    roots: dict[str, str] = {}
    for team, plan in ((slack, "Plan of A: ship Monday"), (other, "Plan of B: ship Friday")):
        roots[team.ids.team_id] = team.post_as(CHANNEL, USER, plan)
    root = roots[other.ids.team_id]
    claude.enqueue(
        ToolTurn([CallTool("read_channel", {"channel": CHANNEL, "thread_ts": root})]),
        TextReply("*Summary* B ships Friday."),
    )
    await message_shortcut(other, "summarise_thread", CHANNEL, root, USER)
    await wait_for_final(other, CHANNEL, root, "*Summary* B ships Friday.")
    sent = json.dumps([r.body for r in claude.message_requests()])
    assert "Plan of B: ship Friday" in sent
    assert "Plan of A: ship Monday" not in sent
    assert slack.bot_replies(CHANNEL, roots[slack.ids.team_id]) == []
    assert set(calls_of(slack, other, "conversations.replies")) == {other.ids.bot_token}
    assert calls_of(slack, slack, "conversations.replies") == []
