"""Governance end to end through the real bot: "@Claude forget this thread", /claude-export, the
audit log and its CLI, PII redaction — against the fake Slack, the fake Claude (with its Files
API) and a real Redis."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import aiohttp
import redis.asyncio as redis

from bot.storage.inflight import RECORDS
from testing.fakes.claude_server import FakeClaude, TextReply
from testing.fakes.slack_server import FakeSlack
from testing.harness import ROOT, mention, wait_for_final
from tests import samples
from tests.wire.conftest import CHANNEL, DM, OTHER_USER, USER, BotFactory
from tests.wire.test_files import PNG_FILE, share

FRESH = "I start fresh"


async def stored(redis_url: str, team: str, thread_ts: str, channel: str = CHANNEL) -> Any:
    """The thread's stored history (decoded), its meta, and the Redis client's other finds."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        base = f"csb:v1:{{{team}:{channel}:{thread_ts}}}"
        history = [json.loads(m) for m in await client.lrange(f"{base}:history", 0, -1)]
        return history, await client.hgetall(f"{base}:meta")
    finally:
        await client.aclose()


async def wait_text(slack: FakeSlack, thread_ts: str, text: str) -> str:
    """Wait for a final bot message in the thread containing `text`; return it."""

    def found() -> str | None:
        replies = [m for m in slack.bot_replies(CHANNEL, thread_ts) if not m.streaming]
        return next((m.visible_text for m in replies if text in m.visible_text), None)

    await slack.wait_for(lambda: found() is not None, timeout=20)
    return found() or ""


async def test_forget_this_thread_removes_what_it_says(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """After two turns (one with a screenshot), "forget this thread" deletes the history, the
    Files API upload, the messages' dedupe marks and a left-behind in-progress record of the
    thread (not another thread's), without calling Claude, and says so; the next question in the
    thread reaches Claude alone, with nothing of before; the forget is audited."""
    await bot_factory().start()
    team = slack.ids.team_id
    claude.enqueue(TextReply("A login form."), TextReply("Blue."))
    thread = await share(slack, "what is this?", [slack.add_file(PNG_FILE, samples.png())])
    await wait_for_final(slack, CHANNEL, thread, "A login form.")
    follow = await mention(slack, CHANNEL, USER, "and its colour?", thread_ts=thread)
    await wait_for_final(slack, CHANNEL, thread, "Blue.")
    (upload,) = claude.files.uploads
    answer_ts = slack.bot_replies(CHANNEL, thread)[0].ts
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    left = {"instance": "dead", "channel": CHANNEL, "message_ts": answer_ts, "text": "Blu"}
    other = {**left, "message_ts": "1.000001"}
    await client.hset(RECORDS, mapping={"a1": json.dumps(left), "a2": json.dumps(other)})
    mark = f"csb:v1:event:msg:{team}:{CHANNEL}:{follow.ts}"
    assert await client.exists(mark)
    calls = len(claude.message_requests())

    forget = await mention(slack, CHANNEL, USER, "forget this thread", thread_ts=thread)
    reply = await wait_text(slack, thread, FRESH)

    assert "4 stored messages and 1 file I had uploaded to Claude" in reply
    assert len(claude.message_requests()) == calls
    history, meta = await stored(redis_url, team, thread)
    assert history == []
    assert meta == {"last_seen_ts": forget.ts}
    assert upload.id not in claude.files.files
    assert not await client.exists(mark)
    assert await client.exists(f"csb:v1:event:msg:{team}:{CHANNEL}:{forget.ts}")
    assert set(await client.hkeys(RECORDS)) == {"a2"}
    events = await client.xrange(f"csb:v1:audit:{{{team}}}")
    await client.aclose()
    assert [(e["action"], e["actor"], e["messages"], e["files"]) for _, e in events] == [
        ("thread.forget", USER, "4", "1")
    ]
    claude.enqueue(TextReply("Nothing I know of."))
    await mention(slack, CHANNEL, USER, "what did I share?", thread_ts=thread)
    await wait_for_final(slack, CHANNEL, thread, "Nothing I know of.")
    sent = json.dumps(claude.message_requests()[-1].body["messages"])
    assert len(claude.message_requests()[-1].body["messages"]) == 1
    for before in ("what is this?", "and its colour?", "login form", "forget this thread"):
        assert before not in sent


async def run_audit_cli(redis_url: str, *args: str) -> list[dict[str, Any]]:
    """`python -m bot audit …` against this Redis; its JSON lines."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "REDIS_URL": redis_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "audit",
        *args,
        cwd=str(ROOT),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines()]


async def test_an_export_holds_exactly_the_stored_history(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """An admin's /claude-export of a thread link sends a JSON file to their DM whose history is
    exactly what Redis holds (and its meta); someone else is refused; the export shows in the
    audit CLI."""
    await bot_factory(BOT_ADMIN_USERS=USER).start()
    claude.enqueue(TextReply("First answer."), TextReply("Second answer."))
    root = await mention(slack, CHANNEL, USER, "first question")
    await wait_for_final(slack, CHANNEL, root.ts, "First answer.")
    reply = await mention(slack, CHANNEL, OTHER_USER, "second question", thread_ts=root.ts)
    await wait_for_final(slack, CHANNEL, root.ts, "Second answer.")
    link = f"{slack.ids.workspace_url}archives/{CHANNEL}/p{reply.ts.replace('.', '')}"
    link += f"?thread_ts={root.ts}&cid={CHANNEL}"

    refused = await slack.wait_ack(
        await slack.slash_command("/claude-export", link, user=OTHER_USER, channel=CHANNEL)
    )
    assert refused.payload is not None
    assert "Only the bot's admins" in refused.payload["text"]
    await slack.wait_ack(
        await slack.slash_command("/claude-export", f"<{link}>", user=USER, channel=CHANNEL)
    )
    await slack.wait_for(lambda: any(m.files for m in slack.messages(DM)), timeout=20)
    (message,) = [m for m in slack.messages(DM) if m.files]
    headers = {"Authorization": f"Bearer {slack.ids.bot_token}"}
    url = (message.files or [])[0]["url_private"]
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        document = json.loads(await response.read())

    history, meta = await stored(redis_url, slack.ids.team_id, root.ts)
    assert len(history) == 4
    assert document["history"] == history
    assert document["meta"] == meta
    assert (document["channel"], document["thread_ts"]) == (CHANNEL, root.ts)
    lines = await run_audit_cli(redis_url, "--since", "1h", "--team", slack.ids.team_id)
    assert [(e["action"], e["actor"], e["thread"], e["messages"]) for e in lines] == [
        ("thread.export", USER, root.ts, "4")
    ]


async def test_personal_data_is_redacted_before_it_leaves_for_claude(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """With BOT_PII_REDACTION on, the email, phone and card number in a question reach Claude
    (and the stored thread) as placeholders; the rest of the question is unchanged."""
    await bot_factory(BOT_PII_REDACTION="true").start()
    claude.enqueue(TextReply("Got it."))
    text = "mail ana.lima@example.com, call +1 415 555 2671, card 4111 1111 1111 1111 please"
    root = await mention(slack, CHANNEL, USER, text)
    await wait_for_final(slack, CHANNEL, root.ts, "Got it.")
    sent = json.dumps(claude.message_requests()[-1].body["messages"])
    history, _ = await stored(redis_url, slack.ids.team_id, root.ts)
    for where in (sent, json.dumps(history)):
        assert "[email redacted]" in where
        assert "[phone redacted]" in where
        assert "[card redacted]" in where
        assert "please" in where
        for secret in ("ana.lima@example.com", "555 2671", "4111 1111"):
            assert secret not in where
