"""The memory tool's calls (`memory_20250818`), as Claude makes them: one of six commands with
exactly its fields (the installed SDK's BetaMemoryTool20250818*Command types). A scripted
CallTool("memory", …) that Claude could not make is a ScriptError, so a test can't pass on a call
the real model never sends."""

from __future__ import annotations

from typing import Any

MEMORY_TYPE = "memory_20250818"
COMMANDS: dict[str, dict[str, type]] = {
    "view": {"path": str},
    "create": {"path": str, "file_text": str},
    "str_replace": {"path": str, "old_str": str, "new_str": str},
    "insert": {"path": str, "insert_line": int, "insert_text": str},
    "delete": {"path": str},
    "rename": {"old_path": str, "new_path": str},
}
OPTIONAL = {"view": {"view_range"}}


def memory_call_problem(tool_input: dict[str, Any]) -> str | None:
    """What makes this input impossible for the memory tool, or None."""
    command = tool_input.get("command")
    fields = COMMANDS.get(command) if isinstance(command, str) else None
    if fields is None:
        return f"memory: unknown command {command!r}"
    for name, kind in fields.items():
        value = tool_input.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"memory.{command}: {name} must be a {kind.__name__}"
    extra = set(tool_input) - {"command", *fields, *OPTIONAL.get(command, set())}
    if extra:
        return f"memory.{command}: unexpected fields {sorted(extra)}"
    view_range = tool_input.get("view_range")
    if view_range is not None and not (
        isinstance(view_range, list)
        and len(view_range) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) for n in view_range)
    ):
        return "memory.view: view_range must be two integers"
    return None
