"""Slack's AI surfaces end to end: the agent's Messages tab and the assistant pane (suggested
prompts, titles, the viewed channel), the thread status, native streaming with its fallback,
feedback buttons and the Home tab — the real bot process against the fake Slack."""

from __future__ import annotations

import socket

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.config import DEFAULT_PROMPTS, parse_prompts
from bot.conversation.mentions import WORD_JOINER
from bot.storage.connect import close_redis, connect_url
from testing.fakes.claude_server import FakeClaude, TextReply
from testing.fakes.slack_chunks import stream_text
from testing.fakes.slack_server import FakeSlack
from testing.fakes.slack_surfaces import (
    click_feedback,
    open_home_tab,
    open_messages_tab,
    start_assistant_thread,
)
from testing.harness import BotProcess, mention, wait_for_final
from tests.wire.conftest import CHANNEL, DM, OTHER_USER, USER, BotFactory

PROMPTS = [{"title": t, "message": m} for t, m in parse_prompts(DEFAULT_PROMPTS)]
SLOW = {"tokens_per_second": 12, "chunk_chars": 4}


async def _dm_thread(slack: FakeSlack, text: str) -> str:
    """A question in a DM thread (how the agent's and the assistant pane's chats arrive)."""
    root = await start_assistant_thread(slack, USER, DM)
    await slack.user_message(DM, USER, text, thread_ts=root)
    return root


