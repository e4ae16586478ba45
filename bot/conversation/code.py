"""Code threads (/ask-code): opening the repository, the tool rounds, and the answer's citations.

A code thread's requests carry the repository's context as long-lived system blocks (1-hour
cache) and, for a repository too large to show whole, tools. Each tool round appends the
assistant's tool_use message and a user message with one tool_result per call, so the history
stays valid for the API whatever is stored.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import structlog

from bot.conversation.errors import CodeUnavailable, StorageUnavailable
from bot.conversation.messages import AnswerDone, ChatMessage, ChatRequest, Question, ThreadState
from bot.conversation.ports import CodeRepos, CodeWorkspace, ReplySink, ThreadStore

log = structlog.get_logger("bot.code")

NOT_SET_UP = "Questions about code repositories are not set up on this bot."
LAST_ROUND_NOTE = "(That was the last tool call this answer may make: answer now.)"


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


def code_request(request: ChatRequest, workspace: CodeWorkspace | None) -> ChatRequest:
    """The request with the repository's context and tools."""
    if workspace is None:
        return request
    return dataclasses.replace(
        request, long_lived_system=workspace.system_blocks, tools=workspace.tools
    )


def tool_calls(done: AnswerDone) -> list[dict[str, Any]]:
    """The tool_use blocks of a finished call."""
    content = done.message.get("content") or []
    return [block for block in content if block.get("type") == "tool_use"]


async def run_tools(
    workspace: CodeWorkspace, calls: list[dict[str, Any]], sink: ReplySink, last: bool
) -> ChatMessage:
    """Run each call (showing what it reads) and return the user message of their results."""
    results: list[ChatMessage] = []
    for call in calls:
        tool_input = call.get("input") if isinstance(call.get("input"), dict) else {}
        name = str(call.get("name"))
        await sink.show(status(workspace.describe(name, tool_input or {})))
        text, is_error = await workspace.run_tool(name, tool_input or {})
        log.info("code.tool", tool=name, error=is_error, chars=len(text))
        result: ChatMessage = {"type": "tool_result", "tool_use_id": call["id"], "content": text}
        if is_error:
            result["is_error"] = True
        results.append(result)
    if last:
        results.append({"type": "text", "text": LAST_ROUND_NOTE})
    return {"role": "user", "content": results}


def next_request(request: ChatRequest, exchange: list[ChatMessage], last: bool) -> ChatRequest:
    """The request after a tool round: the exchange appended; tools refused on the last one."""
    return dataclasses.replace(
        request,
        messages=[*request.messages, *exchange[-2:]],
        tool_choice="none" if last else request.tool_choice,
    )


def without_tool_calls(message: ChatMessage) -> ChatMessage:
    """An assistant message stripped of tool_use blocks (a final answer must not ask for tools
    whose results will never be stored)."""
    content = [b for b in message.get("content") or [] if b.get("type") != "tool_use"]
    return {**message, "content": content or [{"type": "text", "text": "(no answer)"}]}


def cited(workspace: CodeWorkspace | None, text: str) -> str:
    """The answer as shown: citations checked and linked, and what was read."""
    if workspace is None:
        return text
    return f"{workspace.cite(text)}\n\n_Read from {workspace.label}._"
