"""The memory tool of one answer: Anthropic's client-side memory tool (`memory_20250818`) run over
the scopes this conversation may use — `/memories/channel` (this channel's notes) and
`/memories/you` (the asker's own).

Claude decides what to remember; "@Claude remember that …" and "@Claude forget …" are questions
like any other, answered with this tool. A channel note may be changed or deleted only by the
person who wrote it or an admin (the same rule as /claude-memory's Forget button); anyone may add
one. Each deletion goes to the audit log.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import structlog
from redis.exceptions import RedisError

from bot.conversation.tools import JsonObject, ToolOutput, ToolSpec
from bot.governance.audit import Auditor
from bot.tools.memory import files as ops
from bot.tools.memory.files import Change, Files, Limits
from bot.tools.memory.paths import MemoryPath, MemoryProblem, parse_path
from bot.tools.memory.store import MemoryStore, Scope

log = structlog.get_logger("bot.memory")

TOOL_TYPE = "memory_20250818"
SPEC = ToolSpec(
    name="memory",
    description="Anthropic's memory tool (client side).",
    input_schema={"type": "object"},
    raw={"type": TOOL_TYPE, "name": "memory"},
)
WRITES = frozenset({"create", "str_replace", "insert", "delete", "rename"})
STATUS = {
    "view": "Checking my memory…",
    "create": "Noting that down…",
    "str_replace": "Updating my notes…",
    "insert": "Updating my notes…",
    "delete": "Forgetting…",
    "rename": "Tidying my notes…",
}


@dataclass(frozen=True)
class Offered:
    """The scopes one conversation may use, by folder name, and how to describe them."""

    scopes: Mapping[str, Scope]  # "channel" / "you" -> scope
    where: str  # "this channel" / "this private channel" / "our DMs and private channels"
    asker: str
    admin: bool = False


class MemoryTool:
    """Runs Claude's memory commands for one answer."""

    def __init__(
        self, store: MemoryStore, offered: Offered, limits: Limits, audit: Auditor | None = None
    ) -> None:
        self._store = store
        self._offered = offered
        self._limits = limits
        self._audit = audit

    @property
    def spec(self) -> ToolSpec:
        """The memory tool's definition (an Anthropic-defined type, sent as is)."""
        return SPEC

    def describe(self, tool_input: JsonObject) -> str:
        """What the thread shows while it runs."""
        return STATUS.get(str(tool_input.get("command")), "Checking my memory…")

    async def run(self, tool_input: JsonObject) -> ToolOutput:
        """One command; a problem is an error result Claude reads."""
        command = tool_input.get("command")
        try:
            if command == "view":
                return ToolOutput.text(await self._view(tool_input))
            if command in WRITES:
                return ToolOutput.text(await self._write(str(command), tool_input))
            raise MemoryProblem(
                f"Unknown command {command!r}: use view, create, str_replace, insert, delete or "
                "rename."
            )
        except MemoryProblem as problem:
            return ToolOutput.error(str(problem))
        except RedisError as exc:
            log.warning("memory.unavailable", error=type(exc).__name__)
            return ToolOutput.error("The memory store is unreachable right now; answer without it.")

    def _scope(self, path: MemoryPath) -> Scope:
        scope = self._offered.scopes.get(path.scope or "")
        if scope is None:
            raise MemoryProblem(
                f"{path} is not available in this conversation (memory never moves from a "
                "private conversation into a public one, nor between channels)."
            )
        return scope

    async def _view(self, tool_input: JsonObject) -> str:
        path = parse_path(tool_input.get("path"))
        if path.scope is None:
            return await self._view_root()
        files = await self._store.files(self._scope(path))
        return ops.view(path, files, tool_input.get("view_range"))

    async def _view_root(self) -> str:
        header = (
            "Here're the files and directories up to 2 levels deep in /memories, excluding "
            "hidden items:"
        )
        lines = [header]
        for name, scope in self._offered.scopes.items():
            lines += ops.listing(MemoryPath(name), await self._store.files(scope))
        return "\n".join([*lines, "", self._guide()])

    def _guide(self) -> str:
        names = self._offered.scopes
        parts = []
        if "channel" in names:
            parts.append(
                f"/memories/channel/ is shared with everyone in {self._offered.where}: keep "
                "there what the whole channel would want remembered (decisions, conventions)."
            )
        if "you" in names:
            parts.append(
                f"/memories/you/ is only for <@{self._offered.asker}>, in {self._offered.where}: "
                "their own preferences and facts about them."
            )
        limits = self._limits
        parts.append(
            f"Keep each note short (a file holds at most {limits.file_chars:,} characters, a "
            f"folder {limits.scope_chars:,}); never store secrets, passwords or tokens."
        )
        return "\n".join(parts)

    async def _write(self, command: str, tool_input: JsonObject) -> str:
        if command == "rename":
            path = parse_path(tool_input.get("old_path"))
            new = parse_path(tool_input.get("new_path"))
        else:
            path, new = parse_path(tool_input.get("path")), None
        if path.scope is None:
            raise MemoryProblem("Cannot change the /memories directory itself")
        scope = self._scope(path)
        if new is not None:
            self._scope(new)
        message: list[str] = []

        def edit(files: Files) -> Change:
            change, text = self._apply(command, path, new, files, tool_input)
            self._check_owner(scope, path, files, change)
            ops.check_limits(path, files, change, self._limits)
            message[:] = [text]
            return change

        change = await self._store.change(scope, edit)
        if change.deleted and self._audit is not None:
            for deleted in change.deleted:
                await self._audit.record(
                    scope.team,
                    "memory.forget",
                    self._offered.asker,
                    scope=scope.token,
                    path=deleted,
                    via="claude",
                )
        log.info("memory.changed", command=command, scope=scope.kind, private=scope.private)
        return message[0]

    def _apply(
        self,
        command: str,
        path: MemoryPath,
        new: MemoryPath | None,
        files: Files,
        tool_input: JsonObject,
    ) -> tuple[Change, str]:
        now = time.time()
        if command == "create":
            text = _text(tool_input, "file_text")
            change = ops.create(path, files, text, self._offered.asker, now)
            return change, f"File created successfully at: {path}"
        if command == "str_replace":
            old, replacement = _text(tool_input, "old_str"), _text(tool_input, "new_str")
            return ops.str_replace(path, files, old, replacement, now)
        if command == "insert":
            line = tool_input.get("insert_line")
            if not isinstance(line, int) or isinstance(line, bool):
                raise MemoryProblem("insert_line must be a whole number.")
            text = _text(tool_input, "insert_text")
            return ops.insert(path, files, line, text, now), f"The file {path} has been edited."
        if command == "delete":
            return ops.delete(path, files), f"Successfully deleted {path}"
        if new is None:
            raise MemoryProblem("rename needs old_path and new_path.")
        return ops.rename(path, new, files, now), f"Successfully renamed {path} to {new}"

    def _check_owner(self, scope: Scope, path: MemoryPath, files: Files, change: Change) -> None:
        """A channel note is changed or deleted only by its author or an admin."""
        if scope.kind != "channel" or self._offered.admin:
            return
        touched = set(change.delete) | {p for p in change.put if p in files}
        others = sorted({files[p].by for p in touched if files[p].by != self._offered.asker})
        if others:
            who = ", ".join(f"<@{user}>" for user in others)
            raise MemoryProblem(
                f"{path} holds channel notes written by {who}; only they or an admin can change "
                "or delete them. Add a new note instead, or tell the person asking to ask them "
                "(or to use /claude-memory)."
            )


def _text(tool_input: JsonObject, name: str) -> str:
    value = tool_input.get(name)
    if not isinstance(value, str):
        raise MemoryProblem(f"{name} is required (text).")
    return value
