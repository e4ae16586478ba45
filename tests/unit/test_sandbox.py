"""Code execution's sandbox in the core (bot/conversation/sandbox.py): which container a turn
reuses, which files code execution made, which files go to its container."""

from __future__ import annotations

from bot.conversation.attachments import for_container
from bot.conversation.messages import Container, FileRef, Question, ThreadKey, ThreadState
from bot.conversation.sandbox import (
    container_to_reuse,
    output_file_ids,
    to_container,
    with_file_notes,
)

CODE = ({"type": "code_execution_20260521", "name": "code_execution"},)
SEARCH = ({"type": "web_search_20260318", "name": "web_search"},)
NOW = 1_800_000_000.0


def _bash(*file_ids: str) -> dict[str, object]:
    outputs = [{"type": "bash_code_execution_output", "file_id": f} for f in file_ids]
    result = {"type": "bash_code_execution_result", "stdout": "", "stderr": "", "return_code": 0}
    return {
        "type": "bash_code_execution_tool_result",
        "tool_use_id": "srvtoolu_1",
        "content": {**result, "content": outputs},
    }


def test_the_threads_container_is_reused_until_it_expires() -> None:
    """A stored container is sent while it has not expired and code execution is offered."""
    state = ThreadState(container=Container("container_1", NOW + 60))
    assert container_to_reuse(state, CODE, NOW) == "container_1"
    assert container_to_reuse(state, CODE, NOW + 61) is None
    assert container_to_reuse(state, SEARCH, NOW) is None
    assert container_to_reuse(ThreadState(), CODE, NOW) is None


def test_output_files_are_found_once_in_order_in_bash_and_legacy_results() -> None:
    """File ids come from bash results and legacy code_execution results, in order, once; error
    results and other blocks are ignored."""
    legacy = {
        "type": "code_execution_tool_result",
        "tool_use_id": "srvtoolu_2",
        "content": {
            "type": "code_execution_result",
            "content": [{"type": "code_execution_output", "file_id": "file_c"}],
        },
    }
    error = {
        "type": "bash_code_execution_tool_result",
        "tool_use_id": "srvtoolu_3",
        "content": {"type": "bash_code_execution_tool_result_error", "error_code": "unavailable"},
    }
    messages = [
        {"role": "assistant", "content": [_bash("file_a", "file_b"), error]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "x"}]},
        {"role": "assistant", "content": [legacy, _bash("file_a"), {"type": "text", "text": "ok"}]},
    ]
    assert output_file_ids(messages) == ["file_a", "file_b", "file_c"]


def test_data_files_go_to_the_container_only_with_code_execution_outside_code_threads() -> None:
    """CSVs, spreadsheets and archives go to the container; images, PDFs and code do not; an
    /ask-code thread and a request without code execution keep reading files inline."""
    csv = FileRef("F1", "sales.csv", "text/csv", "csv")
    assert for_container(csv)
    assert for_container(FileRef("F2", "q3.xlsx", "application/vnd.ms-excel", "xlsx"))
    assert for_container(FileRef("F3", "logs.zip", "application/zip", "zip"))
    assert not for_container(FileRef("F4", "shot.png", "image/png", "png"))
    assert not for_container(FileRef("F5", "spec.pdf", "application/pdf", "pdf"))
    assert not for_container(FileRef("F6", "main.py", "text/x-python", "python"))
    question = Question(ThreadKey("T", "C", "1.0"), "U", "plot", "1.0", False, "1.0", files=(csv,))
    assert to_container(question, ThreadState(), CODE)
    assert not to_container(question, ThreadState(), SEARCH)
    assert not to_container(question, ThreadState(mode="code", repo="api"), CODE)


def test_files_not_brought_back_are_named_under_the_answer() -> None:
    """Each file that could not be brought back adds a line; none: the answer as it was."""
    assert with_file_notes("Done.", []) == "Done."
    assert with_file_notes("Done.", ["I couldn't bring back *a.png*"]).endswith(
        "\n\n:card_index_dividers: I couldn't bring back *a.png*"
    )
