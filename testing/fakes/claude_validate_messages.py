"""Validation of `messages`: roles, content blocks, mid-conversation system messages, tool_use /
tool_result pairing and prefill, with the real API's 400 wording where it is known.

Wording checked against public reports of the API's answers: empty text blocks, non-empty content,
`Unexpected role "system"`, the two tool pairing messages and the prefill message (Claude docs,
Sonnet 5.5 migration guide). Wording made up here (no public sample found): block types in the
wrong role, tool_result after other content, system-message placement, duplicate tool_use ids.
"""

from __future__ import annotations

from typing import Any

from testing.fakes.claude_errors import ApiError, invalid
from testing.fakes.claude_models import ModelRules

USER_BLOCKS = frozenset(
    {"text", "image", "document", "tool_result", "search_result", "container_upload"}
)
ASSISTANT_BLOCKS = frozenset(
    {
        "text",
        "tool_use",
        "thinking",
        "redacted_thinking",
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "tool_search_tool_result",
        "mcp_tool_use",
        "mcp_tool_result",
        "compaction",
        "container_upload",
    }
)
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_ROLES = ("user", "assistant", "system")
_NOT_CACHEABLE = frozenset({"thinking", "redacted_thinking"})
_RESULT_BLOCKS = ("text", "image", "document", "search_result")
_NON_EMPTY = (
    "all messages must have non-empty content except for the optional final assistant message"
)

Located = tuple[int, int, dict[str, Any]]  # message index, block index, block


def tag_error(where: str, tag: object, expected: tuple[str, ...] = ()) -> ApiError:
    """The API's message for an unknown `type` tag."""
    names = ", ".join(f"'{e}'" for e in expected)
    tail = f": {names}" if names else ""
    return invalid(
        f"{where}: Input tag '{tag}' found using 'type' does not match any of the expected "
        f"tags{tail}"
    )


def check_cache_control(value: Any, where: str) -> None:
    """A `cache_control` object: {"type": "ephemeral", "ttl"?: "5m" | "1h"}."""
    if not isinstance(value, dict):
        raise invalid(f"{where}: Input should be a valid dictionary")
    if value.get("type") != "ephemeral":
        raise invalid(f"{where}.type: Input should be 'ephemeral'")
    if "ttl" in value and value["ttl"] not in ("5m", "1h"):
        raise invalid(f"{where}.ttl: Input should be '5m' or '1h'")
    for key in value:
        if key not in ("type", "ttl"):
            raise invalid(f"{where}.{key}: Extra inputs are not permitted")


def check_text(block: dict[str, Any], where: str) -> None:
    """A text block: non-empty, not only whitespace."""
    text = block.get("text")
    if not isinstance(text, str):
        raise invalid(f"{where}.text: Field required")
    if not text:
        raise invalid(f"{where.split('.')[0]}: text content blocks must be non-empty")
    if not text.strip():
        raise invalid(
            f"{where.split('.')[0]}: text content blocks must contain non-whitespace text"
        )


def _require(block: dict[str, Any], where: str, name: str, kind: type) -> None:
    if name not in block:
        raise invalid(f"{where}.{name}: Field required")
    if not isinstance(block[name], kind):
        raise invalid(f"{where}.{name}: Input should be a valid {kind.__name__}")


def _check_source(block: dict[str, Any], where: str) -> None:
    source = block.get("source")
    if not isinstance(source, dict):
        raise invalid(f"{where}.source: Field required")
    kind, source_type = block["type"], source.get("type")
    allowed = (
        ("base64", "url", "file")
        if kind == "image"
        else ("base64", "text", "url", "content", "file")
    )
    if source_type not in allowed:
        raise tag_error(f"{where}.source", source_type, allowed)
    if source_type == "base64":
        media_types = IMAGE_TYPES if kind == "image" else ("application/pdf",)
        if source.get("media_type") not in media_types:
            expected = ", ".join(f"'{m}'" for m in media_types)
            expected = " or ".join(expected.rsplit(", ", 1))
            raise invalid(f"{where}.source.base64.media_type: Input should be {expected}")
        _require(source, f"{where}.source.base64", "data", str)
    elif source_type == "url":
        _require(source, f"{where}.source.url", "url", str)


