"""Tool approvals against a real Redis (embedded Valkey) and the fake Slack: the atomic first
decision, the blocking wait woken from another connection, the approver's faults, a stopped
answer closing its request, late clicks; and the request's Block Kit as data."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as redis
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.agent import Approval
from bot.conversation.messages import Question, ThreadKey
from bot.conversation.throttle import MonotonicClock
from bot.conversation.tools import ToolSpec
from bot.slack.api.workspaces import OneWorkspace, Workspace
from bot.slack.blocks.approval import (
    APPROVE,
    MAX_INPUT_CHARS,
    request_blocks,
    shown_input,
    tool_label,
)
from bot.slack.handlers.approval import ApprovalClicks, parse_click
from bot.slack.sinks.approval import WAITING, SlackApprovals
from bot.storage.approvals import ApprovalRequest, RedisApprovals
from bot.storage.connect import RedisClient
from testing.fakes.slack_models import blocks_text
from testing.fakes.slack_server import FakeSlack

USER, OTHER, CHANNEL = "U0ANA", "U0BOB", "C0GENERAL"
SPEC = ToolSpec("demo__create_ticket", "Create a ticket.", {"type": "object"}, True)
DESCRIPTION = "Using demo › create_ticket…"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    fake.add_user(USER, "ana", "Ana Lima")
    fake.add_user(OTHER, "bob", "Bob Stone")
    fake.add_channel(CHANNEL, "general", members={USER, OTHER, fake.ids.bot_user_id})
    await fake.start()
    yield fake
    await fake.stop()
    assert fake.violations == []
    assert fake.broadcasts == []


def _web(slack: FakeSlack) -> OneWorkspace:
    """The single workspace the bot token serves."""
    web = AsyncWebClient(token=slack.ids.bot_token, base_url=slack.api_url)
    return OneWorkspace(Workspace(slack.ids.team_id, None, web, slack.ids.bot_user_id))


async def _question(slack: FakeSlack) -> Question:
    root = await slack.user_message(CHANNEL, USER, "open a ticket")
    key = ThreadKey(slack.ids.team_id, CHANNEL, root.ts)
    return Question(key, USER, "open a ticket", root.ts, False, root.ts)


class Statuses:
    """The status lines an approver showed."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    async def __call__(self, text: str) -> None:
        self.lines.append(text)


def _request_message(slack: FakeSlack) -> Any:
    return next(
        m
        for m in slack.messages(CHANNEL)
        if any(b.get("type") == "actions" for b in m.blocks or [])
        or "Claude asked to use" in blocks_text(m.blocks or [])
    )


async def test_the_first_decision_stands_among_many_at_once(redis_client: RedisClient) -> None:
    """Twenty deciders at once (approve, deny, expire): exactly one wins, the others read it."""
    store = RedisApprovals(redis_client, keep_seconds=60)
    await store.open("a" * 24, ApprovalRequest(USER, CHANNEL, "1.0", "demo › t", "{}"))
    kinds = ["approved", "denied", "expired"]
    decided = await asyncio.gather(
        *(store.decide("a" * 24, kinds[n % 3], f"U{n}") for n in range(20))
    )
    winners = [d for d in decided if d.won]
    assert len(winners) == 1
    assert {(d.decision, d.by) for d in decided} == {(winners[0].decision, winners[0].by)}
    assert await redis_client.llen("csb:v1:approval:{" + "a" * 24 + "}:decision") == 1
    gone = await store.decide("b" * 24, "approved", USER)
    assert (gone.won, gone.decision) == (False, "")


async def test_the_wait_wakes_on_a_decision_from_another_connection(
    redis_client: RedisClient, redis_url: str
) -> None:
    """A waiter blocked on the decision (BLPOP) wakes when another process decides, and the event
    loop keeps running meanwhile; with no decision the wait ends at its timeout."""
    store = RedisApprovals(redis_client, keep_seconds=60)
    approval_id = "c" * 24
    await store.open(approval_id, ApprovalRequest(USER, CHANNEL, "1.0", "demo › t", "{}"))
    other = redis.Redis.from_url(redis_url)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    running = asyncio.create_task(ticker())
    waiting = asyncio.create_task(store.wait(approval_id, 30))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    await RedisApprovals(other, keep_seconds=60).decide(approval_id, "denied", USER)
    assert await asyncio.wait_for(waiting, 5) == "denied"
    running.cancel()
    assert ticks > 10
    await other.aclose()
    assert await store.wait("d" * 24, 0.2) is None


async def test_the_approver_says_unavailable_when_redis_is_down(slack: FakeSlack) -> None:
    """Redis unreachable when the bot would ask: nothing is posted, the answer is UNAVAILABLE."""
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    approvals = SlackApprovals(
        _web(slack), RedisApprovals(dead, keep_seconds=60), MonotonicClock(), 5
    )
    statuses = Statuses()
    approver = approvals.for_question(await _question(slack), statuses)
    assert await approver.approve(SPEC, {"title": "x"}, DESCRIPTION) is Approval.UNAVAILABLE
    assert slack.calls_to("chat.postMessage") == []
    assert WAITING not in statuses.lines
    await dead.aclose()


