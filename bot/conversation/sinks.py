"""ReplySink decorators: wrap a sink to add text around the final message or observe timing."""

from __future__ import annotations

from bot.conversation.ports import ReplySink


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
