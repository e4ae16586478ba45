"""Governance's parts on their own: the audit stream's retention (real Redis), PII redaction,
"forget this thread" parsing, the uploads a history refers to, export links, --since."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.conversation.agent import Approval, NoApprovals
from bot.conversation.messages import Question, ThreadKey
from bot.conversation.routing import is_forget_thread
from bot.conversation.tools import ToolSpec
from bot.governance.approvals import AuditedApprovals
from bot.governance.audit import AuditLog, audit_key
from bot.governance.cli import parse_since
from bot.governance.export import ThreadLink, parse_thread_link
from bot.governance.forget import forget_reply, uploaded_files
from bot.governance.pii import PiiRedactor
from bot.storage.connect import RedisClient


async def test_the_audit_stream_keeps_only_its_retention(redis_client: RedisClient) -> None:
    """Entries older than the retention are trimmed as new ones are added; reading filters by
    age and workspace and decodes the fields."""
    log = AuditLog(redis_client, retention_seconds=86_400)
    old_ms = int((time.time() - 2 * 86_400) * 1000)
    for n in range(250):  # approximate trimming drops whole stream nodes (100 entries each)
        fields: dict[Any, Any] = {"action": "thread.forget", "actor": "U1", "n": n}
        await redis_client.xadd(audit_key("T1"), fields, id=f"{old_ms}-{n}")
    await log.record("T1", "thread.export", "U2", channel="C1", admin_action=True)
    await log.record("T2", "memory.forget", "U3")
    assert await redis_client.xlen(audit_key("T1")) < 100
    recent = await log.read(3600)
    assert [(e.team, e.action, e.actor) for e in recent] == [
        ("T1", "thread.export", "U2"),
        ("T2", "memory.forget", "U3"),
    ]
    assert recent[0].fields == {"channel": "C1", "admin_action": "true"}
    assert recent[0].as_json()["time"].endswith("Z")
    assert [e.team for e in await log.read(3600, "T2")] == ["T2"]


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("write to ana.lima@example.com today", {"email": 1}),
        ("call +44 20 7946 0958 or (415) 555-2671", {"phone": 2}),
        ("card 4111-1111-1111-1111 and amex 378282246310005", {"card": 2}),
        ("order 1234567890123456 (fails Luhn), v1.2.3, 2024-01-15 10:30", {}),
        ("slack ts 1700000000.123456 and <@U123ABC> stay", {}),
    ],
)
def test_pii_redaction_finds_what_it_should(text: str, kinds: dict[str, int]) -> None:
    """Emails, valid phone numbers and Luhn-valid card numbers are replaced; ids, versions,
    dates and Slack mentions are not."""
    redacted, found = PiiRedactor("US").redact_text(text)
    assert dict(found) == kinds
    if not kinds:
        assert redacted == text


def test_pii_redaction_covers_every_text_block_of_a_user_turn() -> None:
    """Text blocks and text documents are redacted; images and the original are untouched."""
    turn = {
        "role": "user",
        "content": [
            {"type": "image", "source": {"type": "file", "file_id": "file_1"}},
            {"type": "document", "source": {"type": "text", "data": "ana@example.com"}},
            {"type": "text", "text": "[Ana]: mine is bob@example.org"},
        ],
    }
    redacted, found = PiiRedactor().redact_message(turn)
    assert found["email"] == 2
    assert redacted["content"][0] == turn["content"][0]
    assert redacted["content"][1]["source"]["data"] == "[email redacted]"
    assert redacted["content"][2]["text"] == "[Ana]: mine is [email redacted]"
    assert turn["content"][2]["text"] == "[Ana]: mine is bob@example.org"


@pytest.mark.parametrize(
    ("text", "forget"),
    [
        ("forget this thread", True),
        ("Please forget this conversation.", True),
        ("delete the whole thread!", True),
        ("forget everything in this thread", True),
        ("forget that I like tea", False),
        ("forget this thread and tell me a joke", False),
        ("how do I forget this thread?", False),
    ],
)
def test_forget_this_thread_is_recognised_and_nothing_else(text: str, forget: bool) -> None:
    """Only a message that is just the request is carried out by the bot."""
    assert is_forget_thread(text) is forget


def test_uploaded_files_are_found_anywhere_in_the_history() -> None:
    """File sources in user turns and inside tool results count, once each, in order."""
    history = [
        {
            "role": "user",
            "content": [{"type": "image", "source": {"type": "file", "file_id": "a"}}],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "file_id b"}]},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t",
                    "content": [
                        {"type": "document", "source": {"type": "file", "file_id": "c"}},
                        {"type": "image", "source": {"type": "file", "file_id": "a"}},
                    ],
                },
            ],
        },
    ]
    assert uploaded_files(history) == ["a", "c"]


def test_forget_reply_says_what_went_and_what_did_not() -> None:
    """The reply counts messages and files, and warns about files that stayed."""
    assert "nothing stored" in forget_reply(0, 0, 0)
    text = forget_reply(1, 2, 1)
    assert "1 stored message and 2 files" in text
    assert "1 uploaded file could not be deleted" in text


@pytest.mark.parametrize(
    ("text", "link"),
    [
        (
            "https://acme.slack.com/archives/C0GENERAL/p1700000000123456",
            ThreadLink("C0GENERAL", "1700000000.123456"),
        ),
        (
            "<https://acme.slack.com/archives/C0G/p1700000001000200?thread_ts=1700000000.123456&cid=C0G>",
            ThreadLink("C0G", "1700000001.000200", "1700000000.123456"),
        ),
        (
            "see https://acme.slack.com/archives/D0ANA/p1700000000123456 please",
            ThreadLink("D0ANA", "1700000000.123456"),
        ),
        ("https://acme.slack.com/archives/C0G", None),
        ("http://acme.slack.com/archives/C0G/p1700000000123456", None),
        ("no link", None),
    ],
)
def test_thread_links_are_parsed(text: str, link: ThreadLink | None) -> None:
    """Message links (pasted or in Slack's <…> form, replies naming their root) give the thread;
    anything else gives None."""
    assert parse_thread_link(text) == link


def test_since_spans() -> None:
    """--since takes a number and a unit."""
    assert parse_since("7d") == 7 * 86_400
    assert parse_since("90s") == 90
    with pytest.raises(ValueError, match="--since"):
        parse_since("a week")


async def _no_status(text: str) -> None:
    """Where the approval's waiting line would go."""


async def test_each_approval_answer_is_audited(redis_client: RedisClient) -> None:
    """The asker's answer to a tool that changes things goes to the audit log with the tool."""
    log = AuditLog(redis_client, retention_seconds=3600)
    question = Question(ThreadKey("T1", "C1", "1.0"), "U1", "open a ticket", "1.0", False, "1.0")
    approver = AuditedApprovals(NoApprovals(), log).for_question(question, _no_status)
    spec = ToolSpec("tickets__create", "Create a ticket", {"type": "object"}, changes_things=True)
    assert await approver.approve(spec, {}, "Using tickets › create…") is Approval.DENIED
    (event,) = await log.read(60)
    assert (event.action, event.actor, event.fields["tool"], event.fields["result"]) == (
        "tool.approval",
        "U1",
        "tickets__create",
        "denied",
    )
