"""Metrics taken at the edges: a ChatModel wrapper counting Claude's errors by kind."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from bot.conversation.errors import ChatFailure
from bot.conversation.messages import AnswerEvent, ChatRequest
from bot.conversation.ports import ChatModel
from bot.metrics.registry import BotMetrics


class MeteredChatModel:
    """A ChatModel that counts each failed call (after the adapter's own retries) by kind."""

    def __init__(self, inner: ChatModel, metrics: BotMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def stream(self, request: ChatRequest) -> AsyncGenerator[AnswerEvent, None]:
        """The inner model's events; a ChatFailure is counted and raised again."""
        try:
            async for event in self._inner.stream(request):
                yield event
        except ChatFailure as failure:
            self._metrics.observe_error(failure.kind.value, request.model)
            raise
