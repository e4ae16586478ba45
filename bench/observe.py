"""What one run looked like from the fakes' records: per-answer timings and Slack calls."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bench.metrics import (
    Delta,
    Edit,
    first_visible,
    first_words,
    squeeze,
    staleness,
    visibility_timeline,
)
from bench.world import question_index
from testing.fakes.claude_server import FakeClaude
from testing.fakes.slack_server import FakeSlack


@dataclass(frozen=True)
class Sent:
    """A question as the bench sent it."""

    index: int
    channel: str
    ts: str  # the question's ts, which is also the answer's thread_ts
    envelope_id: str
    at: float  # monotonic time just before the envelope was pushed


@dataclass
class Trace:
    """One answer's full history, for the plot."""

    sent_at: float
    deltas: list[Delta]
    timeline: list[tuple[float, int]]
    answer_chars: int


@dataclass
class AnswerRecord:
    """How one answer went."""

    index: int
    sent_at: float
    ack_s: float | None
    request_at: float | None  # the fake Claude received the request
    first_delta_at: float | None  # the fake Claude sent the first text
    first_visible_at: float | None  # Slack first showed answer text
    complete: bool  # the whole answer ended up visible
    first_words_s: float | None = None  # Claude wrote its first 10 words -> Slack showed them
    staleness_s: list[float] = field(default_factory=list)
    unseen_deltas: int = 0
    calls: Counter[str] = field(default_factory=Counter)  # chat.* calls in its channel
    rate_limited: Counter[str] = field(default_factory=Counter)
    trace: Trace | None = None


def calls_by_channel(slack: FakeSlack) -> tuple[dict[str, Counter[str]], dict[str, Counter[str]]]:
    """Per channel: calls by method, and 429s by method."""
    calls: dict[str, Counter[str]] = {}
    limited: dict[str, Counter[str]] = {}
    for call in slack.calls:
        channel = str(call.args.get("channel", ""))
        calls.setdefault(channel, Counter())[call.method] += 1
        if call.status == 429:
            limited.setdefault(channel, Counter())[call.method] += 1
    return calls, limited


def claude_streams(claude: FakeClaude) -> dict[int, tuple[float, list[Delta]]]:
    """Per question index: when its (last streamed) request arrived and the deltas sent."""
    streams: dict[int, tuple[float, list[Delta]]] = {}
    for request in claude.message_requests():
        index = question_index(request.body)
        deltas = claude.streams_sent.get(request.request_id)
        if index is not None and request.status == 200 and deltas is not None:
            streams[index] = (request.at, deltas)
    return streams


def observe_answers(
    slack: FakeSlack,
    claude: FakeClaude,
    sent: list[Sent],
    answers: dict[int, str],
    trace_indexes: frozenset[int] = frozenset(),
) -> list[AnswerRecord]:
    """One record per question sent, from what the fakes saw."""
    calls, limited = calls_by_channel(slack)
    streams = claude_streams(claude)
    records: list[AnswerRecord] = []
    for question in sent:
        ack = slack.acks.get(question.envelope_id)
        request_at, deltas = streams.get(question.index, (None, []))
        messages: list[list[Edit]] = [
            list(m.edits) for m in slack.bot_replies(question.channel, question.ts)
        ]
        answer = answers.get(question.index, "")
        timeline = visibility_timeline(messages, answer)
        delays, unseen = staleness(deltas, timeline)
        shown = timeline[-1][1] if timeline else 0
        record = AnswerRecord(
            index=question.index,
            sent_at=question.at,
            ack_s=ack.latency_s if ack is not None else None,
            request_at=request_at,
            first_delta_at=deltas[0][0] if deltas else None,
            first_visible_at=first_visible(timeline),
            complete=bool(answer) and shown >= len(squeeze(answer)),
            staleness_s=delays,
            first_words_s=first_words(deltas, timeline, answer),
            unseen_deltas=unseen,
            calls=calls.get(question.channel, Counter()),
            rate_limited=limited.get(question.channel, Counter()),
        )
        if question.index in trace_indexes:
            record.trace = Trace(question.at, list(deltas), timeline, len(squeeze(answer)))
        records.append(record)
    return records
