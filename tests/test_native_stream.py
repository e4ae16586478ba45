"""The native streaming sink (bot/slack/native_stream.py) against the fake Slack, which
implements chat.startStream / appendStream / stopStream with Slack's real errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.errors import ReplyUnavailable
from bot.conversation.messages import ToolActivity, ToolState
from bot.conversation.throttle import MonotonicClock
from bot.slack.blocks.feedback import feedback_block
from bot.slack.sinks.edit_in_place import Destination, SlackReplySink
from bot.slack.sinks.native_stream import NativeStreamSink, StreamTarget, update_finished
from testing.fakes.slack_chunks import MAX_TASK_CHUNK, stream_text, task_updates
from testing.fakes.slack_server import FakeSlack

USER, DM, CHANNEL = "U0ANA", "D0ANA", "C0GENERAL"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    fake.add_user(USER, "ana", "Ana Lima")
    fake.add_im(DM, USER)
    fake.add_channel(CHANNEL, "general", members={USER, fake.ids.bot_user_id})
    await fake.start()
    yield fake
    await fake.stop()
    assert fake.violations == []


async def _root(slack: FakeSlack, channel: str = DM) -> str:
    delivery = await slack.user_message(channel, USER, "a question")
    return delivery.ts


def _sink(
    slack: FakeSlack, target: StreamTarget, limit: int = 3500
) -> tuple[NativeStreamSink, AsyncWebClient]:
    client = AsyncWebClient(token=slack.ids.bot_token, base_url=slack.api_url)
    clock = MonotonicClock()
    edit = SlackReplySink(
        client,
        Destination("T", target.channel, target.thread_ts, "a1"),
        message_chars=limit,
        clock=clock,
    )
    sink = NativeStreamSink(
        client,
        target,
        edit,
        clock=clock,
        message_chars=limit,
        answer_id="a1",
        final_blocks=[feedback_block("a1")],
    )
    return sink, client


async def test_status_then_appends_then_stop_with_feedback(slack: FakeSlack) -> None:
    """The status goes to setStatus (not into the message); only new text is appended; stop
    carries only the rest, with the feedback buttons; the message ends with the whole text."""
    root = await _root(slack)
    sink, _ = _sink(slack, StreamTarget(DM, root))
    await sink.start("_Thinking…_")
    await sink.show("_Thinking… 2 s_")
    assert slack.thread_status(DM, root) == "Thinking…"
    assert len(slack.calls_to("assistant.threads.setStatus")) == 1
    await sink.show("Hello")
    await sink.show("Hello, world")
    await sink.finish("Hello, world.\n\n_Sonnet 5.5 · 1.0 s_")
    starts, appends = slack.calls_to("chat.startStream"), slack.calls_to("chat.appendStream")
    assert [stream_text(c.args) for c in starts] == ["Hello"]
    assert [stream_text(c.args) for c in appends] == [", world"]
    stop = slack.calls_to("chat.stopStream")[0].args
    assert stream_text(stop) == ".\n\n_Sonnet 5.5 · 1.0 s_"
    assert stop["blocks"][0]["type"] == "context_actions"
    (message,) = slack.bot_replies(DM, root)
    assert message.visible_text == "Hello, world.\n\n_Sonnet 5.5 · 1.0 s_"
    assert not message.streaming
    assert slack.thread_status(DM, root) == ""
    assert not slack.calls_to("chat.update")


async def test_long_answers_continue_in_new_streams_with_fences_balanced(slack: FakeSlack) -> None:
    """Past the message size the stream stops and another starts in the thread; an open code
    fence is closed in one message and reopened in the next; no text is lost or repeated."""
    root = await _root(slack)
    sink, _ = _sink(slack, StreamTarget(DM, root), limit=500)
    code = "\n".join(f"line_{i} = {i}" for i in range(80))
    text = "Intro paragraph.\n\n```python\n" + code + "\n```\n\nDone."
    await sink.start("_Thinking…_")
    for end in range(50, len(text), 170):
        await sink.show(text[:end])
    await sink.finish(text)
    messages = slack.bot_replies(DM, root)
    assert len(messages) >= 3
    assert all(len(m.visible_text) <= 500 for m in messages)
    assert all(m.visible_text.count("```") % 2 == 0 for m in messages)
    joined = "".join(m.visible_text for m in messages).replace("\n``````python\n", "")
    assert joined == text
    assert not any(m.streaming for m in messages)


async def test_an_expired_stream_falls_back_to_chat_update_on_the_same_ts(
    slack: FakeSlack,
) -> None:
    """message_not_in_streaming_state mid-answer: the same message is edited in place from then
    on, and the final text is complete."""
    root = await _root(slack)
    sink, _ = _sink(slack, StreamTarget(DM, root))
    await sink.start("_Thinking…_")
    await sink.show("The first half")
    (message,) = slack.bot_replies(DM, root)
    slack.expire_stream(message.ts)
    await sink.show("The first half and the second")
    await sink.finish("The first half and the second half.\n\n_footer_")
    assert slack.calls_to("chat.appendStream")[0].response["error"] == (
        "message_not_in_streaming_state"
    )
    assert [m.ts for m in slack.bot_replies(DM, root)] == [message.ts]
    assert message.visible_text == "The first half and the second half.\n\n_footer_"
    assert {c.args["ts"] for c in slack.calls_to("chat.update")} == {message.ts}
    assert not slack.calls_to("chat.postMessage")


async def test_a_final_text_that_is_not_an_append_replaces_the_message(slack: FakeSlack) -> None:
    """Notices put in front of the final text: the stream is stopped (nothing appended) and the
    message is replaced by the final text."""
    root = await _root(slack)
    sink, _ = _sink(slack, StreamTarget(DM, root))
    await sink.start("_Reading a file…_")
    await sink.show("The answer")
    await sink.finish(":paperclip: notes.bin can't be read.\n\nThe answer.")
    (message,) = slack.bot_replies(DM, root)
    assert message.visible_text == ":paperclip: notes.bin can't be read.\n\nThe answer."
    assert stream_text(slack.calls_to("chat.stopStream")[0].args) == ""


async def test_a_refused_stream_falls_back_to_posting(slack: FakeSlack) -> None:
    """Slack refuses to start a stream (here: a channel without recipient ids): the answer is
    posted and edited in place instead."""
    root = await _root(slack, CHANNEL)
    sink, _ = _sink(slack, StreamTarget(CHANNEL, root))
    await sink.start("_Thinking…_")
    await sink.show("Partial")
    await sink.finish("Partial answer.")
    assert slack.calls_to("chat.startStream")[0].response["error"] == "missing_recipient_user_id"
    (message,) = slack.bot_replies(CHANNEL, root)
    assert message.visible_text == "Partial answer."


async def test_channel_streams_carry_the_recipient(slack: FakeSlack) -> None:
    """Outside a DM the stream names its reader's user and team."""
    root = await _root(slack, CHANNEL)
    sink, _ = _sink(slack, StreamTarget(CHANNEL, root, USER, slack.ids.team_id))
    await sink.start("_Thinking…_")
    await sink.finish("Hi.")
    args = slack.calls_to("chat.startStream")[0].args
    assert (args["recipient_user_id"], args["recipient_team_id"]) == (USER, slack.ids.team_id)
    assert slack.bot_replies(CHANNEL, root)[0].visible_text == "Hi."


