"""The fake world of a run: people, one channel per answer, questions, and Claude's answers."""

from __future__ import annotations

import random
import re
from typing import Any

from bench.spec import AnswerShape
from testing.fakes.claude_server import Scripted, TextReply
from testing.fakes.slack_server import FakeSlack

USERS = 20
WORDS = [
    "the",
    "bot",
    "streams",
    "each",
    "answer",
    "into",
    "its",
    "thread",
    "and",
    "edits",
    "one",
    "message",
    "in",
    "place",
    "while",
    "tokens",
    "arrive",
    "so",
    "people",
    "read",
    "along",
    "as",
    "Claude",
    "writes",
    "a",
    "reply",
    "about",
    "queues",
    "caches",
    "retries",
    "budgets",
    "latency",
    "throughput",
    "and",
    "the",
    "shape",
    "of",
    "a",
    "good",
    "deploy",
    "plan",
    "for",
    "a",
    "small",
    "team",
    "on",
    "call",
]
WARMUP_TOKENS = 20
QUESTION = re.compile(r"bench question (\d+)\b")


def user_id(index: int) -> str:
    """The asker of question `index` (a few people ask in turn)."""
    return f"U0ASK{index % USERS:03d}"


def channel_id(index: int) -> str:
    """Each answer gets its own channel, so chat.postMessage's per-channel limit is not shared."""
    return f"C0BENCH{index:05d}"


def populate(slack: FakeSlack, answers: int) -> None:
    """Add the people and one channel per answer (the bot and all askers are members)."""
    for n in range(min(USERS, answers)):
        slack.add_user(user_id(n), f"asker{n}", f"Asker {n}")
    members = {user_id(n) for n in range(min(USERS, answers))} | {slack.ids.bot_user_id}
    for index in range(answers):
        slack.add_channel(channel_id(index), f"bench-{index:05d}", members=set(members))


def question_text(index: int, bot_user_id: str) -> str:
    """The mention that asks question `index`."""
    return f"<@{bot_user_id}> bench question {index}: how should we plan the deploy?"


def answer_text(index: int, tokens: int) -> str:
    """A deterministic Markdown answer of `tokens` tokens (4 characters a token), in paragraphs."""
    rng = random.Random(index)
    target = tokens * 4
    parts = [f"**Answer {index}.**"]
    length = len(parts[0])
    words_in_paragraph = 0
    while length < target:
        if words_in_paragraph >= 40:
            parts.append("\n\n")
            words_in_paragraph = 0
        else:
            parts.append(" " + rng.choice(WORDS))
            words_in_paragraph += 1
        length += len(parts[-1])
    text = "".join(parts)[:target]
    return text.rstrip() + "." if text[-1].isspace() else text


def question_index(body: dict[str, Any]) -> int | None:
    """Which bench question a Claude request answers (from its last user message)."""
    messages = body.get("messages") or []
    if not messages:
        return None
    match = QUESTION.search(str(messages[-1]))
    return int(match.group(1)) if match else None


class Responder:
    """The fake Claude's default answer: the scripted text for the question asked.

    Questions from `warmup_from` on are warm-up questions and get a short, fast answer."""

    def __init__(self, shape: AnswerShape, warmup_from: int) -> None:
        self.shape = shape
        self.warmup_from = warmup_from
        self.texts: dict[int, str] = {}

    def text(self, index: int) -> str:
        """The answer to question `index` (cached)."""
        if index not in self.texts:
            tokens = WARMUP_TOKENS if index >= self.warmup_from else self.shape.tokens
            self.texts[index] = answer_text(index, tokens)
        return self.texts[index]

    def __call__(self, body: dict[str, Any]) -> Scripted:
        index = question_index(body)
        if index is None:
            return TextReply("This is not a bench question.")
        if index >= self.warmup_from:
            return TextReply(self.text(index))
        return TextReply(
            self.text(index),
            ttft=self.shape.ttft,
            tokens_per_second=self.shape.tokens_per_second,
            chunk_chars=self.shape.chunk_chars,
        )
