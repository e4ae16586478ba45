"""Batch jobs end to end: the real bot process, the fake Slack (slash command, mentions, button
clicks, files_upload_v2), the fake Claude's Message Batches API (results come back shuffled) and
a real Redis; restarts and a second replica included."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Callable

import aiohttp

from testing.fakes.claude_server import FakeClaude, TextReply
from testing.fakes.slack_models import StoredMessage, blocks_text
from testing.fakes.slack_server import FakeSlack
from testing.fakes.slack_surfaces import click_button
from testing.harness import BotProcess, mention, recent_ledger_records, wait_for_final
from tests.wire.conftest import CHANNEL, OTHER_USER, USER, BotFactory

ROWS = 50
CSV = "id,title\n" + "".join(f"{i},ticket {i}\n" for i in range(1, ROWS + 1))
HAIKU = "claude-haiku-5-5"
# Fast polling, and 20 rows per batch so 50 rows make 3 batches.
FAST = {
    "BOT_BATCH_POLL_SECONDS": "0.2",
    "BOT_BATCH_POLL_MAX_SECONDS": "0.4",
    "BOT_BATCH_REQUESTS_PER_BATCH": "20",
}


async def start(bot_factory: BotFactory) -> BotProcess:
    bot = bot_factory(**FAST)
    await bot.start()
    return bot


async def share_csv(
    slack: FakeSlack,
    content: str = CSV,
    *,
    name: str = "tickets.csv",
    thread_ts: str | None = None,
    user: str = USER,
) -> str:
    """A person shares a CSV (top level or in a thread); returns the message's ts."""
    file = slack.add_file({"name": name, "mimetype": "text/csv", "filetype": "csv"}, content)
    return (
        await slack.user_message(CHANNEL, user, "the file", thread_ts=thread_ts, files=[file])
    ).ts


async def run_command(slack: FakeSlack, text: str) -> None:
    """Run /claude-batch in the channel and wait for the bot's ack."""
    await slack.wait_ack(
        await slack.slash_command("/claude-batch", text, user=USER, channel=CHANNEL)
    )


def shown(message: StoredMessage) -> str:
    """What a person sees of a message: its text and its blocks."""
    return message.visible_text + "\n" + blocks_text(message.blocks or [])


def reply_with(slack: FakeSlack, thread_ts: str, text: str) -> StoredMessage | None:
    found = [m for m in slack.bot_replies(CHANNEL, thread_ts) if text in shown(m)]
    return found[-1] if found else None


async def wait_reply(
    slack: FakeSlack, thread_ts: str, text: str, timeout: float = 20
) -> StoredMessage:
    """Wait for a bot message in the thread showing `text`; return it."""
    await slack.wait_for(lambda: reply_with(slack, thread_ts, text) is not None, timeout=timeout)
    found = reply_with(slack, thread_ts, text)
    assert found is not None
    return found


def uploads(slack: FakeSlack, thread_ts: str) -> list[StoredMessage]:
    """The bot's messages in the thread that share a file."""
    return [m for m in slack.bot_replies(CHANNEL, thread_ts) if m.files]


async def wait_upload(slack: FakeSlack, thread_ts: str, count: int = 1) -> StoredMessage:
    await slack.wait_for(lambda: len(uploads(slack, thread_ts)) >= count, timeout=30)
    return uploads(slack, thread_ts)[count - 1]


async def result_rows(slack: FakeSlack, message: StoredMessage) -> list[list[str]]:
    """The uploaded results CSV, downloaded from its url_private like a person would."""
    [file] = message.files or []
    headers = {"Authorization": f"Bearer {slack.ids.bot_token}"}
    async with aiohttp.ClientSession() as http, http.get(file["url_private"], headers=headers) as r:
        data = await r.read()
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


async def batch_records(redis_url: str, team: str) -> list[dict[str, str]]:
    records = await recent_ledger_records(redis_url, team)
    return [r for r in records if r["feature"] == "batch"]


def done_counts(message: StoredMessage) -> list[int]:
    """The "N / 50 done" figures the status message showed, in order."""
    return [int(m.group(1)) for _, text in message.edits if (m := re.search(r"\*(\d+) / ", text))]


