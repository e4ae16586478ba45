"""Claude's token-counting endpoint, for sizing a repository's context before it is sent."""

from __future__ import annotations

import anthropic


class AnthropicTokenCounter:
    """Counts the input tokens of system blocks with POST /v1/messages/count_tokens."""

    def __init__(self, client: anthropic.AsyncAnthropic, model: str) -> None:
        self._client = client
        self._model = model

    async def count(self, system: list[str]) -> int:
        """Input tokens of a request with these system blocks and a one-word question."""
        result = await self._client.messages.count_tokens(
            model=self._model,
            system=[{"type": "text", "text": text} for text in system],
            messages=[{"role": "user", "content": "?"}],
        )
        return int(result.input_tokens)