def _check_tool_result(block: dict[str, Any], where: str) -> None:
    _require(block, where, "tool_use_id", str)
    content = block.get("content")
    if content is None or isinstance(content, str):
        return
    if not isinstance(content, list):
        raise invalid(f"{where}.content: Input should be a valid string")
    for k, inner in enumerate(content):
        inner_where = f"{where}.content.{k}"
        if not isinstance(inner, dict) or inner.get("type") not in _RESULT_BLOCKS:
            raise tag_error(inner_where, _tag(inner), _RESULT_BLOCKS)
        _check_block_body(inner, inner_where)


def _tag(value: Any) -> str:
    return str(value.get("type")) if isinstance(value, dict) else type(value).__name__


def _check_block_body(block: dict[str, Any], where: str) -> None:
    kind = block["type"]
    if "cache_control" in block:
        if kind in _NOT_CACHEABLE:
            raise invalid(f"{where}.{kind}.cache_control: Extra inputs are not permitted")
        check_cache_control(block["cache_control"], f"{where}.cache_control")
    if kind == "text":
        check_text(block, where)
    elif kind in ("image", "document"):
        _check_source(block, where)
    elif kind == "tool_use":
        _require(block, where, "id", str)
        _require(block, where, "name", str)
        _require(block, where, "input", dict)
    elif kind == "tool_result":
        _check_tool_result(block, where)
    elif kind == "thinking":
        _require(block, where, "thinking", str)
        _require(block, where, "signature", str)
    elif kind == "redacted_thinking":
        _require(block, where, "data", str)
    elif kind == "container_upload":
        _require(block, where, "file_id", str)
        for key in block:
            if key not in ("type", "file_id", "cache_control"):
                raise invalid(f"{where}.container_upload.{key}: Extra inputs are not permitted")


def _check_block(block: Any, role: str, where: str) -> None:
    if not isinstance(block, dict):
        raise invalid(f"{where}: Input should be a valid dictionary")
    kind = block.get("type")
    if kind is None:
        raise invalid(f"{where}.type: Field required")
    if kind not in USER_BLOCKS | ASSISTANT_BLOCKS:
        raise tag_error(where, kind)
    if kind not in (USER_BLOCKS if role == "user" else ASSISTANT_BLOCKS):
        raise invalid(f"{where}: `{kind}` blocks are not allowed in `{role}` messages")
    _check_block_body(block, where)


def _check_content(index: int, role: str, content: Any, is_last: bool) -> None:
    if not isinstance(content, str | list):
        raise invalid(f"messages.{index}.content: Input should be a valid list")
    if not content:
        if role == "assistant" and is_last:
            return
        raise invalid(f"messages.{index}: {_NON_EMPTY}")
    if isinstance(content, list):
        for j, block in enumerate(content):
            _check_block(block, role, f"messages.{index}.content.{j}")


def _check_system_message(messages: list[Any], index: int, rules: ModelRules) -> None:
    if not rules.system_messages:
        raise invalid(
            'messages: Unexpected role "system". The Messages API accepts a top-level `system` '
            'parameter, not "system" as an input message role.'
        )
    content = messages[index].get("content")
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
    if not isinstance(blocks, list) or not blocks:
        raise invalid(f"messages.{index}: {_NON_EMPTY}")
    for j, block in enumerate(blocks):
        where = f"messages.{index}.content.{j}"
        if not isinstance(block, dict) or block.get("type") != "text":
            raise invalid(f"{where}: a system message supports text blocks only")
        if "cache_control" in block:
            raise invalid(
                f"{where}.cache_control: cache_control is not allowed on a system message"
            )
        check_text(block, where)
    if index == 0 or messages[index - 1].get("role") != "user":
        raise invalid(f"messages.{index}: a system message must follow a user message")
    if index + 1 < len(messages) and messages[index + 1].get("role") != "assistant":
        raise invalid(
            f"messages.{index}: a system message must be the last message or be followed by "
            "an assistant message"
        )


