"""The main user paths, end to end: the real bot process, fake Slack, fake Claude, real Redis."""

from __future__ import annotations

import re

import pytest

from bot.conversation.mentions import WORD_JOINER
from testing.fakes.claude_server import FakeClaude, HttpError, MidStreamError, TextReply
from testing.fakes.slack_server import FakeSlack, SlackRateLimits
from testing.harness import BotProcess, mention, wait_for_final
from tests.wire.conftest import CHANNEL, DM, OTHER_USER, USER, BotFactory

ANSWER = "**Paris** is the capital of France. It sits on the *Seine*."


def _texts_of(request_body: dict[str, object]) -> str:
    """All text of a request's messages, for asserting what Claude was sent."""
    return repr(request_body["messages"])


async def test_mention_streams_a_threaded_answer(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A channel mention whose answer is slow to start gets a placeholder in its thread (after
    BOT_PLACEHOLDER_DELAY_SECONDS), edited at least once mid-stream, then the whole answer as
    Markdown (markdown_text, so Slack renders it; no raw ** in text)."""
    claude.enqueue(TextReply(ANSWER, tokens_per_second=8, chunk_chars=4, ttft=1.6))
    delivery = await mention(slack, CHANNEL, USER, "What is the capital of France?")
    final = await wait_for_final(slack, CHANNEL, delivery.ts, ANSWER)
    assert final.startswith(ANSWER + "\n\n_Sonnet 5.5 · ")
    replies = slack.bot_replies(CHANNEL, delivery.ts)
    assert len(replies) == 1
    shown = [text for _, text in replies[0].edits]
    assert "Thinking" in shown[0]
    interim = [text for text in shown[1:-1] if text and not text.startswith(ANSWER)]
    assert interim, f"expected an intermediate edit, saw {shown}"
    for call in slack.calls_to("chat.update") + slack.calls_to("chat.postMessage"):
        assert "markdown_text" in call.args
        assert "text" not in call.args
    request = claude.message_requests()[0].body
    assert request["model"] == "claude-sonnet-5-5"
    assert "What is the capital of France?" in _texts_of(request)
    assert f"<@{slack.ids.bot_user_id}>" not in _texts_of(request)


async def test_a_quick_answer_needs_no_placeholder(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """Text that comes within the placeholder delay is the thread's first message: no
    "Thinking…" is posted, and no chat.update is spent turning it into text."""
    claude.enqueue(TextReply(ANSWER, tokens_per_second=40, chunk_chars=8, ttft=0.2))
    delivery = await mention(slack, CHANNEL, USER, "Quick one?")
    await wait_for_final(slack, CHANNEL, delivery.ts, ANSWER)
    reply = slack.bot_replies(CHANNEL, delivery.ts)[0]
    assert not any("Thinking" in text for _, text in reply.edits), reply.edits
    posts = [
        c for c in slack.calls_to("chat.postMessage") if c.args.get("thread_ts") == delivery.ts
    ]
    assert posts[0].args["markdown_text"].startswith("**Paris")


async def test_follow_up_in_the_thread_carries_the_history(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A second mention in the thread sends the first question and answer to Claude again,
    plus what someone else said in between, attributed to them."""
    claude.enqueue(TextReply("First answer."), TextReply("Second answer."))
    root = await mention(slack, CHANNEL, USER, "Remember the number 42.")
    await wait_for_final(slack, CHANNEL, root.ts, "First answer.")
    await slack.user_message(CHANNEL, OTHER_USER, "I think it should be 43", thread_ts=root.ts)
    await mention(slack, CHANNEL, USER, "What do you think of Bob's idea?", thread_ts=root.ts)
    await wait_for_final(slack, CHANNEL, root.ts, "Second answer.")
    second = claude.message_requests()[1].body
    messages = second["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert "Remember the number 42." in repr(messages[0])
    assert "First answer." in repr(messages[1])
    assert "I think it should be 43" in repr(messages[2])
    assert re.search(r"Bob Stone \(<@U0BOB>\)\]: I think it should be 43", repr(messages[2]))


async def test_history_survives_a_restart_on_the_embedded_redis(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """With REDIS_URL unset the bot runs its own Redis under BOT_DATA_DIR; after a restart a
    follow-up still carries the thread's history."""
    claude.enqueue(TextReply("Noted: blue."), TextReply("It was blue."))
    first = bot_factory(embedded=True)
    await first.start()
    root = await mention(slack, CHANNEL, USER, "My favourite colour is blue.")
    await wait_for_final(slack, CHANNEL, root.ts, "Noted: blue.")
    assert await first.stop() == 0
    assert any(e.get("event") == "redis.embedded" for e in first.log_events())
    second = bot_factory(embedded=True)
    await second.start()
    await mention(slack, CHANNEL, USER, "What is my favourite colour?", thread_ts=root.ts)
    await wait_for_final(slack, CHANNEL, root.ts, "It was blue.")
    messages = claude.message_requests()[1].body["messages"]
    assert "My favourite colour is blue." in repr(messages[0])
    assert "Noted: blue." in repr(messages[1])


async def test_direct_message_is_answered_in_the_dm(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A DM needs no mention and is answered at the DM's top level; the bot's own echoed
    messages (message.im events with bot_id) are ignored, so Claude is called once."""
    claude.enqueue(TextReply("Hi Ana!"), TextReply("Still here."))
    await slack.user_message(DM, USER, "hello there")
    await wait_for_final(slack, DM, None, "Hi Ana!")
    await slack.user_message(DM, USER, "and again")
    await wait_for_final(slack, DM, None, "Still here.")
    requests = claude.message_requests()
    assert len(requests) == 2
    assert "hello there" in _texts_of(requests[1].body)


async def test_threaded_dm_is_answered_in_its_thread(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A DM written inside a thread gets its answer in that thread."""
    claude.enqueue(TextReply("Top."), TextReply("In thread."))
    root = await slack.user_message(DM, USER, "start")
    await wait_for_final(slack, DM, None, "Top.")
    await slack.user_message(DM, USER, "reply in thread", thread_ts=root.ts)
    await wait_for_final(slack, DM, root.ts, "In thread.")


async def test_slack_retry_is_answered_once(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A redelivered event (same event_id, retry_attempt 1) is acked but not answered again."""
    claude.enqueue(TextReply("Only once.", ttft=0.5))
    delivery = await mention(slack, CHANNEL, USER, "say it once")
    retry = await slack.redeliver(delivery, retry_attempt=1, retry_reason="timeout")
    await slack.wait_ack(retry)
    await wait_for_final(slack, CHANNEL, delivery.ts, "Only once.")
    await slack.wait_ack(await slack.redeliver(delivery, retry_attempt=2))
    assert len(claude.message_requests()) == 1
    assert len(slack.bot_replies(CHANNEL, delivery.ts)) == 1


async def test_answer_cut_at_max_tokens_says_so(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """BOT_MAX_TOKENS caps the request; an answer stopped there ends with a visible notice."""
    await bot_factory(BOT_MAX_TOKENS="50").start()
    claude.enqueue(TextReply("word " * 400))
    delivery = await mention(slack, CHANNEL, USER, "go on and on")
    final = await wait_for_final(slack, CHANNEL, delivery.ts, "length limit")
    assert final.startswith("word word")
    assert claude.message_requests()[0].body["max_tokens"] == 50


async def test_every_envelope_is_acked(bot: BotProcess, slack: FakeSlack) -> None:
    """Socket Mode envelopes are acked even while the answer is still streaming."""
    delivery = await mention(slack, CHANNEL, USER, "ack me")
    ack = await slack.wait_ack(delivery.envelope_id)
    assert ack.envelope_id == delivery.envelope_id


async def test_claude_overloaded_gives_a_clear_message(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """529 from Claude on every tier of the fallback chain (Sonnet, then Haiku), after the SDK's
    retry, turns the placeholder into a clear message."""
    overloaded = HttpError(529, "overloaded_error", "Overloaded", retry_after=0.05)
    claude.enqueue(overloaded, overloaded, overloaded, overloaded)
    delivery = await mention(slack, CHANNEL, USER, "are you there?")
    final = await wait_for_final(slack, CHANNEL, delivery.ts, "overloaded")
    assert "Try again in a minute" in final
    assert "Thinking" not in final


async def test_claude_bad_request_gives_a_clear_message(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A 400 is not retried; the user is told, and the log has the request id, not the text."""
    claude.enqueue(HttpError(400, "invalid_request_error", "messages: something is off"))
    delivery = await mention(slack, CHANNEL, USER, "secret question text")
    final = await wait_for_final(slack, CHANNEL, delivery.ts, "rejected")
    assert "request id" in final
    assert len(claude.message_requests()) == 1
    failed = [e for e in bot.log_events() if e.get("event") == "turn.failed"]
    assert failed
    assert failed[0]["request_id"]


async def test_mid_stream_error_keeps_the_partial_text(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """An `error` event mid-stream keeps what was shown and says the answer was interrupted;
    the half turn is not stored, so the next turn's history has no dangling answer."""
    claude.enqueue(MidStreamError("The first half", "overloaded_error"), TextReply("Recovered."))
    delivery = await mention(slack, CHANNEL, USER, "long question")
    final = await wait_for_final(slack, CHANNEL, delivery.ts, "interrupted")
    assert final.startswith("The first half")
    await mention(slack, CHANNEL, USER, "try again", thread_ts=delivery.ts)
    await wait_for_final(slack, CHANNEL, delivery.ts, "Recovered.")
    retry_messages = claude.message_requests()[1].body["messages"]
    assert [m["role"] for m in retry_messages] == ["user"]
    assert "long question" in repr(retry_messages)


@pytest.mark.parametrize(
    "slack", [SlackRateLimits(update_per_minute=20, update_burst=1)], indirect=True
)
async def test_rate_limited_edits_still_deliver_the_final_text(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """With chat.update answering 429 most of the time, the final text still lands whole."""
    process = bot_factory(BOT_EDIT_INTERVAL_SECONDS="0.05")
    await process.start()
    answer = " ".join(f"word{i}" for i in range(120))
    claude.enqueue(TextReply(answer, tokens_per_second=100))
    delivery = await mention(slack, CHANNEL, USER, "many words please")
    final = await wait_for_final(slack, CHANNEL, delivery.ts, "word119", timeout=30)
    assert final.startswith(answer + "\n\n_Sonnet")
    assert slack.rate_limited, "the test should have provoked 429s"


async def test_long_answer_continues_in_more_messages(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A 30,000-character answer arrives whole, split over several messages of the thread."""
    await bot_factory(BOT_MAX_TOKENS="16000").start()
    paragraphs = [f"Paragraph {i}. " + "lorem ipsum dolor sit amet " * 10 for i in range(110)]
    answer = "\n\n".join(paragraphs)
    assert len(answer) > 30_000
    claude.enqueue(TextReply(answer, chunk_chars=400))
    delivery = await mention(slack, CHANNEL, USER, "write a lot")
    await wait_for_final(slack, CHANNEL, delivery.ts, "Paragraph 109.", timeout=30)
    replies = slack.bot_replies(CHANNEL, delivery.ts)
    assert len(replies) >= 8
    assert all(len(m.visible_text) <= 3500 for m in replies)
    words = " ".join(m.visible_text for m in replies).split()
    assert words[: len(answer.split())] == answer.split()
    assert words[len(answer.split())].startswith("_Sonnet")


# Broadcast syntax that injected content (a file, a thread message, a web page) could make
# Claude write; its 3-character deltas split every token across two edits.
INJECTED = (
    "<!channel> and @here: read this now. <!subteam^S0ENG|@eng>, <!everyone>, <!here|here>. "
    "Ask <@U0BOB> about it."
)


async def test_model_output_never_broadcasts_to_the_channel(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """An answer full of `<!channel>`, `@here`, `<!subteam^…>` — streamed in deltas that split
    each token, edited after every delta — is posted, edited and finished with none of them
    able to notify anyone (every version of every bot message is checked by the fake), reads
    the same, keeps the one-person mention, and Slack's name linking is off."""
    await bot_factory(BOT_EDIT_POLICY="every_delta").start()
    claude.enqueue(TextReply(INJECTED, tokens_per_second=20, chunk_chars=3))
    delivery = await mention(slack, CHANNEL, USER, "Summarise the pasted page")
    final = await wait_for_final(slack, CHANNEL, delivery.ts, "about it.")
    assert slack.broadcasts == []
    assert final.replace(WORD_JOINER, "").startswith(INJECTED)
    assert "<@U0BOB>" in final
    writes = slack.calls_to("chat.postMessage") + slack.calls_to("chat.update")
    assert len(slack.calls_to("chat.update")) >= 2
    for call in writes:
        assert call.args["parse"] == "none"
        assert call.args["link_names"] in (False, "0", "false")


async def test_a_first_message_carries_the_first_words_when_edits_are_scarce(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """With the workspace's chat.update budget drained (by an earlier answer's edits), a new
    answer's first message waits, within the placeholder delay, for its first ten words rather
    than going out with one word and leaving the rest to an edit that may be a minute away."""
    process = bot_factory(BOT_SLACK_UPDATES_PER_MINUTE="1", BOT_SLACK_UPDATE_BURST="1")
    await process.start()
    words = " ".join(f"word{i}" for i in range(40))
    answers = []
    for question in ("first", "second"):
        claude.enqueue(TextReply(words, tokens_per_second=80))
        delivery = await mention(slack, CHANNEL, USER, question)
        final = await wait_for_final(slack, CHANNEL, delivery.ts, "word39", timeout=30)
        assert final.startswith(words + "\n\n_")
        answers.append(delivery.ts)
    posts = [
        call
        for call in slack.calls_to("chat.postMessage")
        if call.args.get("thread_ts") == answers[1]
    ]
    first = str(posts[0].args.get("markdown_text") or posts[0].args.get("text"))
    assert len(first.split()) >= 10, first
    assert not slack.rate_limited
