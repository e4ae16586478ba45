"""HTTP mode (BOT_MODE=http): the real bot behind Slack's signed Events API requests — answered
when signed, refused when not, a retry answered once across two replicas behind a load
balancer, health and metrics on the same port."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest

from testing.fakes.claude_server import FakeClaude, TextReply
from testing.fakes.slack_server import FakeSlack
from testing.fakes.slack_specs import HTTP_MANIFEST_PATH
from testing.harness import BotProcess, free_port, mention, wait_for_final
from testing.round_robin import RoundRobin
from tests.wire.conftest import CHANNEL, DM, OTHER_USER, USER, BotFactory


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """A workspace whose app is set up from manifest.http.yml (events over HTTP)."""
    fake = FakeSlack(team_id=f"T{uuid.uuid4().hex[:8].upper()}", manifest=HTTP_MANIFEST_PATH)
    fake.add_user(USER, "ana", "Ana Lima")
    fake.add_user(OTHER_USER, "bob", "Bob Stone")
    fake.add_channel(CHANNEL, "general", members={USER, OTHER_USER, fake.ids.bot_user_id})
    fake.add_im(DM, USER)
    await fake.start()
    yield fake
    await fake.stop()
    assert fake.violations == [], "the bot answered Slack in a way the real Slack would not accept"


def http_bot(bot_factory: BotFactory, **env: str) -> BotProcess:
    """A bot in HTTP mode on a port of its own (no app-level token needed)."""
    return bot_factory(BOT_MODE="http", PORT=str(free_port()), SLACK_APP_TOKEN="", **env)


async def logged(first: BotProcess, second: BotProcess, event: str) -> BotProcess:
    """The one of the two bots whose log has the event (waiting a while for it)."""
    for _ in range(500):
        for bot in (first, second):
            if any(line.get("event") == event for line in bot.log_events()):
                return bot
        await asyncio.sleep(0.02)
    raise TimeoutError(f"neither bot logged {event}")


async def started(bot: BotProcess, slack: FakeSlack) -> BotProcess:
    await bot.start()
    slack.deliver_over_http(f"{bot.http_url}/slack/events")
    return bot


def signed_body(slack: FakeSlack, text: str) -> bytes:
    """An Events API app_mention body (as Slack would post it) in the general channel."""
    event = {
        "type": "app_mention",
        "user": USER,
        "text": f"<@{slack.ids.bot_user_id}> {text}",
        "ts": f"{time.time():.6f}",
        "channel": CHANNEL,
        "event_ts": f"{time.time():.6f}",
    }
    payload = {
        "token": slack.verification_token,
        "team_id": slack.ids.team_id,
        "api_app_id": slack.ids.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": slack.ids.team_id, "user_id": slack.ids.bot_user_id}],
    }
    return json.dumps(payload).encode()


async def test_a_signed_mention_is_acked_and_answered(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """Slack's signed app_mention gets 200 within Slack's 3 s, then the answer streams into the
    thread; url_verification is answered; /healthz and /metrics share the port."""
    bot = await started(http_bot(bot_factory), slack)
    assert await slack.http.verify_url()
    claude.enqueue(TextReply("Answered over HTTP.", ttft=0.3))
    delivery = await mention(slack, CHANNEL, USER, "are you there?")
    assert delivery.envelope_id is not None
    ack = await slack.wait_ack(delivery.envelope_id)
    assert ack.status == 200
    await wait_for_final(slack, CHANNEL, delivery.ts, "Answered over HTTP.")
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{bot.http_url}/healthz") as health:
            assert health.status == 200
            assert (await health.json())["checks"]["slack"] is True
        async with session.get(f"{bot.http_url}/metrics") as metrics:
            assert "csb_" in await metrics.text()


async def test_unsigned_stale_or_forged_requests_are_refused(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A mention without a signature, with a wrong one, or signed six minutes ago gets 401 and
    is never answered; the next properly signed one is."""
    await started(http_bot(bot_factory), slack)
    http = slack.http
    unsigned = signed_body(slack, "unsigned")
    assert (await http.raw(unsigned, {"Content-Type": "application/json"}))[0] == 401
    forged = http.headers(signed_body(slack, "forged"), "events_api")
    assert (await http.raw(signed_body(slack, "forged, other body"), forged))[0] == 401
    stale = signed_body(slack, "stale")
    old = http.headers(stale, "events_api", timestamp=int(time.time()) - 6 * 60)
    assert (await http.raw(stale, old))[0] == 401
    claude.enqueue(TextReply("Only the signed one."))
    delivery = await mention(slack, CHANNEL, USER, "signed")
    final = await wait_for_final(slack, CHANNEL, delivery.ts, "Only the signed one.")
    assert "Only the signed one." in final
    assert len(claude.message_requests()) == 1
    answered = {call.args.get("thread_ts") for call in slack.calls_to("chat.postMessage")}
    assert answered == {delivery.ts}


