"""Validation of the request's `tools` (client tools, Anthropic-defined and server tools, MCP
toolsets) and of `mcp_servers`, with the real API's 400 wording where it is known.

Sources: ../shared/anthropic/server-tools/TOOLS.md and its *_docs.txt excerpts (type strings,
parameters, domain filtering, dynamic filtering needing code_execution_20260120+, the MCP rules),
the installed SDK's *_param.py types (the fields each tool type accepts). Wording checked against
public reports: the unknown-tag message ("tools.1: Input tag 'web_fetch_20250910' found using 'type'
does not match any of the expected tags: ..."), "Tool names must be unique."; made up here (no
sample found): the domain, dynamic-filtering, allowed_callers and MCP messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from testing.fakes.claude_errors import invalid
from testing.fakes.claude_models import ModelRules
from testing.fakes.claude_validate_messages import check_cache_control, tag_error

MCP_BETAS = frozenset({"mcp-client-2025-11-20", "mcp-client-2026-09-15"})
CALLERS = (
    "direct",
    "code_execution_20250825",
    "code_execution_20260120",
    "code_execution_20260521",
)
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_CUSTOM_FIELDS = frozenset(
    {"type", "name", "description", "input_schema", "cache_control", "strict"}
    | {"eager_input_streaming", "input_examples", "defer_loading", "allowed_callers"}
)
_BASE = frozenset({"type", "name", "allowed_callers", "cache_control", "defer_loading", "strict"})
_SEARCH = _BASE | {"max_uses", "allowed_domains", "blocked_domains", "user_location"}
_FETCH = _BASE | {"max_uses", "allowed_domains", "blocked_domains", "citations"}
_FETCH |= {"max_content_tokens", "url_sources"}
_CLIENT = _BASE | {"input_examples"}
_TOOLSET = frozenset({"type", "cache_control", "configs"})
_TOOLSET_FIELDS = _TOOLSET | {"mcp_server_name", "default_config", "tools"}


@dataclass(frozen=True)
class ToolType:
    """One Anthropic-defined tool type: its fixed name, fields, and who runs it."""

    name: str | None  # None: a toolset without a name
    fields: frozenset[str]
    runs_on: str  # "server" | "client"


TOOL_TYPES: dict[str, ToolType] = {
    "web_search_20250305": ToolType("web_search", _SEARCH, "server"),
    "web_search_20260209": ToolType("web_search", _SEARCH, "server"),
    "web_search_20260318": ToolType("web_search", _SEARCH | {"response_inclusion"}, "server"),
    "web_fetch_20250910": ToolType("web_fetch", _FETCH, "server"),
    "web_fetch_20260209": ToolType("web_fetch", _FETCH, "server"),
    "web_fetch_20260309": ToolType("web_fetch", _FETCH | {"use_cache"}, "server"),
    "web_fetch_20260318": ToolType(
        "web_fetch", _FETCH | {"use_cache", "response_inclusion"}, "server"
    ),
    "code_execution_20250522": ToolType("code_execution", _BASE, "server"),
    "code_execution_20250825": ToolType("code_execution", _BASE, "server"),
    "code_execution_20260120": ToolType("code_execution", _BASE, "server"),
    "code_execution_20260521": ToolType("code_execution", _BASE, "server"),
    "tool_search_tool_bm25": ToolType("tool_search_tool_bm25", _BASE, "server"),
    "tool_search_tool_bm25_20251119": ToolType("tool_search_tool_bm25", _BASE, "server"),
    "tool_search_tool_regex": ToolType("tool_search_tool_regex", _BASE, "server"),
    "tool_search_tool_regex_20251119": ToolType("tool_search_tool_regex", _BASE, "server"),
    "bash_20250124": ToolType("bash", _CLIENT, "client"),
    "memory_20250818": ToolType("memory", _CLIENT, "client"),
    "text_editor_20250124": ToolType("str_replace_editor", _CLIENT, "client"),
    "text_editor_20250429": ToolType("str_replace_based_edit_tool", _CLIENT, "client"),
    "text_editor_20250728": ToolType(
        "str_replace_based_edit_tool", _CLIENT | {"max_characters"}, "client"
    ),
    "browser_toolset_20260801": ToolType(None, _TOOLSET, "client"),
    "computer_toolset_20260801": ToolType(None, _TOOLSET, "client"),
}
#: The web tools with dynamic filtering: they call code execution unless allowed_callers says not.
DYNAMIC_WEB_TOOLS = frozenset(
    {"web_search_20260209", "web_search_20260318"}
    | {"web_fetch_20260209", "web_fetch_20260309", "web_fetch_20260318"}
)
_MIN_DYNAMIC_CODE = "code_execution_20260120"


@dataclass
class ToolSet:
    """The request's tools, by name, once validated."""

    client: dict[str, dict[str, Any]] = field(default_factory=dict)  # custom + bash, memory...
    server: dict[str, dict[str, Any]] = field(default_factory=dict)  # web_search, web_fetch...
    mcp_servers: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Every tool name the model may call (MCP tools left out)."""
        return [*self.client, *self.server]

    @property
    def uses_server_tools(self) -> bool:
        """Whether responses report usage.server_tool_use."""
        return bool(self.server or self.mcp_servers)

    def callers(self, name: str) -> list[str]:
        """The effective allowed_callers of a server tool."""
        tool = self.server[name]
        default = ["code_execution_20260120"] if tool["type"] in DYNAMIC_WEB_TOOLS else ["direct"]
        return list(tool.get("allowed_callers") or default)


def _extra(tool: dict[str, Any], where: str, allowed: frozenset[str]) -> None:
    for key in tool:
        if key not in allowed:
            raise invalid(f"{where}.{key}: Extra inputs are not permitted")


def _check_custom(tool: dict[str, Any], where: str) -> str:
    name = tool.get("name")
    if not isinstance(name, str):
        raise invalid(f"{where}.custom.name: Field required")
    if not TOOL_NAME.match(name):
        raise invalid(f"{where}.custom.name: String should match pattern '{TOOL_NAME.pattern}'")
    schema = tool.get("input_schema")
    if not isinstance(schema, dict):
        raise invalid(f"{where}.custom.input_schema: Field required")
    if schema.get("type") != "object":
        raise invalid(f"{where}.custom.input_schema.type: Input should be 'object'")
    _extra(tool, f"{where}.custom", _CUSTOM_FIELDS)
    _check_callers(tool, f"{where}.custom")
    return name


def _check_callers(tool: dict[str, Any], where: str) -> None:
    callers = tool.get("allowed_callers")
    if callers is None:
        return
    if not isinstance(callers, list):
        raise invalid(f"{where}.allowed_callers: Input should be a valid list")
    for k, caller in enumerate(callers):
        if caller not in CALLERS:
            quoted = ", ".join(f"'{c}'" for c in CALLERS)
            expected = " or ".join(quoted.rsplit(", ", 1))
            raise invalid(f"{where}.allowed_callers.{k}: Input should be {expected}")


def _check_positive(tool: dict[str, Any], where: str, name: str) -> None:
    value = tool.get(name)
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid(f"{where}.{name}: Input should be a valid integer")
    if value <= 0:
        raise invalid(f"{where}.{name}: Input should be greater than 0")


def _check_domain(domain: Any, where: str) -> None:
    if not isinstance(domain, str) or not domain:
        raise invalid(f"{where}: Input should be a valid non-empty string")
    if "://" in domain:
        raise invalid(
            f"{where}: Invalid domain '{domain}': domains must not include the HTTP/HTTPS scheme "
            "(use 'example.com' instead of 'https://example.com')"
        )
    host = domain.split("/", 1)[0]
    if "*" in host:
        raise invalid(
            f"{where}: Invalid domain '{domain}': wildcards (*) are only allowed in the path "
            "after the domain, not in the domain itself"
        )


def _check_domains(tool: dict[str, Any], where: str) -> None:
    present = [k for k in ("allowed_domains", "blocked_domains") if tool.get(k) is not None]
    if len(present) == 2:
        raise invalid(
            f"{where}: allowed_domains and blocked_domains cannot be used together; use only one"
        )
    for key in present:
        domains = tool[key]
        if not isinstance(domains, list):
            raise invalid(f"{where}.{key}: Input should be a valid list")
        for k, domain in enumerate(domains):
            _check_domain(domain, f"{where}.{key}.{k}")


def _check_location(tool: dict[str, Any], where: str) -> None:
    location = tool.get("user_location")
    if location is None:
        return
    where = f"{where}.user_location"
    if not isinstance(location, dict):
        raise invalid(f"{where}: Input should be a valid dictionary")
    if location.get("type") != "approximate":
        raise invalid(f"{where}.type: Input should be 'approximate'")
    _extra(location, where, frozenset({"type", "city", "region", "country", "timezone"}))
    for key in ("city", "region", "country", "timezone"):
        value = location.get(key)
        if value is not None and not isinstance(value, str):
            raise invalid(f"{where}.{key}: Input should be a valid string")
    country = location.get("country")
    if isinstance(country, str) and len(country) != 2:
        raise invalid(f"{where}.country: String should have 2 characters (ISO 3166-1 alpha-2)")


def _check_web_params(tool: dict[str, Any], where: str) -> None:
    _check_positive(tool, where, "max_uses")
    _check_positive(tool, where, "max_content_tokens")
    _check_domains(tool, where)
    _check_location(tool, where)
    inclusion = tool.get("response_inclusion")
    if inclusion is not None and inclusion not in ("full", "excluded"):
        raise invalid(f"{where}.response_inclusion: Input should be 'full' or 'excluded'")
    citations = tool.get("citations")
    if citations is not None and not (
        isinstance(citations, dict) and set(citations) <= {"enabled"}
    ):
        raise invalid(f"{where}.citations: Input should be a valid dictionary")
    for flag in ("use_cache", "strict", "defer_loading"):
        if flag in tool and not isinstance(tool[flag], bool):
            raise invalid(f"{where}.{flag}: Input should be a valid boolean")


def _check_typed(tool: dict[str, Any], where: str, kind: str, spec: ToolType) -> str | None:
    where = f"{where}.{kind}"
    if spec.name is not None:
        name = tool.get("name")
        if name is None:
            raise invalid(f"{where}.name: Field required")
        if name != spec.name:
            raise invalid(f"{where}.name: Input should be '{spec.name}'")
    _extra(tool, where, spec.fields)
    _check_callers(tool, where)
    _check_web_params(tool, where)
    return spec.name


def _expected_tags(betas: frozenset[str]) -> tuple[str, ...]:
    tags = {*TOOL_TYPES, "custom"} | ({"mcp_toolset"} if betas & MCP_BETAS else set())
    return tuple(sorted(tags))


def _check_one(
    tool: Any, i: int, found: ToolSet, toolsets: list[tuple[int, str]], betas: frozenset[str]
) -> None:
    where = f"tools.{i}"
    if not isinstance(tool, dict):
        raise invalid(f"{where}: Input should be a valid dictionary")
    kind = tool.get("type")
    if "cache_control" in tool and tool["cache_control"] is not None:
        check_cache_control(tool["cache_control"], f"{where}.cache_control")
    if kind in (None, "custom"):
        _add(found.client, found, _check_custom(tool, where), tool)
        return
    if kind == "mcp_toolset" and betas & MCP_BETAS:
        toolsets.append((i, _check_toolset(tool, where)))
        return
    spec = TOOL_TYPES.get(kind) if isinstance(kind, str) else None
    if spec is None:
        raise tag_error(where, kind, _expected_tags(betas))
    name = _check_typed(tool, where, str(kind), spec)
    if name is not None:
        _add(found.server if spec.runs_on == "server" else found.client, found, name, tool)


def _add(into: dict[str, dict[str, Any]], found: ToolSet, name: str, tool: dict[str, Any]) -> None:
    if name in found.client or name in found.server:
        raise invalid("tools: Tool names must be unique.")
    into[name] = tool


def _check_toolset(tool: dict[str, Any], where: str) -> str:
    where = f"{where}.mcp_toolset"
    _extra(tool, where, _TOOLSET_FIELDS)
    server = tool.get("mcp_server_name")
    if not isinstance(server, str):
        raise invalid(f"{where}.mcp_server_name: Field required")
    configs = [("default_config", tool.get("default_config"))]
    per_tool = tool.get("configs")
    if per_tool is not None:
        if not isinstance(per_tool, dict):
            raise invalid(f"{where}.configs: Input should be a valid dictionary")
        configs += [(f"configs.{k}", v) for k, v in per_tool.items()]
    for path, config in configs:
        if config is None:
            continue
        if not isinstance(config, dict):
            raise invalid(f"{where}.{path}: Input should be a valid dictionary")
        _extra(config, f"{where}.{path}", frozenset({"enabled", "defer_loading"}))
        for key, value in config.items():
            if not isinstance(value, bool):
                raise invalid(f"{where}.{path}.{key}: Input should be a valid boolean")
    return server


def _check_mcp_servers(body: dict[str, Any], betas: frozenset[str]) -> dict[str, dict[str, Any]]:
    servers = body.get("mcp_servers")
    if servers is None:
        return {}
    if not betas & MCP_BETAS:
        raise invalid("mcp_servers: Extra inputs are not permitted")
    if not isinstance(servers, list):
        raise invalid("mcp_servers: Input should be a valid list")
    found: dict[str, dict[str, Any]] = {}
    for i, server in enumerate(servers):
        where = f"mcp_servers.{i}"
        if not isinstance(server, dict):
            raise invalid(f"{where}: Input should be a valid dictionary")
        if server.get("type") != "url":
            raise invalid(f"{where}.type: Input should be 'url'")
        allowed = frozenset({"type", "url", "name", "authorization_token", "tool_configuration"})
        _extra(server, where, allowed)
        for key in ("url", "name"):
            if not isinstance(server.get(key), str):
                raise invalid(f"{where}.{key}: Field required")
        if not server["url"].startswith("https://"):
            raise invalid(f"{where}.url: the MCP server URL must start with https://")
        if server["name"] in found:
            raise invalid(f"{where}.name: MCP server names must be unique: {server['name']}")
        found[server["name"]] = server
    return found


def _check_toolsets(servers: dict[str, dict[str, Any]], toolsets: list[tuple[int, str]]) -> None:
    seen: set[str] = set()
    for i, name in toolsets:
        if name not in servers:
            raise invalid(
                f"tools.{i}.mcp_toolset.mcp_server_name: MCP server '{name}' is not defined in "
                "mcp_servers"
            )
        if name in seen:
            raise invalid(
                f"tools.{i}.mcp_toolset.mcp_server_name: MCP server '{name}' is referenced by "
                "more than one mcp_toolset"
            )
        seen.add(name)
    for name in servers:
        if name not in seen:
            raise invalid(
                f"mcp_servers: MCP server '{name}' must be referenced by exactly one mcp_toolset "
                "in tools"
            )


def _check_dynamic(tools: list[Any], found: ToolSet, rules: ModelRules, model: str) -> None:
    """Dynamic-filtering web tools run through code_execution_20260120 or later."""
    code = found.server.get("code_execution")
    for i, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind not in DYNAMIC_WEB_TOOLS:
            continue
        callers = tool.get("allowed_callers") or [_MIN_DYNAMIC_CODE]
        if callers == ["direct"]:
            continue
        if not rules.programmatic_tool_calling:
            raise invalid(
                f"tools.{i}.{kind}: {model} does not support programmatic tool calling, which "
                f'{kind} uses for dynamic filtering. Set "allowed_callers": ["direct"] on the tool.'
            )
        if code is not None and str(code.get("type")) < _MIN_DYNAMIC_CODE:
            raise invalid(
                f"tools.{i}.{kind}: {kind} requires {_MIN_DYNAMIC_CODE} or later as its code "
                f"execution version, but the request defines {code.get('type')}. Use a newer "
                'code_execution version, or set "allowed_callers": ["direct"] on the tool.'
            )


def check_tools(
    body: dict[str, Any], rules: ModelRules, betas: frozenset[str], model: str = ""
) -> ToolSet:
    """Validate `tools` and `mcp_servers`; the tools by name, or raises the API's 400."""
    tools = body.get("tools")
    found = ToolSet(mcp_servers=_check_mcp_servers(body, betas))
    if tools is None:
        _check_toolsets(found.mcp_servers, [])
        return found
    if not isinstance(tools, list):
        raise invalid("tools: Input should be a valid list")
    toolsets: list[tuple[int, str]] = []
    for i, tool in enumerate(tools):
        _check_one(tool, i, found, toolsets, betas)
    _check_toolsets(found.mcp_servers, toolsets)
    _check_dynamic(tools, found, rules, model)
    return found
