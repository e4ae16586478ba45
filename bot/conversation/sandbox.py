"""Code execution's sandbox seen from the core: a thread keeps one container while it lasts,
shared files go into it when code execution is on, and the files code execution made in an
answer are brought back into the thread (through the ResultFiles port) before its final text,
which names any that could not be.

Where the files appear (Claude docs, "Code execution tool", Response format): a bash result's
`content` lists a `bash_code_execution_output` {file_id} per file the command left in
$OUTPUT_DIR; the legacy and programmatic `code_execution_tool_result` lists
`code_execution_output` {file_id} the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bot.conversation.messages import ChatMessage, Question, ThreadState
from bot.conversation.ports import ReplySink, ResultFiles

CODE_RESULTS = frozenset({"bash_code_execution_tool_result", "code_execution_tool_result"})
OUTPUTS = frozenset({"bash_code_execution_output", "code_execution_output"})
NOTE_MARK = ":card_index_dividers:"


def offers_code_execution(tools: Iterable[dict[str, Any]]) -> bool:
    """Whether these tool definitions include Anthropic's code execution."""
    return any(str(tool.get("type", "")).startswith("code_execution_") for tool in tools)


def container_to_reuse(
    state: ThreadState, tools: Sequence[dict[str, Any]], now: float
) -> str | None:
    """The thread's container, when the request offers code execution and the container has not
    expired (`now`: wall-clock seconds since the epoch); None: the API makes a new one."""
    container = state.container
    if container is None or not container.usable(now) or not offers_code_execution(tools):
        return None
    return container.id


def output_file_ids(messages: Iterable[ChatMessage]) -> list[str]:
    """The ids of the files code execution made, in the order it made them, each once."""
    found: dict[str, None] = {}
    for message in messages:
        for block in message.get("content") or []:
            if not isinstance(block, dict) or block.get("type") not in CODE_RESULTS:
                continue
            result = block.get("content")
            outputs = result.get("content") if isinstance(result, dict) else None
            for output in outputs if isinstance(outputs, list) else []:
                file_id = output.get("file_id") if isinstance(output, dict) else None
                if output.get("type") in OUTPUTS and isinstance(file_id, str) and file_id:
                    found[file_id] = None
    return list(found)


def to_container(question: Question, state: ThreadState, tools: Sequence[dict[str, Any]]) -> bool:
    """Whether the question's data files go to code execution's container: code execution is
    offered and the thread is not an /ask-code thread (which offers no server tools)."""
    code_thread = question.code_repo is not None or state.mode == "code"
    return bool(question.files) and not code_thread and offers_code_execution(tools)


def bringing_back(count: int) -> str:
    """The status while files come back, e.g. "_Bringing back 2 files…_"."""
    return f"_Bringing back {'a file' if count == 1 else f'{count} files'}…_"


async def bring_back_files(
    question: Question,
    messages: Sequence[ChatMessage],
    shown: str,
    sink: ReplySink,
    files: ResultFiles,
) -> list[str]:
    """Post the files code execution made in these messages into the thread, under the answer
    (its text so far shown first, with a status line); a sentence for each not brought back."""
    made = output_file_ids(messages)
    if not made:
        return []
    await sink.show(
        f"{shown}\n\n{bringing_back(len(made))}" if shown.strip() else bringing_back(len(made))
    )
    return await files.bring_back(question, made)


def with_file_notes(body: str, notes: Sequence[str]) -> str:
    """The answer with a line for each file code execution made that could not be brought
    back into the thread."""
    if not notes:
        return body
    lines = "\n".join(f"{NOTE_MARK} {note}" for note in notes)
    return f"{body}\n\n{lines}"
