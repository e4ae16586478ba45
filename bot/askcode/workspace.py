"""A repository at one commit, planned for the model: the CodeWorkspace the core talks to."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from bot.askcode.citations import render
from bot.askcode.context import (
    Budget,
    Included,
    Mode,
    estimate_tokens,
    tools_blocks,
    whole_blocks,
    whole_included,
)
from bot.askcode.graph import ImportGraph
from bot.askcode.repos import RepoSpec, line_link
from bot.askcode.retrieve import Index, excerpts
from bot.askcode.snapshot import Snapshot
from bot.askcode.tools import TOOL_SPECS, ToolInputError, describe, run_tool

WHOLE_TOKENS = "whole"


class TokenCounter(Protocol):
    """Counts the tokens of system blocks (Claude's token-counting endpoint)."""

    async def count(self, system: list[str]) -> int:
        """Input tokens of a request with these system blocks and a one-word question."""
        ...


@dataclass(frozen=True)
class Plan:
    """How a snapshot goes in front of the model."""

    mode: Mode
    blocks: tuple[str, ...]
    tokens: int  # of the blocks
    counted: bool  # by the token-counting endpoint (else estimated)
    whole_tokens: int  # what the whole repository would take
    listed: int  # files the map lists (tools mode) or files included (whole mode)
    pinned: tuple[str, ...] = ()  # files shown whole in the tools mode's cached blocks
    graph: ImportGraph | None = field(default=None, compare=False, repr=False)  # tools mode


def counts_whole(snapshot: Snapshot, budget: Budget, estimate: int) -> bool:
    """True when the whole repository's tokens are worth counting (not yet counted, and not far
    over the budget)."""
    return WHOLE_TOKENS not in snapshot.tokens and estimate <= 3 * budget.tokens


async def plan(snapshot: Snapshot, budget: Budget, counter: TokenCounter | None) -> Plan:
    """The whole repository when it fits the budget, else the map and the files most others
    import (counts cached per commit). The blocks are rendered in worker threads: a large
    repository takes seconds."""
    whole = await asyncio.to_thread(whole_blocks, snapshot)
    tokens = snapshot.tokens.get(WHOLE_TOKENS)
    counted = tokens is not None
    if tokens is None:
        estimate = estimate_tokens(sum(len(block) for block in whole))
        if counter is not None and counts_whole(snapshot, budget, estimate):
            result = await counter.count(whole)  # -1 when counting failed
            if result > 0:
                tokens = snapshot.tokens[WHOLE_TOKENS] = result
                counted = True
        tokens = estimate if tokens is None else tokens
    if tokens <= budget.tokens:
        return Plan(Mode.WHOLE, tuple(whole), tokens, counted, tokens, len(snapshot.files))
    del whole
    graph = await asyncio.to_thread(ImportGraph.build, snapshot.files)
    blocks, listed, pinned = await asyncio.to_thread(tools_blocks, snapshot, budget, graph)
    map_tokens = estimate_tokens(sum(len(block) for block in blocks))
    return Plan(Mode.TOOLS, tuple(blocks), map_tokens, False, tokens, listed, pinned, graph)


@dataclass
class RepoWorkspace:
    """What the core needs for one code turn (see bot.conversation.ports.CodeWorkspace)."""

    spec: RepoSpec
    snapshot: Snapshot
    plan: Plan
    budget: Budget
    max_tool_rounds: int = 8
    _index: Index | None = field(default=None, repr=False)  # built with the plan (tools mode)

    @property
    def repo(self) -> str:
        """The repository's configured name."""
        return self.spec.name

    @property
    def commit(self) -> str:
        """The full commit id read."""
        return self.snapshot.commit

    @property
    def label(self) -> str:
        """E.g. "`api` at `1a2b3c4d5e`"."""
        return f"`{self.spec.name}` at `{self.snapshot.short}`"

    @property
    def system_blocks(self) -> tuple[str, ...]:
        """The planned blocks (byte-stable for the commit)."""
        return self.plan.blocks

    @property
    def tools(self) -> tuple[dict[str, Any], ...]:
        """The code tools in the tools mode; none when the repository is whole."""
        return TOOL_SPECS if self.plan.mode is Mode.TOOLS else ()

    @cached_property
    def index(self) -> Index:
        """The search index of the snapshot (the service's, else built on first use)."""
        return self._index or Index.build(self.snapshot, self.plan.graph)

    def picked(self, question: str) -> tuple[str, list[Included]]:
        """The files picked for a question and what they include (none in the whole mode;
        none of those already shown whole in the cached blocks)."""
        if self.plan.mode is Mode.WHOLE:
            return "", []
        pinned = frozenset(self.plan.pinned)
        return excerpts(self.index, question, self.budget.question_chars, pinned)

    async def excerpts(self, question: str) -> str:
        """The excerpts text for a question (ranked in a worker thread)."""
        if self.plan.mode is Mode.WHOLE:
            return ""
        return (await asyncio.to_thread(self.picked, question))[0]

    def included(self, question: str) -> list[Included]:
        """Every file and line range in front of the model before any tool call."""
        if self.plan.mode is Mode.WHOLE:
            return whole_included(self.snapshot)
        by_path = self.snapshot.by_path
        pinned = [Included(p, 1, max(by_path[p].line_count, 1)) for p in self.plan.pinned]
        return pinned + self.picked(question)[1]

    def describe(self, name: str, tool_input: dict[str, Any]) -> str:
        """The status line while a tool runs."""
        return describe(name, tool_input)

    async def run_tool(self, name: str, tool_input: dict[str, Any]) -> tuple[str, bool]:
        """Run a code tool off the event loop; bad input comes back as an error result."""
        try:
            return await asyncio.to_thread(run_tool, self.snapshot, name, tool_input), False
        except ToolInputError as exc:
            return f"Error: {exc}", True

    def cite(self, text: str) -> str:
        """Citations checked against the snapshot and linked to the exact commit."""

        def link(path: str, start: int, end: int) -> str | None:
            return line_link(self.spec.link_base, self.snapshot.commit, path, start, end)

        return render(self.snapshot, text, link)[0]
