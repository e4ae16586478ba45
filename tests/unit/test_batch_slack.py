"""The batch feature's pure Slack parts: which CSV a job takes, in which thread, and which
mentions are batch requests."""

from __future__ import annotations

from typing import Any

import pytest

from bot.slack.handlers.batch_csv import active_threads, is_csv, newest_csv
from bot.slack.handlers.inbound import batch_template, is_batch_mention

BOT = "U0BOT"
CSV_FILE = {"id": "F1", "name": "a.csv", "filetype": "csv"}


def message(ts: str, *, files: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"ts": ts, "user": "U1", "files": files or [], **extra}


def test_is_csv_by_type_name_or_mimetype() -> None:
    """A CSV is recognised by its Slack filetype, its name or its MIME type; a PDF is not."""
    assert is_csv({"filetype": "csv"})
    assert is_csv({"name": "Report.CSV"})
    assert is_csv({"mimetype": "text/csv"})
    assert not is_csv({"name": "a.pdf", "filetype": "pdf", "mimetype": "application/pdf"})


def test_newest_csv_picks_the_owners_latest_and_nobody_elses() -> None:
    """The owner's newest message with a CSV wins whatever the order; a reply's thread is its
    root, a top-level message is its own thread; a newer CSV from someone else, and files the
    bot uploaded, are passed over."""
    messages = [
        message("40.0", files=[{"id": "F8", "name": "theirs.csv"}], user="U2"),
        message("30.0", files=[{"id": "F9", "name": "results.csv"}], user=BOT, thread_ts="10.0"),
        message("20.0", files=[CSV_FILE], thread_ts="10.0"),
        message("25.0", files=[{"id": "F2", "name": "b.png"}]),
        message("5.0", files=[{"id": "F3", "name": "old.csv"}]),
    ]
    found = newest_csv(messages, owner="U1")
    assert found is not None
    assert (found.file["id"], found.ts, found.thread_ts) == ("F1", "20.0", "10.0")
    top = newest_csv([message("5.0", files=[{"id": "F3", "name": "old.csv"}])], owner="U1")
    assert top is not None
    assert top.thread_ts == "5.0"
    assert newest_csv([message("1.0")], owner="U1") is None
    assert newest_csv(messages, owner="U3") is None


def test_active_threads_newest_activity_first_and_only_newer_ones() -> None:
    """Threads are looked into newest activity first, and only when their last reply is newer
    than the best CSV found at top level."""
    messages = [
        message("1.0", reply_count=2, latest_reply="9.0"),
        message("2.0", reply_count=1, latest_reply="4.0"),
        message("3.0"),
        message("5.0", reply_count=3, latest_reply="12.0"),
    ]
    assert active_threads(messages, newer_than="0") == ["5.0", "1.0", "2.0"]
    assert active_threads(messages, newer_than="8.0") == ["5.0", "1.0"]


@pytest.mark.parametrize(
    ("text", "template"),
    [
        ("batch: Classify {title}", "Classify {title}"),
        ("Batch :Classify {title} ", "Classify {title}"),
        ("batch:", ""),
        ("batch jobs are great", None),
        ("what is a batch: tell me", None),
    ],
)
def test_batch_template_only_for_a_leading_batch_colon(text: str, template: str | None) -> None:
    """Only text starting with "batch:" (any case, spaces allowed) is a batch request."""
    assert batch_template(text) == template


def test_is_batch_mention_strips_the_bots_mention_first() -> None:
    """An app_mention "<@bot> batch: …" is a batch mention; a DM or another text is not."""
    event = {"type": "app_mention", "text": f"<@{BOT}> batch: Classify {{title}}"}
    assert is_batch_mention(event, BOT)
    assert not is_batch_mention({**event, "text": f"<@{BOT}> hello"}, BOT)
    assert not is_batch_mention({**event, "type": "message"}, BOT)
