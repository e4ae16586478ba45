"""From a scripted item to a rendered answer when tools are involved: ToolTurn and RecordedReply,
and any reply that continues a turn whose server calls still wait for their results (those results
open the response, as the API sends them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from testing.fakes.claude_files import FileStore
from testing.fakes.claude_recorded import load
from testing.fakes.claude_recorded import render as render_recorded
from testing.fakes.claude_script import Scripted, TextReply, ToolUseReply
from testing.fakes.claude_script_tools import (
    CallTool,
    Part,
    RecordedReply,
    Say,
    Think,
    ToolTurn,
)
from testing.fakes.claude_sse import Rendered, Renderer, TurnExtras
from testing.fakes.claude_tool_defs import ToolSet
from testing.fakes.claude_tool_turns import ToolState, TurnRunner


def as_tool_turn(item: TextReply | ToolUseReply) -> ToolTurn:
    """A plain reply as parts (pacing and max_tokens cuts are left out)."""
    parts: list[Part] = []
    if isinstance(item, TextReply):
        if item.thinking is not None:
            parts.append(Think(item.thinking))
        parts.append(Say(item.text))
        return ToolTurn(parts, stop_reason=item.stop_reason, chunk_chars=item.chunk_chars)
    if item.text_before:
        parts.append(Say(item.text_before))
    parts.append(CallTool(item.name, item.input, item.tool_use_id))
    return ToolTurn(parts)


@dataclass
class ToolContext:
    """What a tool turn needs from the request and the fake."""

    body: dict[str, Any]
    tools: ToolSet
    waiting: list[dict[str, Any]]  # server calls the history leaves open
    files: FileStore
    state: ToolState


def render_item(renderer: Renderer, item: Scripted, context: ToolContext) -> Rendered:
    """Render any scripted item; raises ScriptError for a script the API could not answer."""
    if isinstance(item, RecordedReply):
        return render_recorded(renderer, load(item.path))
    turn: ToolTurn | None = item if isinstance(item, ToolTurn) else None
    if turn is None and context.waiting and isinstance(item, TextReply | ToolUseReply):
        turn = as_tool_turn(item)
    if turn is None:
        return renderer.render(item)
    runner = TurnRunner(context.body, context.tools, context.files, context.state, context.waiting)
    outcome = runner.run(turn)
    renderer.extras = TurnExtras(
        outcome.searches, outcome.fetches, outcome.container, outcome.result_tokens
    )
    pauses = (turn.tool_seconds, turn.result_seconds)
    rendered = renderer.blocks(outcome.content, outcome.stop_reason, turn.chunk_chars, pauses)
    if outcome.stop_reason == "pause_turn":
        context.state.paused[renderer.message_id] = outcome.content
    return rendered