async def test_messages_tab_open_sets_the_suggested_prompts(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """Opening the agent's Messages tab (app_home_opened, tab "messages") pins the configured
    prompts (at most four) to the DM, with no thread; the channel in view that the event names
    reaches Claude with the next DM question."""
    await slack.user_message(CHANNEL, OTHER_USER, "Lunch is at noon today.")
    envelope = await open_messages_tab(slack, USER, DM, viewing=CHANNEL)
    await slack.wait_ack(envelope)
    await slack.wait_for(lambda: bool(slack.calls_to("assistant.threads.setSuggestedPrompts")))
    args = slack.calls_to("assistant.threads.setSuggestedPrompts")[0].args
    assert args["channel_id"] == DM
    assert "thread_ts" not in args
    assert args["prompts"] == PROMPTS
    assert len(args["prompts"]) <= 4
    claude.enqueue(TextReply("At noon."))
    await slack.user_message(DM, USER, "When is lunch?")
    await wait_for_final(slack, DM, None, "At noon.")
    sent = repr(claude.message_requests()[0].body["messages"])
    assert "Bob Stone (<@U0BOB>)]: Lunch is at noon today." in sent


async def test_assistant_thread_started_sets_its_prompts(
    bot_factory: BotFactory, slack: FakeSlack
) -> None:
    """assistant_thread_started: that thread gets the prompts of BOT_SUGGESTED_PROMPTS."""
    await bot_factory(BOT_SUGGESTED_PROMPTS="Plan: Plan my week | Fix this SQL").start()
    root = await start_assistant_thread(slack, USER, DM)
    await slack.wait_for(lambda: bool(slack.calls_to("assistant.threads.setSuggestedPrompts")))
    args = slack.calls_to("assistant.threads.setSuggestedPrompts")[0].args
    assert (args["channel_id"], args["thread_ts"]) == (DM, root)
    assert args["prompts"] == [
        {"title": "Plan", "message": "Plan my week"},
        {"title": "Fix this SQL", "message": "Fix this SQL"},
    ]


async def test_dm_thread_streams_natively_with_status_and_title(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """In a DM thread: "Thinking…" is the thread status (cleared once text shows), the thread is
    titled after its first question, and the answer streams with start/append/stop: what was
    appended, in order, is exactly the final message (answer and footer); nothing is edited."""
    answer = "Native streaming sends only what is new, about once a second. " * 3
    claude.enqueue(TextReply(answer, ttft=0.4, **SLOW))
    root = await _dm_thread(slack, "How does native streaming work?")
    final = await wait_for_final(slack, DM, root, "about once a second", timeout=30)
    assert final.startswith(answer + "\n\n_Sonnet 5.5 · ")
    assert [s[3] for s in slack.statuses if s[2] == root][:1] == ["Thinking…"]
    assert slack.thread_status(DM, root) == ""
    starts = slack.calls_to("chat.startStream")
    appends = slack.calls_to("chat.appendStream")
    stops = slack.calls_to("chat.stopStream")
    assert len(starts) == 1
    assert len(stops) == 1
    assert appends
    pieces = [stream_text(c.args) for c in [*starts, *appends, *stops]]
    assert "".join(pieces) == final
    assert stops[0].args["blocks"][0]["type"] == "context_actions"
    assert not slack.calls_to("chat.update")
    assert not slack.calls_to("chat.postMessage")
    title = slack.calls_to("assistant.threads.setTitle")[0].args
    assert (title["thread_ts"], title["title"]) == (root, "How does native streaming work?")


async def test_stream_expiry_mid_answer_falls_back_to_chat_update(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """The stream expires mid-answer (message_not_in_streaming_state): the bot carries on with
    chat.update on the same message, and the final text is complete."""
    answer = " ".join(f"word{i}" for i in range(60))
    claude.enqueue(TextReply(answer, **SLOW))
    root = await _dm_thread(slack, "Count slowly")
    await slack.wait_for(lambda: bool(slack.calls_to("chat.appendStream")), timeout=20)
    (message,) = slack.bot_replies(DM, root)
    slack.expire_stream(message.ts)
    final = await wait_for_final(slack, DM, root, "word59", timeout=30)
    assert final.startswith(answer + "\n\n_Sonnet")
    assert [m.ts for m in slack.bot_replies(DM, root)] == [message.ts]
    refused = [c for c in slack.calls_to("chat.appendStream") if not c.response.get("ok")]
    assert refused[0].response["error"] == "message_not_in_streaming_state"
    assert {c.args["ts"] for c in slack.calls_to("chat.update")} == {message.ts}


async def test_channel_threads_never_stream_without_recipient_ids(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """By default a channel mention is edited in place (no stream at all); with
    BOT_NATIVE_STREAMING=all it streams, and every stream names its recipient user and team."""
    claude.enqueue(TextReply("Edited in place."), TextReply("Streamed to Ana."))
    first = bot_factory()
    await first.start()
    root = await mention(slack, CHANNEL, USER, "first")
    await wait_for_final(slack, CHANNEL, root.ts, "Edited in place.")
    assert not slack.calls_to("chat.startStream")
    await first.stop()
    await bot_factory(BOT_NATIVE_STREAMING="all").start()
    await mention(slack, CHANNEL, USER, "second", thread_ts=root.ts)
    await wait_for_final(slack, CHANNEL, root.ts, "Streamed to Ana.")
    starts = slack.calls_to("chat.startStream")
    assert starts
    for call in starts:
        assert call.args["recipient_user_id"] == USER
        assert call.args["recipient_team_id"] == slack.ids.team_id
        assert call.response["ok"]


async def test_viewed_channel_is_passed_to_claude(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """The assistant thread started while Ana looked at #general: her question reaches Claude
    with that channel and its latest messages, attributed."""
    await slack.user_message(CHANNEL, OTHER_USER, "The deploy is moved to Friday.")
    root = await start_assistant_thread(slack, USER, DM, viewing=CHANNEL)
    claude.enqueue(TextReply("It moved to Friday."))
    await slack.user_message(DM, USER, "What changed here?", thread_ts=root)
    await wait_for_final(slack, DM, root, "Friday.")
    sent = repr(claude.message_requests()[0].body["messages"])
    assert f"<#{CHANNEL}>" in sent
    assert "Bob Stone (<@U0BOB>)]: The deploy is moved to Friday." in sent
    assert "What changed here?" in sent


async def test_a_viewed_channel_outside_the_allowlist_is_never_read(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """With BOT_ALLOWED_CHANNELS naming only #general, asking in the assistant pane while
    looking at another channel (one the bot is in) reads none of its messages: no
    conversations.history there, nothing of it in the request, Claude told they are not
    shared; a thread opened while looking at #general gets that channel's messages as before."""
    await bot_factory(BOT_ALLOWED_CHANNELS=CHANNEL).start()
    secret = "C0SECRET"
    slack.add_channel(secret, "acquisition", members={USER, OTHER_USER, slack.ids.bot_user_id})
    await slack.user_message(secret, OTHER_USER, "We are buying Initech for $40M.")
    await slack.user_message(CHANNEL, OTHER_USER, "The deploy is moved to Friday.")
    claude.enqueue(TextReply("I can't see that channel."), TextReply("It moved to Friday."))

    def prompts_set() -> int:  # a thread's prompts are set once its channel in view is saved
        return len(slack.calls_to("assistant.threads.setSuggestedPrompts"))

    root = await start_assistant_thread(slack, USER, DM, viewing=secret)
    await slack.wait_for(lambda: prompts_set() == 1)
    await slack.user_message(DM, USER, "Summarise this channel", thread_ts=root)
    await wait_for_final(slack, DM, root, "see that channel.")
    sent = repr(claude.message_requests()[0].body["messages"])
    assert "Initech" not in sent
    assert f"<#{secret}>" in sent
    assert "not shared with you" in sent
    assert all(c.args["channel"] != secret for c in slack.calls_to("conversations.history"))
    allowed = await start_assistant_thread(slack, USER, DM, viewing=CHANNEL)
    await slack.wait_for(lambda: prompts_set() == 2)
    await slack.user_message(DM, USER, "And here?", thread_ts=allowed)
    await wait_for_final(slack, DM, allowed, "Friday.")
    assert "The deploy is moved to Friday." in repr(claude.message_requests()[1].body["messages"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _feedback_count(port: int) -> float:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        text = await response.text()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "csb_answer_feedback_total" and sample.labels == {"value": "positive"}
    )


async def test_feedback_click_is_acked_stored_counted_and_thanked(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """👍 under an answer: the interaction is acked, stored against the answer's message in
    Redis, counted once in /metrics (a second identical click is not), and thanked with an
    ephemeral line only the clicker sees."""
    port = _free_port()
    await bot_factory(BOT_METRICS_PORT=str(port)).start()
    claude.enqueue(TextReply("Rate me."))
    root = await _dm_thread(slack, "An answer to rate, please")
    await wait_for_final(slack, DM, root, "Rate me.")
    (answer,) = slack.bot_replies(DM, root)
    # the buttons come with chat.stopStream, which may follow a startStream that already carried
    # the whole text (a quick answer): wait for the stream to be stopped
    await slack.wait_for(lambda: not answer.streaming and bool(answer.blocks))
    for _ in range(2):
        envelope = await click_feedback(slack, DM, answer.ts, USER, positive=True)
        await slack.wait_ack(envelope)
        await slack.wait_for(lambda: len(slack.ephemerals) >= 1)
    await slack.wait_for(lambda: len(slack.ephemerals) == 2)
    thanks = slack.ephemerals[0]
    assert (thanks.user, thanks.channel, thanks.thread_ts) == (USER, DM, root)
    client = connect_url(redis_url)
    key = f"csb:v1:feedback:{{{slack.ids.team_id}}}:{DM}:{answer.ts}"
    assert await client.hgetall(key) == {USER.encode(): b"positive"}
    await close_redis(client)
    assert await _feedback_count(port) == 1


async def test_home_tab_is_published_with_commands_models_and_usage(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """Opening the Home tab publishes a home view: how to ask, the commands, the models and
    the viewer's usage this month (after one answer: one call)."""
    claude.enqueue(TextReply("Counted."))
    delivery = await mention(slack, CHANNEL, USER, "count me")
    await wait_for_final(slack, CHANNEL, delivery.ts, "Counted.")
    await slack.wait_ack(await open_home_tab(slack, USER, DM))
    await slack.wait_for(lambda: bool(slack.views))
    published = slack.views[0]
    assert published["method"] == "views.publish"
    assert published["args"]["user_id"] == USER
    view = published["view"]
    assert view["type"] == "home"
    text = repr(view["blocks"])
    for expected in ("/ask-opus", "/claude-usage", "Sonnet 5.5", "claude-haiku-5-5"):
        assert expected in text
    assert "*This month*\\n$" in text
    assert "1 call" in text


async def test_native_stream_never_carries_a_broadcast(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A streamed answer whose `<!here>` / `@channel` tokens are split across appends (one
    append per 3-character delta) streams defused: the appended pieces are exactly the final
    message (no fallback to edits: defusing only ever appends), no version of it broadcasts,
    and the thread title made from the question is defused too."""
    await bot_factory(BOT_EDIT_POLICY="every_delta").start()
    answer = "<!here> and @channel, <!everyone>: <!subteam^S0ENG> should read this."
    claude.enqueue(TextReply(answer, tokens_per_second=20, chunk_chars=3))
    root = await _dm_thread(slack, "<!channel> summarise this")
    final = await wait_for_final(slack, DM, root, "read this.", timeout=30)
    assert slack.broadcasts == []
    assert final.replace(WORD_JOINER, "").startswith(answer)
    starts = slack.calls_to("chat.startStream")
    appends = slack.calls_to("chat.appendStream")
    stops = slack.calls_to("chat.stopStream")
    assert len(appends) >= 5
    pieces = [stream_text(c.args) for c in [*starts, *appends, *stops]]
    assert "".join(pieces) == final
    assert not slack.calls_to("chat.update")
    title = slack.calls_to("assistant.threads.setTitle")[0].args["title"]
    assert title == f"<!channe{WORD_JOINER}l> summarise this"
