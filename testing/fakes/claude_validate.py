"""Validation of a Messages (or count_tokens) request body, with the real API's 400 wording.

Wording checked against public samples of the API's answers: "Extra inputs are not permitted",
"Field required", the max_tokens cap, `temperature: range: 0..1`, "`temperature` is deprecated
for this model.", the temperature/top_p exclusivity, the thinking budget messages, the
model-specific thinking and tool_choice messages (Sonnet 5.5 migration guide), "adaptive thinking
is not supported on this model". Made up here (no sample found): the max_tokens 0 combinations,
effort on a model without it.
"""

from __future__ import annotations

from typing import Any

from testing.fakes.claude_errors import ApiError, invalid
from testing.fakes.claude_models import ModelRules, is_known, rules_for
from testing.fakes.claude_tool_defs import ToolSet, check_tools
from testing.fakes.claude_tool_history import validate_tool_history
from testing.fakes.claude_validate_messages import (
    check_cache_control,
    check_text,
    validate_messages,
)

_COMMON_FIELDS = frozenset(
    {"model", "messages", "system", "tools", "tool_choice", "thinking", "cache_control"}
    | {"output_config", "speed", "mcp_servers"}
)
MESSAGE_FIELDS = _COMMON_FIELDS | {
    "max_tokens",
    "stream",
    "metadata",
    "stop_sequences",
    "service_tier",
    "inference_geo",
    "container",
    "diagnostics",
    "temperature",
    "top_p",
    "top_k",
}
COUNT_FIELDS = _COMMON_FIELDS
THINKING_TYPES = ("adaptive", "disabled", "enabled", "between_tools")
_BUDGET_DOCS = (
    "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
    "#max-tokens-and-context-window-size"
)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _field(body: dict[str, Any], name: str, kind: type, label: str) -> Any:
    if name not in body:
        raise invalid(f"{name}: Field required")
    value = body[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise invalid(f"{name}: Input should be a valid {label}")
    return value


def _check_fields(body: dict[str, Any], allowed: frozenset[str]) -> None:
    for key in body:
        if key not in allowed:
            raise invalid(f"{key}: Extra inputs are not permitted")


def _check_max_tokens(body: dict[str, Any], model: str, rules: ModelRules) -> int:
    max_tokens: int = _field(body, "max_tokens", int, "integer")
    if max_tokens < 0:
        raise invalid("max_tokens: Input should be greater than or equal to 0")
    if max_tokens > rules.max_output:
        raise invalid(
            f"max_tokens: {max_tokens} > {rules.max_output}, which is the maximum allowed "
            f"number of output tokens for {model}"
        )
    if "stream" in body and not isinstance(body["stream"], bool):
        raise invalid("stream: Input should be a valid boolean")
    return max_tokens


def _check_sampling_types(body: dict[str, Any]) -> None:
    for name in ("temperature", "top_p"):
        if name in body and not _is_number(body[name]):
            raise invalid(f"{name}: Input should be a valid number")
    if "top_k" in body and not _is_int(body["top_k"]):
        raise invalid("top_k: Input should be a valid integer")


def _check_sampling(body: dict[str, Any], rules: ModelRules) -> None:
    _check_sampling_types(body)
    if rules.sampling_locked:
        if "temperature" in body and body["temperature"] != 1:
            raise invalid("`temperature` is deprecated for this model.")
        if "top_p" in body and body["top_p"] != 0.99:
            raise invalid("`top_p` is deprecated for this model.")
        if "top_k" in body:
            raise invalid("`top_k` is deprecated for this model.")
    for name in ("temperature", "top_p"):
        if name in body and not 0 <= body[name] <= 1:
            raise invalid(f"{name}: range: 0..1")
    if "top_k" in body and body["top_k"] < 0:
        raise invalid("top_k: Input should be greater than or equal to 0")
    if rules.sampling_exclusive and "temperature" in body and "top_p" in body:
        raise invalid(
            "`temperature` and `top_p` cannot both be specified for this model. "
            "Please use only one."
        )
    thinking = body.get("thinking")
    enabled = isinstance(thinking, dict) and thinking.get("type") == "enabled"
    if enabled and body.get("temperature", 1) != 1:
        raise invalid("`temperature` may only be set to 1 when thinking is enabled")


def _check_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise invalid("system: Input should be a valid list")
    for i, block in enumerate(system):
        where = f"system.{i}"
        if not isinstance(block, dict) or block.get("type") != "text":
            raise invalid(f"{where}.type: Input should be 'text'")
        for key in block:
            if key not in ("type", "text", "cache_control", "citations"):
                raise invalid(f"{where}.{key}: Extra inputs are not permitted")
        check_text(block, where)
        if "cache_control" in block:
            check_cache_control(block["cache_control"], f"{where}.cache_control")


def _thinking_type(body: dict[str, Any]) -> str | None:
    thinking = body.get("thinking")
    return str(thinking.get("type")) if isinstance(thinking, dict) else None


def _check_tool_choice(body: dict[str, Any], rules: ModelRules, tool_names: list[str]) -> None:
    choice = body.get("tool_choice")
    if choice is None:
        return
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind not in ("auto", "any", "tool", "none"):
        raise invalid(
            f"tool_choice: Input tag '{kind}' found using 'type' does not match any of the "
            "expected tags: 'auto', 'any', 'tool', 'none'"
        )
    if not tool_names and kind != "none":
        raise invalid("tool_choice: tool_choice may only be specified while providing tools.")
    if kind == "tool" and not isinstance(choice.get("name"), str):
        raise invalid("tool_choice.tool.name: Field required")
    forced = kind in ("any", "tool")
    if forced and not rules.forced_tool_choice:
        raise invalid('tool_choice: type "tool" and "any" are not supported for this model.')
    if forced and _thinking_type(body) == "enabled":
        raise invalid("Thinking may not be enabled when tool_choice forces tool use.")


def _unsupported_thinking(kind: str, rules: ModelRules) -> ApiError:
    if kind == "adaptive":
        return invalid("adaptive thinking is not supported on this model")
    if kind == "disabled" and "between_tools" in rules.thinking_types:
        return invalid(
            'To turn thinking off on this model, send "thinking": {"type": "between_tools"} '
            'instead of {"type": "disabled"}. The model does not think before responding. The '
            "short updates it writes between tool calls come back as thinking blocks."
        )
    return invalid(
        f'"thinking.type.{kind}" is not supported for this model. Use "thinking.type.adaptive" '
        'and "output_config.effort" to control thinking behavior.'
    )


def _check_budget(thinking: dict[str, Any], max_tokens: int | None) -> None:
    budget = thinking.get("budget_tokens")
    if budget is None:
        raise invalid("thinking.enabled.budget_tokens: Field required")
    if not _is_int(budget):
        raise invalid("thinking.enabled.budget_tokens: Input should be a valid integer")
    if budget < 1024:
        raise invalid(
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
        )
    if max_tokens is not None and max_tokens != 0 and max_tokens <= budget:
        raise invalid(
            "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
            f"documentation at {_BUDGET_DOCS}"
        )


def _check_thinking(body: dict[str, Any], rules: ModelRules, max_tokens: int | None) -> None:
    thinking = body.get("thinking")
    if thinking is None:
        return
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if not isinstance(thinking, dict) or kind not in THINKING_TYPES:
        raise invalid(
            f"thinking: Input tag '{kind}' found using 'type' does not match any of the "
            "expected tags: 'adaptive', 'disabled', 'enabled'"
        )
    if kind not in rules.thinking_types:
        raise _unsupported_thinking(kind, rules)
    allowed = {"enabled": ("budget_tokens", "display"), "adaptive": ("display",)}.get(kind, ())
    for key in thinking:
        if key != "type" and key not in allowed:
            raise invalid(f"thinking.{kind}.{key}: Extra inputs are not permitted")
    if kind == "enabled":
        _check_budget(thinking, max_tokens)


def _one_of(values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return " or ".join(quoted.rsplit(", ", 1))


def _check_effort(body: dict[str, Any], rules: ModelRules) -> None:
    config = body.get("output_config")
    if config is None:
        return
    if not isinstance(config, dict):
        raise invalid("output_config: Input should be a valid dictionary")
    if "effort" not in config:
        return
    if not rules.efforts:
        raise invalid("output_config.effort: This model does not support the effort parameter.")
    if config["effort"] not in rules.efforts:
        raise invalid(f"output_config.effort: Input should be {_one_of(rules.efforts)}")


def _check_misc(body: dict[str, Any]) -> None:
    stops = body.get("stop_sequences")
    if stops is not None and not (
        isinstance(stops, list) and all(isinstance(s, str) for s in stops)
    ):
        raise invalid("stop_sequences: Input should be a valid list")
    metadata = body.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise invalid("metadata: Input should be a valid dictionary")
        for key in metadata:
            if key != "user_id":
                raise invalid(f"metadata.{key}: Extra inputs are not permitted")
    if "cache_control" in body and body["cache_control"] is not None:
        check_cache_control(body["cache_control"], "cache_control")


def _check_prewarm(body: dict[str, Any]) -> None:
    """`max_tokens: 0` (cache pre-warming) excludes anything that implies output."""
    if body.get("stream") is True:
        raise invalid("max_tokens: 0 is not allowed with `stream: true`")
    if _thinking_type(body) == "enabled":
        raise invalid('max_tokens: 0 is not allowed with thinking.type "enabled"')
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        raise invalid("max_tokens: 0 is not allowed with a forced tool_choice")
    config = body.get("output_config")
    if isinstance(config, dict) and "format" in config:
        raise invalid("max_tokens: 0 is not allowed with output_config.format")


def _check_shape(body: Any, counting: bool) -> tuple[str, list[Any]]:
    if not isinstance(body, dict):
        raise invalid("Input should be a valid dictionary")
    _check_fields(body, COUNT_FIELDS if counting else MESSAGE_FIELDS)
    model: str = _field(body, "model", str, "string")
    if not counting:
        _field(body, "max_tokens", int, "integer")
    messages: list[Any] = _field(body, "messages", list, "list")
    if not messages:
        raise invalid("messages: at least one message is required")
    return model, messages


def request_tools(
    body: dict[str, Any], rules: ModelRules, betas: frozenset[str]
) -> tuple[ToolSet, list[dict[str, Any]]]:
    """The request's tools, and the server tool calls its history leaves waiting for results."""
    tools = check_tools(body, rules, betas, str(body.get("model")))
    return tools, validate_tool_history(body["messages"], tools)


def validate_request(
    body: Any,
    *,
    counting: bool,
    known_models: set[str] | None,
    betas: frozenset[str] = frozenset(),
) -> tuple[str, ModelRules]:
    """Check a request body; returns its model and that model's rules, or raises ApiError.
    `betas`: the request's `anthropic-beta` values (the MCP connector needs one)."""
    model, messages = _check_shape(body, counting)
    if not is_known(model, known_models):
        raise ApiError(404, "not_found_error", f"model: {model}")
    rules = rules_for(model)
    max_tokens = None if counting else _check_max_tokens(body, model, rules)
    _check_sampling(body, rules)
    _check_system(body.get("system"))
    tools = check_tools(body, rules, betas, model)
    _check_thinking(body, rules, max_tokens)
    _check_tool_choice(body, rules, tools.names)
    _check_effort(body, rules)
    _check_misc(body)
    validate_messages(messages, rules)
    validate_tool_history(messages, tools)
    if max_tokens == 0:
        _check_prewarm(body)
    return model, rules
