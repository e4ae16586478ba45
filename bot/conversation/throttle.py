"""How often a streaming answer is shown: coalescing edits by time (or, for baselines, by count)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from bot.conversation.display import is_status
from bot.conversation.ports import Clock

FIRST_WORDS = 10  # an answer showing fewer words is young: its edits come sooner, and first

# Shows text; returns 0 when shown, else the seconds until the text could be shown.
Publish = Callable[[str], Awaitable[float]]


class MonotonicClock:
    """The real clock."""

    def now(self) -> float:
        """Seconds on the monotonic clock."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the event loop."""
        await asyncio.sleep(seconds)


@dataclass(frozen=True)
class EditPolicy:
    """When interim text is published.

    "time": at most one publish per interval, the latest text, the first one at once; a publish
    the sink had to skip (out of budget) is retried as soon as the sink says it could go out.
    While fewer than `young_words` words are shown (a young answer) the interval is
    `young_interval`, so the first words follow the first post quickly; the sink's budget
    still decides whether such an edit can go out.
    "every_n": inline after every n-th delta, in order (the naive baselines).
    """

    kind: Literal["time", "every_n"]
    interval: float = 1.0
    every: int = 1
    young_interval: float | None = None  # None: the interval throughout
    young_words: int = FIRST_WORDS

    @classmethod
    def from_setting(
        cls, name: str, interval: float, young_interval: float | None = None
    ) -> EditPolicy:
        """The policy a BOT_EDIT_POLICY value names."""
        if name == "every_delta":
            return cls("every_n", every=1)
        if name == "every_20_deltas":
            return cls("every_n", every=20)
        return cls("time", interval=interval, young_interval=young_interval)

    def interval_after(self, shown: str) -> float:
        """The interval after publishing `shown`: short while it has few words (pure)."""
        if self.young_interval is None or self.young_interval >= self.interval:
            return self.interval
        return self.young_interval if is_young(shown, self.young_words) else self.interval


def is_young(text: str, words: int = FIRST_WORDS) -> bool:
    """Whether the text shows fewer than `words` whole words of answer, i.e. the answer is young
    (a status alone shows none; the last word counts once whitespace follows it, as a streamed
    word may still be growing; pure, and cheap: it stops counting at `words`)."""
    if is_status(text):
        return True
    parts = text.split(None, words)
    if len(parts) > words:
        return False
    return len(parts) < words or not text[-1:].isspace()


def next_publish_at(last_published: float | None, interval: float, retry_at: float | None) -> float:
    """When the next interim publish may happen (pure): an interval after the last one shown,
    and not before the sink said it could show text again."""
    due = float("-inf") if last_published is None else last_published + interval
    return due if retry_at is None else max(due, retry_at)


class Coalescer:
    """Publishes the latest text of a stream per the policy, never two publishes at once.

    The text is either pushed whole (`push`) or, to spare building it on every delta, made by
    `render` only when a publish goes out (`changed` says there is something new)."""

    def __init__(
        self,
        publish: Publish,
        clock: Clock,
        policy: EditPolicy,
        render: Callable[[], str] | None = None,
    ) -> None:
        self._publish = publish
        self._clock = clock
        self._policy = policy
        self._render = render
        self._latest = ""
        self._published = ""
        self._deltas = 0
        self._last_at: float | None = None  # when text was last shown
        self._interval = policy.interval_after("")
        self._retry_at: float | None = None  # a skipped publish may go out again from then
        self._dirty = asyncio.Event()
        self._closing = False
        self._in_flight = False
        self._worker: asyncio.Task[None] | None = None

    @property
    def published_text(self) -> str:
        """The text most recently published."""
        return self._published

    async def push(self, text: str) -> None:
        """Take the full text so far (called on every delta); raises what stopped publishing
        (the sink's ReplyUnavailable: nothing can be shown, so the stream should end)."""
        self._latest = text
        await self.changed()

    async def changed(self) -> None:
        """The text changed (with `render`: it is made when published); raises like push."""
        worker = self._worker
        if worker is not None and worker.done() and not worker.cancelled():
            failure = worker.exception()
            if failure is not None:
                raise failure
        self._deltas += 1
        if self._policy.kind == "every_n":
            if self._deltas % self._policy.every == 0:
                text = self._text()
                if text != self._published:
                    await self._send(text)
            return
        if self._worker is None:
            self._worker = asyncio.create_task(self._run(), name="coalescer")
        self._dirty.set()

    def _text(self) -> str:
        return self._render() if self._render is not None else self._latest

    async def close(self) -> None:
        """Stop publishing interim text; waits for an edit in flight, drops a pending one."""
        self._closing = True
        if self._worker is None:
            return
        if self._in_flight:
            self._dirty.set()
        else:
            self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker

    async def _run(self) -> None:
        while True:
            await self._dirty.wait()
            if self._closing:
                return
            due = next_publish_at(self._last_at, self._interval, self._retry_at)
            wait = due - self._clock.now()
            if wait > 0:
                await self._clock.sleep(wait)
            self._dirty.clear()
            text = self._text()
            if text != self._published:
                await self._send(text)

    async def _send(self, text: str) -> None:
        started = self._clock.now()
        self._in_flight = True
        try:
            retry_in = await self._publish(text)
        finally:
            self._in_flight = False
        if retry_in > 0 and self._policy.kind == "time":
            self._retry_at = started + retry_in
            self._dirty.set()  # still to show, even if no delta arrives meanwhile
            return
        self._last_at = started
        self._retry_at = None
        self._published = text
        self._interval = self._policy.interval_after(text)
