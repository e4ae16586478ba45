"""ReplySink decorators: wrap a sink to add text around the final message or observe timing."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from bot.conversation.errors import ReplyUnavailable
from bot.conversation.messages import ToolActivity
from bot.conversation.ports import Clock, ReplySink

log = structlog.get_logger("bot.turn")


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
    `settle()` must be awaited when the answer is over (it drops a placeholder not yet shown).
    """

    def __init__(self, sink: ReplySink, clock: Clock, delay: float) -> None:
        super().__init__(sink)
        self._clock = clock
        self._delay = delay
        self._status = ""
        self._later: asyncio.Task[None] | None = None
        self._posting = False

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
        """Show the answer so far (the first time, instead of the placeholder)."""
        await self.settle()
        return await self._sink.show(text)

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