async def test_a_status_in_an_unknown_channel_means_no_reply(slack: FakeSlack) -> None:
    """setStatus answering channel_not_found: the answer can't be shown (ReplyUnavailable)."""
    sink, _ = _sink(slack, StreamTarget("C0GONE", "1700000000.000100"))
    with pytest.raises(ReplyUnavailable):
        await sink.start("_Thinking…_")


async def test_an_orphaned_stream_is_stopped_before_it_is_marked(slack: FakeSlack) -> None:
    """A crashed replica's message still streaming: chat.update alone is refused
    (streaming_state_conflict), so the stream is stopped first, then the text replaced."""
    root = await _root(slack)
    sink, client = _sink(slack, StreamTarget(DM, root))
    await sink.show("Halfway")
    (message,) = slack.bot_replies(DM, root)
    await update_finished(MonotonicClock(), client, DM, message.ts, "Halfway\n\n:warning: x")
    assert slack.calls_to("chat.update")[0].response["error"] == "streaming_state_conflict"
    assert message.visible_text == "Halfway\n\n:warning: x"


SEARCH = "Searching the web for “slack bolt python”…"


async def test_tool_calls_are_tasks_of_the_stream_after_the_text_so_far(
    slack: FakeSlack,
) -> None:
    """A tool call before any text starts the stream with an in-progress task; text pending
    when the next call starts is appended before its task; each task ends complete (with the
    pages it read) or error; the message text is only the answer."""
    root = await _root(slack)
    sink, _ = _sink(slack, StreamTarget(DM, root))
    await sink.start("_Thinking…_")
    hit = (("Bolt for Python", "https://slack.dev/bolt-python/"),)
    assert await sink.activity(ToolActivity("s1", "web_search", ToolState.STARTED, SEARCH), "")
    done = ToolActivity("s1", "web_search", ToolState.DONE, SEARCH, hit)
    assert await sink.activity(done, "_Thinking… 2 s_")
    await sink.show("Bolt is Slack's framework.")
    fetch = ToolActivity("s2", "web_fetch", ToolState.STARTED, "Reading slack.dev…")
    assert await sink.activity(fetch, "Bolt is Slack's framework. It")
    failed = ToolActivity("s2", "web_fetch", ToolState.FAILED, "Reading slack.dev…")
    assert await sink.activity(failed, "Bolt is Slack's framework. It")
    await sink.finish("Bolt is Slack's framework. It is for apps.")
    (message,) = slack.bot_replies(DM, root)
    assert message.visible_text == "Bolt is Slack's framework. It is for apps."
    assert message.tasks() == {"s1": ["in_progress", "complete"], "s2": ["in_progress", "error"]}
    kinds = [c.get("id") or c["text"] for c in message.timeline]
    assert kinds == ["s1", "s1", "Bolt is Slack's framework.", " It", "s2", "s2", " is for apps."]
    (start,) = slack.calls_to("chat.startStream")
    assert task_updates(start.args) == [
        {"type": "task_update", "id": "s1", "title": SEARCH[:-1], "status": "in_progress"}
    ]
    complete = message.timeline[1]
    assert complete["sources"] == [
        {"type": "url", "text": "Bolt for Python", "url": "https://slack.dev/bolt-python/"}
    ]
    assert not slack.calls_to("chat.update")