async def confirm(slack: FakeSlack, thread_ts: str, user: str = USER) -> StoredMessage:
    """Wait for the estimate in the thread and press Run batch; returns the status message."""
    status = await wait_reply(slack, thread_ts, "Estimated cost")
    await slack.wait_ack(await click_button(slack, CHANNEL, status.ts, user, "batch_confirm"))
    return status


async def test_slash_command_in_a_thread_runs_the_csv_and_uploads_matched_results(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """/claude-batch takes the newest CSV (shared in a thread), shows rows, model and estimate
    there before anything is submitted; Run batch submits 3 batches; the results CSV (rows
    matched by custom_id though the fake returns them shuffled) is uploaded into that thread
    with the summary, and the ledger records the cost as feature `batch`."""
    await start(bot_factory)
    await share_csv(slack, "id,title\n1,old\n", name="old.csv")
    root = (await slack.user_message(CHANNEL, USER, "Tickets of the week")).ts
    await share_csv(slack, thread_ts=root)
    await run_command(slack, "Classify {title}")
    status = await wait_reply(slack, root, "Estimated cost")
    assert "50 rows" in shown(status)
    assert HAIKU in shown(status)
    assert claude.batches.batches == {}
    await confirm(slack, root)
    upload = await wait_upload(slack, root)
    assert "finished. 50 rows: 50 succeeded · cost $" in upload.text
    rows = await result_rows(slack, upload)
    assert rows[0] == ["id", "title", "answer", "error"]
    assert rows[1:] == [
        [str(n), f"ticket {n}", f"Answer {n}: Classify ticket {n}", ""] for n in range(1, ROWS + 1)
    ]
    assert len(claude.batches.batches) == 3
    records = await batch_records(redis_url, slack.ids.team_id)
    assert len(records) == 3
    assert {(r["user"], r["channel"], r["model"]) for r in records} == {(USER, CHANNEL, HAIKU)}
    cost = sum(int(r["cost_nanos"]) for r in records) / 1e9
    assert f"cost ${cost:,.4f}" in upload.text
    await slack.wait_for(lambda: "50 succeeded" in shown(status))  # the status shows it too


async def test_bad_input_gets_a_clear_message_and_nothing_is_submitted(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """No CSV yet, a template naming a missing column, a CSV without rows: each gets an
    ephemeral message saying what is wrong; no estimate is posted, no batch is created."""
    await start(bot_factory)
    await run_command(slack, "Classify {title}")
    await share_csv(slack)
    await run_command(slack, "Summarise {body}")
    await share_csv(slack, "title\n", name="empty.csv")
    await run_command(slack, "Classify {title}")
    await slack.wait_for(lambda: len(slack.ephemerals) == 3)
    first, second, third = (e.text for e in slack.ephemerals)
    assert "found no CSV file" in first
    assert "`{body}`, which the file does not have" in second
    assert "`{title}`" in second
    assert "header but no rows" in third
    assert all(not m.bot_id for m in slack.messages(CHANNEL))
    assert claude.batches.batches == {}


async def test_cancel_by_the_owner_only_then_retry_the_failed_rows(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """While the batch runs, a stranger's Cancel is refused (privately) and changes nothing;
    the owner's cancels it: the canceled rows come back as such, and Retry runs them again."""
    await start(bot_factory)
    claude.batches.hold()
    thread = await share_csv(slack)
    await run_command(slack, "Classify {title}")
    status = await confirm(slack, thread)
    await wait_reply(slack, thread, "*0 / 50* done")
    await click_button(slack, CHANNEL, status.ts, OTHER_USER, "batch_cancel")
    await slack.wait_for(lambda: any(e.user == OTHER_USER for e in slack.ephemerals))
    assert "Only the person who started this batch" in slack.ephemerals[-1].text
    assert all(b.canceled_at is None for b in claude.batches.batches.values())
    await click_button(slack, CHANNEL, status.ts, USER, "batch_cancel")
    upload = await wait_upload(slack, thread)
    assert "canceled. 50 rows: 50 canceled" in upload.text
    assert all(b.canceled_at is not None for b in claude.batches.batches.values())
    claude.batches.release()
    done = await wait_reply(slack, thread, "Retry 50 failed rows")
    await click_button(slack, CHANNEL, done.ts, USER, "batch_retry")
    second = await wait_upload(slack, thread, count=2)
    assert "finished. 50 rows: 50 succeeded" in second.text
    assert (await result_rows(slack, second))[50][2] == "Answer 50: Classify ticket 50"


async def test_a_restart_while_processing_resumes_and_uploads_once(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude, redis_url: str
) -> None:
    """The bot stops while the batches run; a new process on the same Redis picks the job up
    and finishes it: one upload, one ledger entry per batch, results read once."""
    first = await start(bot_factory)
    claude.batches.hold()
    thread = await share_csv(slack)
    await run_command(slack, "Classify {title}")
    await confirm(slack, thread)
    await wait_reply(slack, thread, "*0 / 50* done")
    assert await first.stop() == 0
    claude.batches.release()
    second = await start(bot_factory)
    upload = await wait_upload(slack, thread)
    assert "50 succeeded" in upload.text
    await asyncio.sleep(1.5)  # a few more poll rounds: nothing else may happen
    assert len(uploads(slack, thread)) == 1
    assert len(slack.calls_to("files.completeUploadExternal")) == 1
    assert sorted(claude.batches.results_served) == sorted(claude.batches.batches)
    assert len(await batch_records(redis_url, slack.ids.team_id)) == 3
    assert [e["event"] for e in first.log_events() if e.get("event") == "batch.finished"] == []
    await second.wait_for_log("batch.finished")


async def test_two_replicas_one_poller_edits_the_status(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """Two bot processes share Redis: only the leader polls, so the progress edits come from
    one process, never go backwards, and the file is uploaded once."""
    one, two = await start(bot_factory), await start(bot_factory)
    claude.batches.processing_seconds = 2.0  # progress grows over two seconds
    thread = await share_csv(slack)
    await run_command(slack, "Classify {title}")
    status = await confirm(slack, thread)
    await wait_upload(slack, thread)
    await asyncio.sleep(1.0)
    assert len(uploads(slack, thread)) == 1
    pollers = [
        b for b in (one, two) if any(e.get("event") == "batch.progress" for e in b.log_events())
    ]
    assert len(pollers) == 1
    finished = [
        b for b in (one, two) if any(e.get("event") == "batch.finished" for e in b.log_events())
    ]
    assert finished == pollers
    counts = done_counts(status)
    assert len(counts) >= 2
    assert counts == sorted(counts)


async def test_mention_form_runs_the_attached_csv_in_its_thread(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """ "@Claude batch: <template>" with a CSV attached works like the command, in the mention's
    thread, without a chat turn; a later batch mention in that thread finds the person's CSV
    (not the bot's results file) and a bad template there is answered privately."""
    await start(bot_factory)
    file = slack.add_file({"name": "tickets.csv", "mimetype": "text/csv", "filetype": "csv"}, CSV)
    root = (
        await slack.user_message(
            CHANNEL, USER, f"<@{slack.ids.bot_user_id}> batch: Classify {{title}}", files=[file]
        )
    ).ts
    await confirm(slack, root)
    upload = await wait_upload(slack, root)
    assert "50 succeeded" in upload.text
    assert (await result_rows(slack, upload))[7][2] == "Answer 7: Classify ticket 7"
    await mention(slack, CHANNEL, USER, "Batch: Rate {answer}", thread_ts=root)
    await slack.wait_for(lambda: len(slack.ephemerals) == 1)
    assert "`{answer}`, which the file does not have" in slack.ephemerals[0].text
    assert slack.ephemerals[0].thread_ts == root
    assert claude.message_requests() == []


async def test_only_the_invokers_own_csv_is_ever_picked(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """/claude-batch runs on the newest CSV the person running it shared: Bob's newer CSVs (top
    level, and in a more recently active thread) are passed over; in a thread where only Bob
    shared one, "@Claude batch:" says it found none of theirs. The prompt's `<!channel>` is
    shown, defused, in the estimate."""
    await start(bot_factory)
    mine = await share_csv(slack)
    bobs = await share_csv(slack, "id,title\n1,salary\n", name="bob.csv", user=OTHER_USER)
    await share_csv(slack, "id,title\n1,x\n", name="bob2.csv", user=OTHER_USER, thread_ts=bobs)
    await run_command(slack, "Classify {title} for <!channel>")
    status = await wait_reply(slack, mine, "Estimated cost")
    assert "`tickets.csv`*: 50 rows" in shown(status)
    assert "<!channel>" not in shown(status)
    assert reply_with(slack, bobs, "Estimated cost") is None
    await mention(slack, CHANNEL, USER, "batch: Classify {title}", thread_ts=bobs)
    await slack.wait_for(lambda: len(slack.ephemerals) == 1)
    assert "no CSV file you shared in this thread" in slack.ephemerals[0].text
    assert claude.batches.batches == {}


async def test_a_guest_from_another_organisation_cannot_run_a_batch(
    bot: BotProcess, slack: FakeSlack, claude: FakeClaude
) -> None:
    """In a Slack Connect channel, "@Claude batch: …" by another organisation's user gets the
    polite refusal (BOT_ALLOW_EXTERNAL_USERS off) and nothing is estimated or submitted."""
    slack.add_user("U0GUEST", "gus", team="T0OTHERORG")
    members = {USER, "U0GUEST", slack.ids.bot_user_id}
    slack.add_channel("C0SHARED", "with-partner", members=members, ext_shared=True)
    file = slack.add_file({"name": "t.csv", "mimetype": "text/csv", "filetype": "csv"}, CSV)
    text = f"<@{slack.ids.bot_user_id}> batch: Classify {{title}}"
    await slack.user_message("C0SHARED", "U0GUEST", text, files=[file])
    await slack.wait_for(lambda: len(slack.ephemerals) == 1)
    assert "other organisations" in slack.ephemerals[0].text
    assert [m for m in slack.messages("C0SHARED") if m.bot_id] == []


async def probe_acks_until(slack: FakeSlack, done: Callable[[], bool]) -> list[float]:
    """Until `done`, an empty /ask-haiku (answered on its ack, with no work) every 50 ms: how
    long each waited for its ack, i.e. how long the bot's event loop was busy at worst."""
    latencies: list[float] = []
    deadline = asyncio.get_running_loop().time() + 60
    while not done() and asyncio.get_running_loop().time() < deadline:
        envelope = await slack.slash_command("/ask-haiku", "", user=OTHER_USER, channel=CHANNEL)
        latencies.append((await slack.wait_ack(envelope, timeout=60)).latency_s)
        await asyncio.sleep(0.05)
    return latencies


async def test_a_huge_csv_is_refused_by_its_row_count_without_stalling_the_bot(
    bot_factory: BotFactory, slack: FakeSlack, claude: FakeClaude
) -> None:
    """A 29 MB one-column CSV (2.7 million rows) gets "more than 10,000 rows" privately; it is
    read only that far, off the event loop: commands are acked within a second all along, and
    a question in another thread is answered meanwhile."""
    await start(bot_factory)
    huge = "title\n" + "ticket number 0000\n" * (29 * 1024 * 1024 // 19)
    await share_csv(slack, huge, name="everything.csv")
    claude.enqueue(TextReply("Here is my answer."))
    await run_command(slack, "Classify {title}")
    other = await mention(slack, CHANNEL, OTHER_USER, "a quick question")
    refused = lambda: any("more than 10,000 rows" in e.text for e in slack.ephemerals)  # noqa: E731
    latencies = await probe_acks_until(slack, refused)
    await slack.wait_for(refused, timeout=60)
    await wait_for_final(slack, CHANNEL, other.ts, "Here is my answer.")
    assert max(latencies) < 1.0, f"the event loop was blocked: acks took up to {max(latencies)} s"
    assert "Split it into smaller files" in slack.ephemerals[-1].text
    assert claude.batches.batches == {}
