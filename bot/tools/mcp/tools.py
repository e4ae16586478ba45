"""An MCP server's tool as a client tool of the agent loop (`bot.conversation.tools.Tool`)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog
from mcp_types import Tool as McpToolDef

from bot.conversation.tools import JsonObject, ToolOutput, ToolSpec
from bot.tools.mcp.client import ServerConnection
from bot.tools.mcp.faults import CallError
from bot.tools.mcp.results import to_output

log = structlog.get_logger("bot.tools.mcp")

MAX_DESCRIPTION_CHARS = 10_000  # a server cannot fill the prompt with one description


def tool_spec(name: str, tool: McpToolDef, *, preapproved: bool) -> ToolSpec:
    """What Claude is told about the MCP tool, under the name `name`.

    A tool not annotated read-only (`readOnlyHint`) changes things: it runs only after the
    person who asked approves, unless the server's config pre-approves it."""
    description = tool.description or tool.title or (tool.annotations and tool.annotations.title)
    schema = dict(tool.input_schema)
    schema.setdefault("type", "object")
    read_only = bool(tool.annotations and tool.annotations.read_only_hint)
    return ToolSpec(
        name=name,
        description=(description or f"The {tool.name} tool.")[:MAX_DESCRIPTION_CHARS],
        input_schema=schema,
        changes_things=not read_only and not preapproved,
        counted_as="MCP call",
    )


@dataclass(frozen=True)
class McpTool:
    """One tool of one MCP server; calls go through the server's shared session."""

    spec: ToolSpec
    tool: McpToolDef
    connection: ServerConnection
    max_result_chars: int

    @property
    def server(self) -> str:
        """The server's name in the config."""
        return self.connection.name

    def describe(self, tool_input: JsonObject) -> str:
        """What the thread shows while it runs: "Using tickets › Look up a ticket…"."""
        title = self.tool.title or (self.tool.annotations and self.tool.annotations.title)
        return f"Using {self.server} › {title or self.tool.name}…"

    async def run(self, tool_input: JsonObject) -> ToolOutput:
        """Call the tool; a fault is an error result Claude can read, never an exception."""
        started = time.monotonic()
        try:
            result = await self.connection.call(self.tool.name, dict(tool_input))
        except CallError as exc:
            log.info("mcp.call_failed", server=self.server, tool=self.tool.name, kind=exc.kind)
            return ToolOutput.error(str(exc))
        log.info(
            "mcp.call",
            server=self.server,
            tool=self.tool.name,
            is_error=result.is_error,
            ms=round((time.monotonic() - started) * 1000),
        )
        return to_output(result, max_chars=self.max_result_chars)
