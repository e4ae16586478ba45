"""The coalescing policy for streamed edits, on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from bot.conversation.errors import ReplyUnavailable
from bot.conversation.throttle import Coalescer, EditPolicy, is_young, next_publish_at


class FakeClock:
    """A clock that only moves when a sleeper asks it to."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds
        await asyncio.sleep(0)


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def test_next_publish_at() -> None:
    """The first publish is due at once; later ones one interval after the last shown, and not
    before the sink said a skipped one could go out."""
    assert next_publish_at(None, 1.0, None) == float("-inf")
    assert next_publish_at(5.0, 1.0, None) == 6.0
    assert next_publish_at(5.0, 1.0, 6.3) == 6.3
    assert next_publish_at(5.0, 1.0, 5.5) == 6.0


async def test_first_text_is_published_at_once_then_coalesced() -> None:
    """The first delta shows at once; a burst of deltas becomes one edit with the latest text."""
    clock = FakeClock()
    published: list[tuple[float, str]] = []

    async def publish(text: str) -> float:
        published.append((clock.now(), text))
        return 0.0

    coalescer = Coalescer(publish, clock, EditPolicy("time", interval=1.0))
    await coalescer.push("a")
    await _settle()
    for text in ("ab", "abc", "abcd"):
        await coalescer.push(text)
    await _settle()
    await coalescer.close()
    assert published == [(0.0, "a"), (1.0, "abcd")]


async def test_close_drops_a_pending_edit() -> None:
    """Closing while an edit waits for its turn cancels it (the final text comes next anyway)."""
    published: list[str] = []

    async def publish(text: str) -> float:
        published.append(text)
        return 0.0

    never = asyncio.Event()

    class StuckClock(FakeClock):
        async def sleep(self, seconds: float) -> None:
            await never.wait()

    coalescer = Coalescer(publish, StuckClock(), EditPolicy("time", interval=1.0))
    await coalescer.push("a")
    await _settle()
    await coalescer.push("ab")
    await _settle()
    await asyncio.wait_for(coalescer.close(), 1)
    assert published == ["a"]


async def test_close_waits_for_an_edit_in_flight() -> None:
    """An edit already being sent finishes before close returns (so the final edit is last)."""
    clock = FakeClock()
    release = asyncio.Event()
    finished: list[str] = []

    async def publish(text: str) -> float:
        await release.wait()
        finished.append(text)
        return 0.0

    coalescer = Coalescer(publish, clock, EditPolicy("time", interval=1.0))
    await coalescer.push("a")
    await _settle()
    closing = asyncio.create_task(coalescer.close())
    await _settle()
    assert not closing.done()
    release.set()
    await asyncio.wait_for(closing, 1)
    assert finished == ["a"]


async def test_every_n_policy_publishes_inline_in_order() -> None:
    """The baseline policy publishes every n-th delta, in order, without coalescing."""
    published: list[str] = []

    async def publish(text: str) -> float:
        published.append(text)
        return 0.0

    coalescer = Coalescer(publish, FakeClock(), EditPolicy("every_n", every=2))
    for text in ("a", "ab", "abc", "abcd", "abcde"):
        await coalescer.push(text)
    await coalescer.close()
    assert published == ["ab", "abcd"]


def test_policy_from_setting() -> None:
    """BOT_EDIT_POLICY names map to policies."""
    assert EditPolicy.from_setting("time", 0.5) == EditPolicy("time", interval=0.5)
    assert EditPolicy.from_setting("every_delta", 1.0) == EditPolicy("every_n", every=1)
    assert EditPolicy.from_setting("every_20_deltas", 1.0) == EditPolicy("every_n", every=20)


async def test_a_skipped_publish_is_retried_when_the_sink_says_it_can_go_out() -> None:
    """The sink skips an edit (no budget) and says one is due in 0.2 s: the latest text goes out
    then, not a whole interval later, and without waiting for another delta."""
    clock = FakeClock()
    attempts: list[tuple[float, str]] = []
    skips = [0.0, 0.2, 0.0]  # shown, skipped (a token in 0.2 s), shown

    async def publish(text: str) -> float:
        attempts.append((round(clock.now(), 3), text))
        return skips.pop(0) if skips else 0.0

    coalescer = Coalescer(publish, clock, EditPolicy("time", interval=1.0))
    await coalescer.push("a")
    await _settle()
    await coalescer.push("ab")
    await _settle()
    await _settle()
    await coalescer.close()
    assert attempts == [(0.0, "a"), (1.0, "ab"), (1.2, "ab")]


async def test_a_publish_that_cannot_ever_show_stops_the_stream() -> None:
    """The sink says nothing can be shown (ReplyUnavailable) in the background publish: the next
    push raises it, so the caller stops reading the model."""

    async def publish(text: str) -> float:
        raise ReplyUnavailable("not_in_channel")

    coalescer = Coalescer(publish, FakeClock(), EditPolicy("time", interval=1.0))
    await coalescer.push("a")
    await _settle()
    with pytest.raises(ReplyUnavailable):
        await coalescer.push("ab")


async def test_a_young_answer_is_edited_sooner_until_its_first_words_show() -> None:
    """While fewer than ten words are shown the interval is the short one; after that the
    usual one (so the first words follow the first post quickly, for an edit or two more)."""
    clock = FakeClock()
    published: list[tuple[float, str]] = []

    async def publish(text: str) -> float:
        published.append((clock.now(), text))
        return 0.0

    policy = EditPolicy("time", interval=1.0, young_interval=0.25)
    coalescer = Coalescer(publish, clock, policy)
    words: list[str] = []
    for n in range(1, 16):
        words.append(f"w{n}")
        await coalescer.push(" ".join(words))
        await _settle()
    await coalescer.close()
    times = [at for at, _ in published]
    assert times[:3] == [0.0, 0.25, 0.5], published
    assert policy.interval_after("_Thinking… 3 s_") == 0.25
    assert policy.interval_after(" ".join(words)) == 1.0


async def test_a_rendered_text_is_made_only_when_published() -> None:
    """With `render`, deltas only mark the text changed: it is built once per publish."""
    clock = FakeClock()
    renders: list[int] = []
    state = {"n": 0}

    def render() -> str:
        renders.append(state["n"])
        return f"text {state['n']}"

    async def publish(text: str) -> float:
        return 0.0

    coalescer = Coalescer(publish, clock, EditPolicy("time", interval=1.0), render=render)
    for n in range(50):
        state["n"] = n
        await coalescer.changed()
    await _settle()
    await coalescer.close()
    assert coalescer.published_text == "text 49"
    assert len(renders) <= 2


def test_an_answer_is_young_until_its_tenth_word_is_whole() -> None:
    """Ten words shown make an answer old only once the tenth is followed by whitespace (a
    streamed word may be cut mid-way); a status alone shows no words."""
    nine = " ".join(f"w{n}" for n in range(1, 10))
    assert is_young(nine + " wo")
    assert is_young(nine + " w10")
    assert not is_young(nine + " w10 ")
    assert not is_young(nine + " w10 w")
    assert is_young("_Thinking… 3 s_")
