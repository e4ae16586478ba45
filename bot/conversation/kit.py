"""What one answer may use beyond the conversation: tools, long-lived context, a preamble to the
question, and how its final text is finished (citations, sources).

A kit is put together per question from the tool providers (MCP servers, Slack search, …), the
server tools the model may use, and — in a code thread — the repository's workspace.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from bot.conversation.messages import Question
from bot.conversation.tools import JsonObject, Tool, ToolProvider

log = structlog.get_logger("bot.kit")


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class AnswerKit:
    """The tools and context of one answer."""

    tools: tuple[Tool, ...] = ()
    long_lived_system: tuple[str, ...] = ()  # e.g. a repository's map (1-hour cache)
    preamble: str = ""  # put before the question in the user turn (e.g. code excerpts)
    max_rounds: int | None = None  # None: the bot's setting
    finish: Callable[[str], str] = field(default=_same)  # the final text as shown
    server_tools: bool = True  # offer the configured server tools (off in code threads)

    def with_tools(self, more: Sequence[Tool]) -> AnswerKit:
        """This kit with more tools; a name already taken keeps its first tool."""
        taken = {tool.spec.name for tool in self.tools}
        extra = tuple(tool for tool in more if tool.spec.name not in taken)
        return AnswerKit(
            (*self.tools, *extra),
            self.long_lived_system,
            self.preamble,
            self.max_rounds,
            self.finish,
            self.server_tools,
        )

    def tool_definitions(self, server: tuple[JsonObject, ...] = ()) -> tuple[JsonObject, ...]:
        """The request's `tools`: the client tools in the kit's order (a code thread's own, then
        the providers' sorted by name), then the server tools — byte-stable from call to call,
        so the prompt cache keeps hitting."""
        client = tuple(tool.spec.definition() for tool in self.tools)
        return (*client, *(server if self.server_tools else ()))

    def by_name(self) -> dict[str, Tool]:
        """The client tools by the name Claude calls them."""
        return {tool.spec.name: tool for tool in self.tools}


class ServerTools(Protocol):
    """The Anthropic-run tools (web search, web fetch, code execution) a model may use."""

    def for_model(self, model_id: str) -> tuple[JsonObject, ...]:
        """Their definitions for this model (the newest versions it supports); none if off."""
        ...


class NoServerTools:
    """No server tools (BOT_TOOLS empty)."""

    def for_model(self, model_id: str) -> tuple[JsonObject, ...]:
        """None."""
        return ()


async def provided_tools(providers: Sequence[ToolProvider], question: Question) -> list[Tool]:
    """Every provider's tools for this question, sorted by name; a provider that fails offers
    none (logged)."""
    tools: list[Tool] = []
    for provider in providers:
        try:
            tools += await provider.tools_for(question)
        except Exception as exc:  # one provider's trouble must not stop the answer
            log.warning(
                "tools.provider_failed", provider=type(provider).__name__, error=type(exc).__name__
            )
    return sorted(tools, key=lambda tool: tool.spec.name)