def _check_message_shape(messages: list[Any], index: int) -> str:
    message = messages[index]
    if not isinstance(message, dict):
        raise invalid(f"messages.{index}: Input should be a valid dictionary")
    for name in ("role", "content"):
        if name not in message:
            raise invalid(f"messages.{index}.{name}: Field required")
    for key in message:
        if key not in ("role", "content"):
            raise invalid(f"messages.{index}.{key}: Extra inputs are not permitted")
    role = message["role"]
    if role not in _ROLES:
        raise invalid(f"messages.{index}.role: Input should be 'user', 'assistant' or 'system'")
    return str(role)


def merged_turns(messages: list[dict[str, Any]]) -> list[tuple[str, list[Located]]]:
    """Consecutive same-role messages merged (as the API does), system messages left out."""
    turns: list[tuple[str, list[Located]]] = []
    for i, message in enumerate(messages):
        role = message["role"]
        if role == "system":
            continue
        content = message["content"]
        blocks = [(i, j, b) for j, b in enumerate(content)] if isinstance(content, list) else []
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(blocks)
        else:
            turns.append((role, blocks))
    return turns


def _ids(items: list[Located], kind: str, field: str) -> list[tuple[int, int, str]]:
    return [(i, j, str(b.get(field))) for i, j, b in items if b.get("type") == kind]


def _check_answers(turns: list[tuple[str, list[Located]]], t: int) -> None:
    asked = _ids(turns[t][1], "tool_use", "id")
    if not asked:
        return
    follows = turns[t + 1][1] if t + 1 < len(turns) else []
    leading: list[Located] = []  # only the tool_result blocks that open the next message count
    for item in follows:
        if item[2].get("type") != "tool_result":
            break
        leading.append(item)
    answered = {x for _, _, x in _ids(leading, "tool_result", "tool_use_id")}
    missing = [(i, x) for i, _, x in asked if x not in answered]
    if missing:
        raise invalid(
            f"messages.{missing[0][0]}: `tool_use` ids were found without `tool_result` blocks "
            f"immediately after: {', '.join(x for _, x in missing)}. Each `tool_use` block must "
            "have a corresponding `tool_result` block in the next message."
        )


def _check_results(turns: list[tuple[str, list[Located]]], t: int) -> None:
    asked = {x for _, _, x in _ids(turns[t - 1][1], "tool_use", "id")} if t > 0 else set()
    seen_other = False
    for i, j, block in turns[t][1]:
        if block.get("type") != "tool_result":
            seen_other = True
            continue
        tool_use_id = block.get("tool_use_id")
        if tool_use_id not in asked:
            raise invalid(
                f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` "
                f"blocks: {tool_use_id}. Each `tool_result` block must have a corresponding "
                "`tool_use` block in the previous message."
            )
        if seen_other:
            raise invalid(
                f"messages.{i}.content.{j}: `tool_result` blocks must come first in the user "
                "message, before any other content"
            )


def _check_pairing(messages: list[dict[str, Any]]) -> None:
    turns = merged_turns(messages)
    all_ids = [x for _, items in turns for _, _, x in _ids(items, "tool_use", "id")]
    if len(all_ids) != len(set(all_ids)):
        raise invalid("messages: `tool_use` ids must be unique")
    for t, (role, _) in enumerate(turns):
        if role == "assistant":
            _check_answers(turns, t)
        else:
            _check_results(turns, t)


def _server_loop(messages: list[dict[str, Any]]) -> bool:
    """The final assistant turn is a server-tool turn (a pause_turn continuation), not prefill."""
    role, blocks = merged_turns(messages)[-1]
    calls = ("server_tool_use", "mcp_tool_use")
    return role == "assistant" and any(b.get("type") in calls for _, _, b in blocks)


def validate_messages(messages: list[Any], rules: ModelRules) -> None:
    """Every rule on `messages` (the list itself is known to be a non-empty list)."""
    for index in range(len(messages)):
        role = _check_message_shape(messages, index)
        if role == "system":
            _check_system_message(messages, index, rules)
        else:
            is_last = index == len(messages) - 1
            _check_content(index, role, messages[index]["content"], is_last)
    _check_pairing(messages)
    if messages[-1]["role"] == "assistant" and not rules.prefill and not _server_loop(messages):
        raise invalid(
            "This model does not support assistant message prefill. The conversation must end "
            "with a user message."
        )
