"""ReplySink decorators: wrap a sink to add text around the final message or observe timing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

from bot.conversation.errors import ReplyUnavailable
from bot.conversation.messages import ToolActivity
from bot.conversation.ports import Clock, ReplySink
from bot.conversation.throttle import is_young

log = structlog.get_logger("bot.turn")

HOLD_POLL_SECONDS = 0.05  # a held first message looks at the newest text this often


class SinkDecorator:
    """Passes everything through to the wrapped sink; subclasses override what they change."""

    def __init__(self, sink: ReplySink) -> None:
        self._sink = sink

    @property
    def shown(self) -> str:
        """The text most recently shown."""
        return self._sink.shown

    async def start(self, status: str) -> None:
        """Show a placeholder with a status line at once."""
        await self._sink.start(status)

    async def show(self, text: str) -> float:
        """Show the answer so far (0, or the seconds until it could be shown)."""
        return await self._sink.show(text)

    async def finish(self, text: str) -> None:
        """Show the final text."""
        await self._sink.finish(text)

    async def activity(self, activity: ToolActivity, text: str) -> bool:
        """Show a tool call the wrapped sink's own way, if it has one."""
        return await self._sink.activity(activity, text)


class FramedSink(SinkDecorator):
    """Adds fixed text above and/or below the final message (notices, warnings)."""

    def __init__(self, sink: ReplySink, *, above: str = "", below: str = "") -> None:
        super().__init__(sink)
        self._above = above
        self._below = below

    async def finish(self, text: str) -> None:
        """Show the final text between the added lines."""
        await self._sink.finish(
            "\n\n".join(part for part in (self._above, text, self._below) if part)
        )


class DeferredPlaceholder(SinkDecorator):
    """Holds the placeholder back for a moment: when the answer's first text (or its final
    text) comes within `delay`, the first message shows it straight away and no edit is spent
    turning a placeholder into text; otherwise the placeholder appears after `delay`.

    Edits are the scarce call (one budget for the whole workspace); posting a message is not.
    So when the edit budget is low (`busy`), the first message also waits, up to `delay` after
    the first text, for the answer's first words (FIRST_WORDS): the next edit may be long in
    coming, and the first message should carry what there is to read.
    `settle()` must be awaited when the answer is over (it drops a placeholder not yet shown).
    """

    def __init__(
        self,
        sink: ReplySink,
        clock: Clock,
        delay: float,
        *,
        busy: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        super().__init__(sink)
        self._clock = clock
        self._delay = delay
        self._busy = busy
        self._status = ""
        self._later: asyncio.Task[None] | None = None
        self._posting = False
        self._hold_until: float | None = None  # set at the first text: held until then

    @property
    def shown(self) -> str:
        """The text most recently shown, or the placeholder about to be."""
        return self._sink.shown or self._status

    async def start(self, status: str) -> None:
        """Show the placeholder after the delay, unless text comes first (at once when
        something is already shown, e.g. a "waiting" placeholder)."""
        if self._later is not None and not self._posting:
            self._status = status  # still held back: the newest status shows when it does
            return
        if self._delay <= 0 or self._sink.shown or self._later is not None:
            await self.settle()
            await self._sink.start(status)
            return
        self._status = status
        self._later = asyncio.create_task(self._post_later(), name="placeholder")

    async def show(self, text: str) -> float:
        """Show the answer so far (the first time, instead of the placeholder); while the
        first message is held for more words, the seconds until it is worth asking again."""
        await self.settle()
        if self._hold_until is None:
            self._hold_until = await self._first_hold(text)
        wait = self._hold_until - self._clock.now()
        if wait > 0 and is_young(text):
            return min(wait, HOLD_POLL_SECONDS)
        self._hold_until = float("-inf")
        return await self._sink.show(text)

    async def _first_hold(self, text: str) -> float:
        """Until when the first message waits for more words: not at all when something is
        shown already or the edit budget is not low."""
        if self._busy is None or self._delay <= 0 or self._sink.shown:
            return float("-inf")
        if not is_young(text) or not await self._busy():
            return float("-inf")
        return self._clock.now() + self._delay

    async def finish(self, text: str) -> None:
        """Show the final text (the first message, if no placeholder was shown yet)."""
        await self.settle()
        await self._sink.finish(text)

    async def activity(self, activity: ToolActivity, text: str) -> bool:
        """A tool call: the placeholder is dropped (what shows next says what runs)."""
        await self.settle()
        return await self._sink.activity(activity, text)

    async def settle(self) -> None:
        """Drop the placeholder if it is still held back; wait for it if it is being shown."""
        later, self._later = self._later, None
        if later is None:
            return
        if self._posting:
            with contextlib.suppress(ReplyUnavailable):
                await later
            return
        later.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await later

    async def _post_later(self) -> None:
        await self._clock.sleep(self._delay)
        self._posting = True
        try:
            await self._sink.start(self._status)
        except ReplyUnavailable as exc:
            log.warning("turn.cannot_reply", reason=str(exc))
