"""Model routing end to end: slash commands, sticky tiers, switching, thinking, fallback."""

from __future__ import annotations

from testing.fakes.claude_server import FakeClaude, HttpError, TextReply
from testing.fakes.slack_server import FakeSlack
from testing.harness import BotProcess, mention, wait_for_final
from tests.wire.conftest import CHANNEL, USER, BotFactory

OPUS, SONNET, HAIKU = "claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"


async def _ask(slack: FakeSlack, command: str, text: str) -> str:
    """Run a slash command; return the ts of the thread root the bot posts for it."""
    before = {m.ts for m in slack.messages(CHANNEL)}
    envelope = await slack.slash_command(command, text, user=USER, channel=CHANNEL)
    await slack.wait_ack(envelope)
    await slack.wait_for(lambda: any(m.ts not in before for m in slack.messages(CHANNEL)))
    root = next(m for m in slack.messages(CHANNEL) if m.ts not in before)
    return root.ts


async def test_each_slash_command_routes_to_its_model(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """/ask-haiku, /ask-sonnet, /ask-opus each post the question as a thread root attributed to
    the user and answer in that thread with their model; the footer names it."""
    for command, model, label in [
        ("/ask-haiku", HAIKU, "Haiku 5.5"),
        ("/ask-sonnet", SONNET, "Sonnet 5.5"),
        ("/ask-opus", OPUS, "Opus 5.5"),
    ]:
        claude.enqueue(TextReply(f"answer from {model}"), model=model)
        root_ts = await _ask(slack, command, f"which model for {command}?")
        root = slack.thread(CHANNEL, root_ts)[0]
        tier = command.removeprefix("/ask-").capitalize()
        assert root.text == f"<@{USER}> asked *{tier}*: which model for {command}?"
        final = await wait_for_final(slack, CHANNEL, root_ts, f"_{label} · ")
        assert final.startswith(f"answer from {model}")
    assert [r.body["model"] for r in claude.message_requests()] == [HAIKU, SONNET, OPUS]


async def test_thread_keeps_its_tier_and_can_switch(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A mention in an /ask-opus thread stays on Opus; "@bot switch to haiku" moves the thread
    to Haiku with a clear reply and no model call; the next mention uses Haiku."""
    root_ts = await _ask(slack, "/ask-opus", "first question")
    await wait_for_final(slack, CHANNEL, root_ts, "Opus 5.5 · ")
    await mention(slack, CHANNEL, USER, "a follow-up", thread_ts=root_ts)
    await claude.wait_for_requests(2)
    await mention(slack, CHANNEL, USER, "switch to haiku", thread_ts=root_ts)
    await wait_for_final(slack, CHANNEL, root_ts, "Switched this thread to *Haiku*")
    await mention(slack, CHANNEL, USER, "and now?", thread_ts=root_ts)
    await wait_for_final(slack, CHANNEL, root_ts, "Haiku 5.5 · ")
    models = [r.body["model"] for r in claude.message_requests()]
    assert models == [OPUS, OPUS, HAIKU]


async def test_opus_thinks_and_keeps_its_thinking_in_the_history(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """Opus requests carry adaptive thinking at high effort; while it thinks the message shows a
    live status; the thinking (with its signature) is not posted but is sent back next turn."""
    claude.enqueue(
        TextReply(
            "The answer.",
            thinking="Let me think about this carefully. " * 20,
            tokens_per_second=60,
            ttft=0.2,
        ),
        TextReply("Second."),
    )
    root_ts = await _ask(slack, "/ask-opus", "a hard question")
    final = await wait_for_final(slack, CHANNEL, root_ts, "The answer.")
    assert "Let me think" not in final
    shown = [text for _, text in slack.bot_replies(CHANNEL, root_ts)[0].edits]
    assert any(text.startswith("_Thinking… ") for text in shown), shown
    first = claude.message_requests()[0].body
    assert first["thinking"] == {"type": "adaptive"}
    assert first["output_config"] == {"effort": "high"}
    await mention(slack, CHANNEL, USER, "more", thread_ts=root_ts)
    await wait_for_final(slack, CHANNEL, root_ts, "Second.")
    second = claude.message_requests()[1].body
    stored_answer = second["messages"][1]["content"]
    assert stored_answer[0]["type"] == "thinking"
    assert stored_answer[0]["signature"]
    assert "model" not in second["messages"][1]


async def test_mentions_default_to_sonnet_without_thinking(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A plain mention uses the Sonnet tier and sends no thinking parameter."""
    delivery = await mention(slack, CHANNEL, USER, "quick one")
    await wait_for_final(slack, CHANNEL, delivery.ts, "Sonnet 5.5 · ")
    body = claude.message_requests()[0].body
    assert body["model"] == SONNET
    assert "thinking" not in body


async def test_overloaded_opus_falls_back_to_sonnet(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """An Opus call that stays overloaded (529 after the SDK's retry) is answered by Sonnet,
    and the footer says so."""
    storm = HttpError(529, "overloaded_error", "Overloaded", retry_after=0.05)
    claude.enqueue(storm, storm, model=OPUS)
    claude.enqueue(TextReply("Sonnet stepped in."), model=SONNET)
    root_ts = await _ask(slack, "/ask-opus", "are you busy?")
    final = await wait_for_final(slack, CHANNEL, root_ts, "Sonnet stepped in.")
    assert "_Opus was overloaded — answered by Sonnet 5.5 · " in final
    assert [r.body["model"] for r in claude.message_requests()] == [OPUS, OPUS, SONNET]


async def test_unknown_model_names_the_id_and_the_setting(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A 404 for the configured model tells which id and which variable to fix; no retry."""
    await bot_factory(CLAUDE_MODEL_SONNET="claude-sonnet-0-0").start()
    claude.enqueue(HttpError(404, "not_found_error", "model: claude-sonnet-0-0"))
    delivery = await mention(slack, CHANNEL, USER, "hello?")
    final = await wait_for_final(slack, CHANNEL, delivery.ts, "was not found")
    assert "`claude-sonnet-0-0`" in final
    assert "CLAUDE_MODEL_SONNET" in final
    assert len(claude.message_requests()) == 1


async def test_empty_slash_command_gets_a_usage_hint(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """/ask-opus with no question acks with an ephemeral usage hint; nothing is posted."""
    envelope = await slack.slash_command("/ask-opus", "  ", user=USER, channel=CHANNEL)
    ack = await slack.wait_ack(envelope)
    assert ack.payload is not None
    assert ack.payload["response_type"] == "ephemeral"
    assert "/ask-opus How do I" in ack.payload["text"]
    assert slack.messages(CHANNEL) == []
    assert claude.message_requests() == []


async def test_slash_command_where_the_bot_is_not_a_member(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """In a channel without the bot, the user gets an ephemeral 'invite me' and nothing breaks."""
    slack.add_channel("C0ELSEWHERE", "elsewhere", members={USER})
    envelope = await slack.slash_command("/ask-haiku", "hi", user=USER, channel="C0ELSEWHERE")
    await slack.wait_ack(envelope)
    await slack.wait_for(lambda: bool(slack.response_url_posts))
    post = slack.response_url_posts[0]["body"]
    assert post["response_type"] == "ephemeral"
    assert "/invite @" in post["text"]
    assert claude.message_requests() == []


async def test_commands_not_yet_enabled_say_so(bot: BotProcess, slack: FakeSlack) -> None:
    """/ask-code is declared in the manifest; until enabled it answers with a polite ephemeral
    line instead of Slack's 'dispatch_failed'."""
    for command in ("/ask-code",):
        ack = await slack.wait_ack(
            await slack.slash_command(command, "x", user=USER, channel=CHANNEL)
        )
        assert ack.payload is not None
        assert "not set up" in ack.payload["text"]


async def test_spend_limit_is_reported_and_not_retried(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A 429 spend limit (no retry-after) is not retried and is explained as a spend limit."""
    claude.enqueue(HttpError(429, "rate_limit_error", "You have reached your API spend limit"))
    delivery = await mention(slack, CHANNEL, USER, "costly question")
    final = await wait_for_final(slack, CHANNEL, delivery.ts, "spend limit")
    assert "Claude Console" in final
    assert len(claude.message_requests()) == 1


async def test_rate_limit_is_retried_after_the_servers_delay(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A 429 with retry-after is waited out and retried; the user just gets the answer."""
    claude.enqueue(HttpError(429, "rate_limit_error", "slow down", retry_after=0.1))
    claude.enqueue(TextReply("After a pause."))
    delivery = await mention(slack, CHANNEL, USER, "patience")
    await wait_for_final(slack, CHANNEL, delivery.ts, "After a pause.")
    assert len(claude.message_requests()) == 2