async def test_a_stopped_answer_closes_its_request(
    slack: FakeSlack, redis_client: RedisClient
) -> None:
    """The answer cancelled while it waits (deadline, shutdown): the request says so, loses its
    buttons, and a later click is told it is no longer open."""
    store = RedisApprovals(redis_client, keep_seconds=60)
    web = _web(slack)
    approvals = SlackApprovals(web, store, MonotonicClock(), 300)
    statuses = Statuses()
    approver = approvals.for_question(await _question(slack), statuses)
    waiting = asyncio.create_task(approver.approve(SPEC, {"title": "x"}, DESCRIPTION))
    await slack.wait_for(lambda: WAITING in statuses.lines)
    request = _request_message(slack)
    approval_id = _posted_approval_id(slack)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    closed = _request_message(slack)
    assert "The answer stopped before anyone decided" in blocks_text(closed.blocks)
    assert all(b["type"] != "actions" for b in closed.blocks)
    replies: list[dict[str, Any]] = []

    async def respond(**kwargs: Any) -> None:
        replies.append(kwargs)

    async def ack(**kwargs: Any) -> None:
        return None

    clicks = ApprovalClicks(web, store, MonotonicClock(), frozenset(), 300)
    await clicks.on_click(ack, _click_body(approval_id, USER, request.ts), respond)
    assert replies[0]["text"].startswith("This request is no longer open")


async def test_a_click_after_expiry_is_told_it_expired(
    slack: FakeSlack, redis_client: RedisClient
) -> None:
    """Nobody decided in time: the answer gets EXPIRED, the request says so, and a click that
    comes later (a stale message on a slow redis_client) is told it expired, nothing more."""
    store = RedisApprovals(redis_client, keep_seconds=60)
    web = _web(slack)
    approver = SlackApprovals(web, store, MonotonicClock(), 0.3).for_question(
        await _question(slack), Statuses()
    )
    assert await approver.approve(SPEC, {"title": "x"}, DESCRIPTION) is Approval.EXPIRED
    request = _request_message(slack)
    assert "Nobody decided within 0.3 seconds" in blocks_text(request.blocks)
    approval_id = _posted_approval_id(slack)
    replies: list[dict[str, Any]] = []

    async def respond(**kwargs: Any) -> None:
        replies.append(kwargs)

    async def ack(**kwargs: Any) -> None:
        return None

    clicks = ApprovalClicks(web, store, MonotonicClock(), frozenset(), 300)
    await clicks.on_click(ack, _click_body(approval_id, USER, request.ts), respond)
    assert replies[0]["text"].startswith("This request expired")


def _posted_approval_id(slack: FakeSlack) -> str:
    """The approval id the request's Approve button carries, as posted."""
    blocks = slack.calls_to("chat.postMessage")[-1].args["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    return str(actions["elements"][0]["value"])


def _click_body(approval_id: str, user: str, message_ts: str) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user},
        "container": {"type": "message", "channel_id": CHANNEL, "message_ts": message_ts},
        "actions": [{"type": "button", "action_id": APPROVE, "value": approval_id}],
    }


def test_a_click_that_is_not_an_approval_is_ignored() -> None:
    """Another action, or a value that is not an approval id, is not parsed as a decision."""
    assert parse_click(_click_body("x" * 24, USER, "1.0")) is None
    other = _click_body("a" * 24, USER, "1.0")
    other["actions"][0]["action_id"] = "batch_confirm"
    assert parse_click(other) is None
    click = parse_click(_click_body("a" * 24, USER, "1.0"))
    assert click is not None
    assert (click.decision, click.user, click.channel) == ("approved", USER, CHANNEL)


def test_the_request_shows_the_input_as_inert_short_data() -> None:
    """The input is JSON in a code block: cut with a note past MAX_INPUT_CHARS, `&<>` escaped,
    broadcasts defused, a ``` inside unable to close the block; the label loses bold markers."""
    shown = shown_input({"title": "<!channel> @here ```x``` & <@U1>", "body": "b" * 5000})
    assert "<!channel>" not in shown
    assert "&lt;!channel&gt;" not in shown  # defused as well as escaped
    assert "@here" not in shown
    assert "```" not in shown
    assert "&amp;" in shown
    assert "&lt;@U1&gt;" in shown
    assert "more characters not shown" in shown
    assert len(shown) < MAX_INPUT_CHARS + 200
    assert tool_label("t__x", "Using tick*ets › cl`ose…") == "tickets › close"
    assert tool_label("t__x", "") == "t__x"
    blocks = request_blocks("a" * 24, USER, "demo › t", shown, 300)
    assert len(blocks[1]["text"]["text"]) <= 3000
    assert "5 minutes" in blocks[3]["elements"][0]["text"]
