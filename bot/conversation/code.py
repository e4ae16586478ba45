"""Code threads (/ask-code) as an answer kit: the repository opened and remembered in the thread,
its context as long-lived system blocks (1-hour cache), excerpts for the question, its tools
(for a repository too large to show whole; run by the agent loop like any tool) and the answer's
citations checked and linked.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from bot.conversation.errors import CodeUnavailable, StorageUnavailable
from bot.conversation.kit import AnswerKit
from bot.conversation.messages import ChatMessage, Question, ThreadState
from bot.conversation.ports import CodeRepos, CodeWorkspace, ReplySink, ThreadStore
from bot.conversation.tools import JsonObject, ToolOutput, ToolSpec

log = structlog.get_logger("bot.code")

NOT_SET_UP = "Questions about code repositories are not set up on this bot."


def code_target(question: Question, state: ThreadState) -> tuple[str, str | None] | None:
    """(repository, pinned commit) when the question is about code, else None. A new /ask-code
    question reads the latest commit; a follow-up in its thread keeps the thread's commit."""
    if question.code_repo is not None:
        if state.mode == "code" and state.repo == question.code_repo:
            return question.code_repo, state.commit
        return question.code_repo, None
    if state.mode == "code" and state.repo:
        return state.repo, state.commit
    return None


def status(text: str) -> str:
    """A progress line as the placeholder shows it."""
    return f"_{text}_"


async def open_workspace(
    target: tuple[str, str | None],
    repos: CodeRepos | None,
    store: ThreadStore,
    question: Question,
    sink: ReplySink,
) -> CodeWorkspace | str:
    """The workspace, remembered in the thread's meta; or the message telling why not."""
    if repos is None:
        return NOT_SET_UP

    async def progress(text: str) -> None:
        await sink.show(status(text))

    repo, commit = target
    try:
        workspace = await repos.open(repo, commit, progress)
    except CodeUnavailable as exc:
        log.info("code.unavailable", repo=repo, reason=str(exc))
        return str(exc)
    try:
        await store.set_code(question.key, workspace.repo, workspace.commit)
    except StorageUnavailable:
        log.warning("code.meta_not_stored")
    return workspace


def with_excerpts(user_turn: ChatMessage, excerpts: str) -> ChatMessage:
    """The user turn with the question's excerpts as its first block."""
    if not excerpts:
        return user_turn
    return {**user_turn, "content": [{"type": "text", "text": excerpts}, *user_turn["content"]]}


@dataclass(frozen=True)
class WorkspaceTool:
    """One of the repository's tools (search_code, list_files, read_file) as a client Tool."""

    workspace: CodeWorkspace
    definition: ChatMessage

    @property
    def spec(self) -> ToolSpec:
        """Its definition; reading a snapshot changes nothing."""
        d = self.definition
        return ToolSpec(str(d["name"]), str(d.get("description", "")), d["input_schema"])

    def describe(self, tool_input: JsonObject) -> str:
        """What it reads, e.g. "Searching for `retry`…"."""
        return self.workspace.describe(self.spec.name, tool_input)

    async def run(self, tool_input: JsonObject) -> ToolOutput:
        """Run it over the snapshot; bad input is an error result."""
        text, is_error = await self.workspace.run_tool(self.spec.name, tool_input)
        log.info("code.tool", tool=self.spec.name, error=is_error, chars=len(text))
        return ToolOutput.text(text, is_error=is_error)


async def code_kit(
    question: Question,
    state: ThreadState,
    repos: CodeRepos | None,
    store: ThreadStore,
    sink: ReplySink,
) -> AnswerKit | str | None:
    """A code thread's kit — the repository's context, its tools, excerpts for the question,
    citations checked and linked — or the message saying why it can't be opened; None when the
    question is not about code."""
    target = code_target(question, state)
    if target is None:
        return None
    workspace = await open_workspace(target, repos, store, question, sink)
    if isinstance(workspace, str):
        return workspace
    return AnswerKit(
        tools=tuple(WorkspaceTool(workspace, d) for d in workspace.tools),
        long_lived_system=workspace.system_blocks,
        preamble=await workspace.excerpts(question.text),
        max_rounds=workspace.max_tool_rounds,
        finish=lambda text: cited(workspace, text),
        server_tools=False,  # the repository is the source: no web in code threads
    )


def cited(workspace: CodeWorkspace, text: str) -> str:
    """The answer as shown: citations checked and linked, and what was read."""
    return f"{workspace.cite(text)}\n\n_Read from {workspace.label}._"
