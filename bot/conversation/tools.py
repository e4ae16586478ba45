"""Client tools Claude may call during an answer: the small protocol the agent loop knows.

A provider (the /ask-code repository tools, MCP servers, Slack search, memory, …) is built at the
composition root and hands the loop `Tool`s; the loop runs Claude's `tool_use` calls through them
and sends back one `tool_result` each. Nothing here knows an SDK: a tool's input and output are
plain JSON-shaped values, in Claude's content-block format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.conversation.messages import Question

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class ToolSpec:
    """What Claude is told about a tool (a client tool definition of the Messages API)."""

    name: str  # unique among the tools of one request (MCP tools: "<server>__<tool>")
    description: str
    input_schema: JsonObject
    # A tool that may change something outside the bot runs only after the asker approves it
    # (MCP tools not annotated read-only); reading tools run at once.
    changes_things: bool = False
    counted_as: str = ""  # the footer's noun for its calls ("MCP call"); empty: not counted
    # An Anthropic-defined client tool (e.g. {"type": "memory_20250818", "name": "memory"}) is
    # sent as this definition instead; its description and input_schema are the API's own.
    raw: JsonObject | None = None

    def definition(self) -> JsonObject:
        """The tool as the Messages API's `tools` entry."""
        if self.raw is not None:
            return dict(self.raw)
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": self.input_schema,
        }


@dataclass(frozen=True)
class ToolOutput:
    """A tool's answer: `tool_result` content blocks (text, image), and whether it failed.

    A failure is data for Claude (is_error), not an exception: the answer goes on."""

    content: tuple[JsonObject, ...] = field(default_factory=tuple)
    is_error: bool = False

    @classmethod
    def text(cls, text: str, *, is_error: bool = False) -> ToolOutput:
        """A single text block."""
        return cls(({"type": "text", "text": text},), is_error)

    @classmethod
    def error(cls, text: str) -> ToolOutput:
        """A failure Claude can read."""
        return cls.text(text, is_error=True)


class Tool(Protocol):
    """One tool Claude may call."""

    @property
    def spec(self) -> ToolSpec:
        """Its definition."""
        ...

    def describe(self, tool_input: JsonObject) -> str:
        """What the thread shows while it runs, e.g. "Using tickets › lookup_ticket…"."""
        ...

    async def run(self, tool_input: JsonObject) -> ToolOutput:
        """Run one call. Errors are returned (ToolOutput.error), not raised; the loop adds the
        timeout and the size cap."""
        ...


class ToolProvider(Protocol):
    """A source of tools (MCP servers, Slack search, memory, …), plugged in at the composition
    root. It decides per question what that person may use there (allowlists, profiles, the
    asker's Slack permissions); the loop never offers a tool a provider did not give."""

    async def tools_for(self, question: Question) -> Sequence[Tool]:
        """The tools this question's answer may call (none is a fine answer)."""
        ...


def definitions(tools: Sequence[Tool]) -> list[JsonObject]:
    """The `tools` of a request, sorted by name so the prompt prefix is byte-stable (cache)."""
    return [tool.spec.definition() for tool in sorted(tools, key=lambda t: t.spec.name)]