async def test_a_retried_event_is_answered_once_across_two_replicas(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """Two HTTP replicas on one Redis behind a round-robin balancer: the event reaches one, its
    retry (X-Slack-Retry-Num: 1) the other; both ack 200, exactly one answer is written."""
    first, second = http_bot(bot_factory), http_bot(bot_factory)
    await first.start()
    await second.start()
    assert first.http_url is not None
    assert second.http_url is not None
    async with RoundRobin([first.http_url, second.http_url]) as balancer:
        slack.deliver_over_http(f"{balancer.url}/slack/events")
        claude.enqueue(TextReply("Once, from either replica.", ttft=0.5))
        delivery = await mention(slack, CHANNEL, USER, "how many of you?")
        assert delivery.envelope_id is not None
        retry = await slack.redeliver(delivery, retry_attempt=1, retry_reason="http_timeout")
        acks = [await slack.wait_ack(delivery.envelope_id), await slack.wait_ack(retry)]
        await wait_for_final(slack, CHANNEL, delivery.ts, "Once, from either replica.")
        assert balancer.sent_to == [first.http_url, second.http_url]
    assert [ack.status for ack in acks] == [200, 200]
    assert len(claude.message_requests()) == 1
    assert len(slack.bot_replies(CHANNEL, delivery.ts)) == 1
    seen = [await logged(first, second, name) for name in ("turn.done", "event.duplicate")]
    assert seen[0] is not seen[1]  # one replica answered, the other saw a duplicate


async def test_slash_commands_and_their_acks_work_over_http(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A signed /ask-haiku form post is acked (an empty one with its ephemeral usage hint, in the
    HTTP response) and the question is answered in its new thread."""
    await started(http_bot(bot_factory), slack)
    hint = await slack.wait_ack(
        await slack.slash_command("/ask-haiku", " ", user=USER, channel=CHANNEL)
    )
    assert hint.status == 200
    assert hint.payload is not None
    assert "/ask-haiku How do I" in hint.payload["text"]
    claude.enqueue(TextReply("Haiku, over HTTP."))
    ack = await slack.wait_ack(
        await slack.slash_command("/ask-haiku", "hi?", user=USER, channel=CHANNEL)
    )
    assert ack.status == 200
    await slack.wait_for(lambda: bool(slack.messages(CHANNEL)))
    root = slack.messages(CHANNEL)[0]
    await wait_for_final(slack, CHANNEL, root.ts, "Haiku, over HTTP.")


async def test_with_a_metrics_port_monitoring_stays_off_the_public_port(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """With BOT_METRICS_PORT set (as the Helm chart does, its probes on that port), /healthz and
    /metrics are served there and not on PORT, which the ingress exposes to the internet."""
    monitor = free_port()
    bot = await started(http_bot(bot_factory, BOT_METRICS_PORT=str(monitor)), slack)
    claude.enqueue(TextReply("Still answering."))
    delivery = await mention(slack, CHANNEL, USER, "and now?")
    await wait_for_final(slack, CHANNEL, delivery.ts, "Still answering.")
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{monitor}/healthz") as health:
            assert health.status == 200
            assert (await health.json())["checks"]["slack"] is True
        async with session.get(f"http://127.0.0.1:{monitor}/metrics") as metrics:
            assert "csb_" in await metrics.text()
        for path in ("/healthz", "/metrics"):
            async with session.get(f"{bot.http_url}{path}") as public:
                assert public.status == 404