async def test_a_long_title_and_many_sources_fit_the_chunk_limit(slack: FakeSlack) -> None:
    """A task is cut to Slack's 256 characters (title shortened, sources left out) rather than
    refused."""
    root = await _root(slack)
    sink, _ = _sink(slack, StreamTarget(DM, root))
    hits = tuple((f"Page {n}", f"https://example.com/{'x' * 60}/{n}") for n in range(5))
    text = "Searching the web for “" + "very long query " * 20 + "”…"
    assert await sink.activity(ToolActivity("s" * 40, "web_search", ToolState.DONE, text, hits), "")
    (chunk,) = task_updates(slack.calls_to("chat.startStream")[0].args)
    assert len(json.dumps(chunk, ensure_ascii=False, separators=(",", ":"))) <= MAX_TASK_CHUNK


async def test_after_falling_back_tools_are_left_to_the_status_line(slack: FakeSlack) -> None:
    """Once the stream fell back to edits, activity() says False: the core shows a status line
    in the edited message instead."""
    root = await _root(slack)
    sink, _ = _sink(slack, StreamTarget(DM, root))
    await sink.show("The first half")
    (message,) = slack.bot_replies(DM, root)
    slack.expire_stream(message.ts)
    await sink.show("The first half and")
    started = ToolActivity("t1", "demo__echo", ToolState.STARTED, "Using demo › echo…")
    assert not await sink.activity(started, "The first half and")
    await sink.show("The first half and\n\n_Using demo › echo…_")
    assert message.visible_text == "The first half and\n\n_Using demo › echo…_"
