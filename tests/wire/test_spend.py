"""Spend that cannot be raced, end to end: concurrent questions against a nearly spent budget,
the cap on one person's answers in flight, and batch jobs checked against the budget at the
estimate and at submit — the real bot process, the fake Slack and Claude, a real Redis."""

from __future__ import annotations

import asyncio

import pytest

from testing.fakes.claude_server import FakeClaude, TextReply
from testing.fakes.slack_models import SlackRateLimits
from testing.fakes.slack_server import FakeSlack
from testing.fakes.slack_surfaces import click_button
from testing.harness import mention, wait_for_final
from testing.harness import seed_spend as harness_seed_spend
from tests.wire.conftest import CHANNEL, OTHER_USER, USER, BotFactory
from tests.wire.test_batch import FAST, run_command, share_csv, shown, wait_reply

SONNET = "claude-sonnet-5-5"
NO_POST_LIMIT = SlackRateLimits(post_per_second_per_channel=None)
SHORT = "Sorry, this question could cost up to"
BUSY = "you already have 3 answers on the way"


async def seed_spend(redis_url: str, team: str, usd: float) -> None:
    """An earlier call of `usd` by USER today, in the ledger."""
    await harness_seed_spend(redis_url, team, CHANNEL, USER, usd, SONNET)


def replies_with(slack: FakeSlack, roots: list[str], text: str) -> list[str]:
    """The threads (of `roots`) where the bot's reply shows `text`."""
    return [
        root
        for root in roots
        if any(text in m.visible_text for m in slack.bot_replies(CHANNEL, root))
    ]


@pytest.mark.parametrize("slack", [NO_POST_LIMIT], indirect=True)
async def test_twenty_concurrent_questions_get_only_what_the_budget_holds(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """$0.75 of a $1.00 daily budget spent, each question estimated at about $0.08 (8,000
    output tokens on Sonnet): of 20 questions sent at once exactly 3 reach Claude while the
    others get the polite budget message; once the 3 are answered their holds are released
    and a new question is answered."""
    await bot_factory(
        BOT_BUDGET_USER_DAILY_USD="1.00",
        BOT_MAX_TOKENS="8000",
        BOT_MAX_ANSWERS_IN_FLIGHT_PER_USER="0",
    ).start()
    await seed_spend(redis_url, slack.ids.team_id, 0.75)
    claude.hold_streams = asyncio.Event()
    claude.enqueue(*(TextReply(f"Answer {n}.") for n in range(3)))
    deliveries = await asyncio.gather(
        *(mention(slack, CHANNEL, USER, f"question {n}") for n in range(20))
    )
    roots = [d.ts for d in deliveries]

    def decided() -> bool:
        return len(replies_with(slack, roots, SHORT)) + len(claude.message_requests()) >= 20

    await slack.wait_for(decided, timeout=60)
    assert len(claude.message_requests()) == 3
    refused = replies_with(slack, roots, SHORT)
    assert len(refused) == 17
    text = slack.bot_replies(CHANNEL, refused[0])[-1].visible_text
    assert "of your daily Claude budget ($1.00) is left once the answers in progress" in text
    claude.hold_streams.set()
    answered = [r for r in roots if r not in refused]
    for root in answered:
        await wait_for_final(slack, CHANNEL, root, "Answer ")
    claude.enqueue(TextReply("Room again."))
    later = await mention(slack, CHANNEL, USER, "one more?")
    await wait_for_final(slack, CHANNEL, later.ts, "Room again.")


async def test_a_fourth_answer_in_flight_is_asked_to_wait_but_follow_ups_queue(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """With 3 answers of one person streaming (the default cap), a 4th question of theirs gets
    a polite "wait" at once; a follow-up in one of the busy threads is queued, not refused (it
    waits for its thread, not for Claude), and another person is not affected."""
    await bot_factory().start()
    claude.hold_streams = asyncio.Event()
    roots = [(await mention(slack, CHANNEL, USER, f"long task {n}")).ts for n in range(3)]
    await claude.wait_for_requests(3, timeout=20)
    fourth = await mention(slack, CHANNEL, USER, "and a fourth thing")
    await slack.wait_for(lambda: bool(replies_with(slack, [fourth.ts], BUSY)), timeout=20)
    text = slack.bot_replies(CHANNEL, fourth.ts)[-1].visible_text
    assert text.endswith("Ask again when one of them has finished.")
    follow_up = await mention(slack, CHANNEL, USER, "also this", thread_ts=roots[0])
    await slack.wait_for(
        lambda: any(
            "Waiting for my answer above" in m.visible_text
            for m in slack.bot_replies(CHANNEL, roots[0])
        ),
        timeout=20,
    )
    other = await mention(slack, CHANNEL, OTHER_USER, "my own question")
    await claude.wait_for_requests(4, timeout=20)
    assert len(claude.message_requests()) == 4
    claude.hold_streams.set()
    for root in roots:
        await wait_for_final(slack, CHANNEL, root, "You said:")
    await wait_for_final(slack, CHANNEL, other.ts, "my own question")
    await slack.wait_for(lambda: len(claude.message_requests()) == 5, timeout=20)
    assert "also this" in str(claude.message_requests()[-1].body["messages"][-1])
    assert follow_up.ts
    assert not replies_with(slack, roots, BUSY)


BATCH_ENV = {**FAST, "BOT_BUDGET_USER_DAILY_USD": "1.00", "BOT_BATCH_MAX_TOKENS": "10000"}


async def test_a_batch_over_the_budget_is_refused_at_its_estimate(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """50 rows at up to 10,000 output tokens each cost at most about $0.13 on Haiku (batch
    discount); with $0.90 of $1.00 spent the estimate says it does not fit, and why, and
    offers no Run button."""
    await bot_factory(**BATCH_ENV).start()
    await seed_spend(redis_url, slack.ids.team_id, 0.90)
    thread = await share_csv(slack)
    await run_command(slack, "Classify {title}")
    status = await wait_reply(slack, thread, "Estimated cost")
    assert ":no_entry: Sorry, this batch could cost up to $0.13, and only $0.10 of your " in (
        shown(status)
    )
    assert "Run batch" not in shown(status)
    assert claude.batches.batches == {}


async def test_a_running_batch_holds_its_estimate_so_a_second_is_refused_at_submit(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """With $0.80 of $1.00 spent two $0.13 jobs each fit at their estimate, but once the first
    runs (its estimate held until its cost is recorded) the second's Run is refused privately
    and nothing more is submitted."""
    await bot_factory(**BATCH_ENV).start()
    await seed_spend(redis_url, slack.ids.team_id, 0.80)
    claude.batches.hold()
    threads = [await share_csv(slack, name=f"{n}.csv") for n in ("a", "b")]
    for thread in threads:
        await mention(slack, CHANNEL, USER, "batch: Classify {title}", thread_ts=thread)
    one, two = [await wait_reply(slack, thread, "Estimated cost") for thread in threads]
    assert "Run batch" in shown(one)
    assert "Run batch" in shown(two)
    await slack.wait_ack(await click_button(slack, CHANNEL, one.ts, USER, "batch_confirm"))
    await wait_reply(slack, threads[0], "*0 / 50* done")
    await slack.wait_ack(await click_button(slack, CHANNEL, two.ts, USER, "batch_confirm"))
    await slack.wait_for(
        lambda: any("this batch could cost up to" in e.text for e in slack.ephemerals)
    )
    refusal = next(e.text for e in slack.ephemerals if "this batch could cost" in e.text)
    assert "once the answers in progress are paid for" in refusal
    assert len(claude.batches.batches) == 3, "the first job's 3 batches only"
