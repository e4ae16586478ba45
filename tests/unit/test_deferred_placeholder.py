"""The placeholder held back for the answer's first text (bot/conversation/sinks.py)."""

from __future__ import annotations

import asyncio

from bot.conversation.sinks import DeferredPlaceholder
from tests.unit.test_turn import RecordingSink


class ManualClock:
    """Sleepers wake only when the test moves time past their deadline."""

    def __init__(self) -> None:
        self.t = 0.0
        self._moved = asyncio.Event()

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        until = self.t + seconds
        while self.t < until:
            self._moved.clear()
            await self._moved.wait()

    async def advance(self, seconds: float) -> None:
        for _ in range(5):
            await asyncio.sleep(0)  # sleepers started just now compute their deadline first
        self.t += seconds
        self._moved.set()
        for _ in range(5):
            await asyncio.sleep(0)


async def test_text_within_the_delay_is_the_first_message() -> None:
    """The first text comes before the delay: no placeholder is ever shown."""
    inner, clock = RecordingSink(), ManualClock()
    sink = DeferredPlaceholder(inner, clock, 1.0)
    await sink.start("_Thinking…_")
    await clock.advance(0.5)
    await sink.show("Hello")
    await clock.advance(2.0)
    await sink.finish("Hello there")
    await sink.settle()
    assert inner.events == [("show", "Hello"), ("finish", "Hello there")]


async def test_the_placeholder_shows_after_the_delay_with_the_newest_status() -> None:
    """No text within the delay: the placeholder appears then, with the latest status given."""
    inner, clock = RecordingSink(), ManualClock()
    sink = DeferredPlaceholder(inner, clock, 1.0)
    await sink.start("_Thinking…_")
    await sink.start("_Reading the thread…_")
    assert sink.shown == "_Reading the thread…_"
    await clock.advance(1.0)
    await sink.show("Hi")
    await sink.finish("Hi!")
    assert inner.events == [("start", "_Reading the thread…_"), ("show", "Hi"), ("finish", "Hi!")]


async def test_no_delay_or_something_already_shown_starts_at_once() -> None:
    """A zero delay, or a sink already showing something (a "waiting" placeholder), starts
    immediately, as the undecorated sink would."""
    inner, clock = RecordingSink(), ManualClock()
    await DeferredPlaceholder(inner, clock, 0.0).start("_Thinking…_")
    assert inner.events == [("start", "_Thinking…_")]
    queued = RecordingSink(events=[("start", "_Waiting…_")])
    await DeferredPlaceholder(queued, clock, 1.0).start("_Thinking…_")
    assert queued.events[-1] == ("start", "_Thinking…_")


async def test_settle_drops_a_placeholder_never_needed() -> None:
    """An answer over before the delay (cancelled, say) leaves no late placeholder behind."""
    inner, clock = RecordingSink(), ManualClock()
    sink = DeferredPlaceholder(inner, clock, 1.0)
    await sink.start("_Thinking…_")
    await sink.settle()
    await clock.advance(5.0)
    assert inner.events == []


async def test_an_unreachable_channel_found_late_is_logged_not_raised() -> None:
    """The held-back placeholder meets a closed channel: nothing escapes the background task."""
    inner, clock = RecordingSink(unavailable=True), ManualClock()
    sink = DeferredPlaceholder(inner, clock, 1.0)
    await sink.start("_Thinking…_")
    await clock.advance(1.0)
    await sink.settle()
    assert inner.events == []


async def test_a_busy_budget_holds_the_first_message_for_the_first_words() -> None:
    """With the edit budget low, the first message waits for ten whole words (asking again soon)
    rather than going out with one and leaving the rest to an edit that may be long in
    coming; with the budget not low, the first text goes out at once."""
    ten = "one two three four five six seven eight nine ten e"

    async def busy() -> bool:
        return True

    async def idle() -> bool:
        return False

    inner, clock = RecordingSink(), ManualClock()
    sink = DeferredPlaceholder(inner, clock, 1.0, busy=busy)
    await sink.start("_Thinking…_")
    assert await sink.show("one") > 0
    assert await sink.show("one two three") > 0
    assert await sink.show(ten) == 0
    assert inner.events == [("show", ten)]

    inner, clock = RecordingSink(), ManualClock()
    sink = DeferredPlaceholder(inner, clock, 1.0, busy=idle)
    await sink.start("_Thinking…_")
    assert await sink.show("one") == 0
    assert inner.events == [("show", "one")]


async def test_a_held_first_message_goes_out_when_the_delay_has_passed() -> None:
    """A slow answer is held no longer than the placeholder delay: then what there is shows."""

    async def busy() -> bool:
        return True

    inner, clock = RecordingSink(), ManualClock()
    sink = DeferredPlaceholder(inner, clock, 1.0, busy=busy)
    await sink.start("_Thinking…_")
    assert await sink.show("one") > 0
    await clock.advance(1.0)
    assert await sink.show("one two") == 0
    await sink.finish("one two three.")
    await sink.settle()
    assert inner.events == [("show", "one two"), ("finish", "one two three.")]
