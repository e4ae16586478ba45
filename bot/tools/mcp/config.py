"""The MCP servers file (BOT_MCP_CONFIG): the `mcpServers` format of Claude Desktop / Claude Code.

    {"mcpServers": {
      "tickets": {"type": "http", "url": "https://tickets.corp/mcp",
                  "headers": {"Authorization": "Bearer ${TICKETS_TOKEN}"},
                  "preapproved": ["add_comment"]},
      "files":   {"command": "uvx", "args": ["mcp-server-files", "/srv/docs"],
                  "env": {"FILES_TOKEN": "${FILES_TOKEN}"}}}}

`${VAR}` and `${VAR:-default}` in string values are read from the environment given, so secrets
stay out of the file. Pure: no SDK, no I/O besides reading the file. A problem is a ConfigError
whose message is one line naming the file, the server and the field.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# Claude's client tool names: ^[a-zA-Z0-9_-]{1,64}$ (the API accepts up to 128 today; 64 is what
# every model and platform has accepted, so names stay within it).
TOOL_NAME_MAX = 64
NOT_IN_TOOL_NAME = re.compile(r"[^A-Za-z0-9_-]")
SEPARATOR = "__"
HTTP_TYPES = ("http", "streamable-http", "streamable_http", "streamableHttp")
COMMON_KEYS = ("type", "preapproved", "timeout_seconds", "disabled")
HTTP_KEYS = (*COMMON_KEYS, "url", "headers")
STDIO_KEYS = (*COMMON_KEYS, "command", "args", "env", "cwd")
ALL_TOOLS = "*"


class ConfigError(ValueError):
    """BOT_MCP_CONFIG cannot be used; the message is one line naming file, server and field."""


@dataclass(frozen=True)
class ServerConfig:
    """One MCP server of the file, with `${VAR}`s expanded."""

    name: str  # also the prefix of its tools' names: "<name>__<tool>"
    transport: Literal["http", "stdio"]
    url: str = field(default="", repr=False)  # may hold a secret: `where` is the safe form
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    command: str = ""
    args: tuple[str, ...] = field(default=(), repr=False)
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    cwd: str | None = None
    preapproved: frozenset[str] = frozenset()  # MCP tool names that run without asking; "*": all
    timeout_seconds: float | None = None  # overrides BOT_MCP_CALL_TIMEOUT_SECONDS for this server
    # The values `${VAR}`s expanded to: never shown in a log line, a status or a tool result.
    secrets: frozenset[str] = field(default=frozenset(), repr=False)

    def is_preapproved(self, tool: str) -> bool:
        """Whether the named MCP tool may change things without asking the person first."""
        return ALL_TOOLS in self.preapproved or tool in self.preapproved

    def redact(self, text: str) -> str:
        """The text with every expanded secret value replaced by [redacted]."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            if len(secret) >= 4:  # a one-letter value would blank out ordinary words
                text = text.replace(secret, "[redacted]")
        return text

    @property
    def where(self) -> str:
        """The server for people and logs: its URL without query or credentials, or its command."""
        if self.transport == "stdio":
            return self.redact(Path(self.command).name)
        parts = urlsplit(self.url)
        return self.redact(
            f"{parts.scheme}://{parts.hostname or ''}{_port(parts.port)}{parts.path}"
        )


def _port(port: int | None) -> str:
    return f":{port}" if port else ""


def load_config(path: Path, env: Mapping[str, str]) -> tuple[ServerConfig, ...]:
    """The servers of the file at `path`, expanded with `env`; raises ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot be read ({exc.strerror or type(exc).__name__})"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text") from None
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except _DuplicateKeyError as exc:
        raise ConfigError(f"{path}: the key {exc} appears twice in one object") from None
    return parse_config(data, env, source=str(path))


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise _DuplicateKeyError(json.dumps(key))
    return dict(pairs)


def parse_config(data: Any, env: Mapping[str, str], *, source: str) -> tuple[ServerConfig, ...]:
    """The servers of a parsed file, in file order (disabled ones left out); raises ConfigError.

    Keys at the top level other than "mcpServers" are ignored (a Claude Desktop config has some);
    a server's keys are checked strictly, so a typo is not silently dropped."""
    if not isinstance(data, dict) or not isinstance(data.get("mcpServers"), dict):
        raise ConfigError(f'{source}: needs an object "mcpServers" at the top level')
    servers = []
    for name, raw in data["mcpServers"].items():
        server = _Reader(source, name, env).server(raw)
        if server is not None:
            servers.append(server)
    return tuple(servers)


class _Reader:
    """Reads one server's entry; every error names the file, the server and the field."""

    def __init__(self, source: str, name: str, env: Mapping[str, str]) -> None:
        self.source, self.name, self.env = source, name, env
        self.secrets: set[str] = set()

    def fail(self, problem: str, key: str | None = None) -> ConfigError:
        where = f'{self.source}: server "{self.name}"'
        return ConfigError(f'{where}, field "{key}": {problem}' if key else f"{where}: {problem}")

    def server(self, raw: Any) -> ServerConfig | None:
        if not SERVER_NAME.match(self.name):
            raise self.fail(
                "a server name is 1-32 letters, digits, _ or -, starting with a letter or digit "
                "(it prefixes the names of its tools)"
            )
        if not isinstance(raw, dict):
            raise self.fail("must be an object")
        transport = self.transport(raw)
        known = HTTP_KEYS if transport == "http" else STDIO_KEYS
        for key in raw:
            if key not in known:
                raise self.fail(
                    f"unknown for a {transport} server (known: {', '.join(known)})", key
                )
        disabled = raw.get("disabled", False)
        if not isinstance(disabled, bool):
            raise self.fail("must be true or false", "disabled")
        if disabled:
            return None
        common: dict[str, Any] = {
            "name": self.name,
            "preapproved": frozenset(self.strings(raw, "preapproved", expand=False)),
            "timeout_seconds": self.timeout(raw),
        }
        if transport == "http":
            url = self.url(raw)
            headers = self.mapping(raw, "headers")
            return ServerConfig(
                transport="http",
                url=url,
                headers=headers,
                secrets=frozenset(self.secrets),
                **common,
            )
        command = self.text(raw, "command")
        if not command.strip():
            raise self.fail("must not be empty", "command")
        cwd = self.text(raw, "cwd") if "cwd" in raw else None
        return ServerConfig(
            transport="stdio",
            command=command,
            args=tuple(self.strings(raw, "args")),
            env=self.mapping(raw, "env"),
            cwd=cwd,
            secrets=frozenset(self.secrets),
            **common,
        )

    def transport(self, raw: dict[str, Any]) -> Literal["http", "stdio"]:
        kind = raw.get("type")
        if kind is None:
            if "command" in raw:
                return "stdio"
            if "url" in raw:
                return "http"
            raise self.fail('needs "command" (a stdio server) or "type": "http" with "url"')
        if kind in HTTP_TYPES:
            return "http"
        if kind == "stdio":
            return "stdio"
        if kind == "sse":
            raise self.fail('"sse" is not supported: use streamable HTTP ("http")', "type")
        raise self.fail(f'must be "http" or "stdio", not {json.dumps(kind)}', "type")

    def expand(self, value: str, key: str) -> str:
        """`${VAR}` and `${VAR:-default}` from the environment; a missing VAR is an error."""

        def substitute(match: re.Match[str]) -> str:
            variable, default = match.group(1), match.group(2)
            value = self.env.get(variable)
            if value is None or (value == "" and default is not None):
                if default is None:
                    raise self.fail(f"${{{variable}}} is not set in the environment", key)
                return default
            self.secrets.add(value)
            return value

        return VARIABLE.sub(substitute, value)

    def text(self, raw: dict[str, Any], key: str) -> str:
        value = raw.get(key)
        if not isinstance(value, str):
            raise self.fail("must be a string", key)
        return self.expand(value, key)

    def strings(self, raw: dict[str, Any], key: str, *, expand: bool = True) -> list[str]:
        value = raw.get(key, [])
        if not isinstance(value, list):
            raise self.fail("must be a list of strings", key)
        out = []
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise self.fail("must be a string", f"{key}[{index}]")
            out.append(self.expand(item, f"{key}[{index}]") if expand else item)
        return out

    def mapping(self, raw: dict[str, Any], key: str) -> dict[str, str]:
        value = raw.get(key, {})
        if not isinstance(value, dict):
            raise self.fail("must be an object of strings", key)
        out = {}
        for name, item in value.items():
            if not isinstance(item, str):
                raise self.fail("must be a string", f"{key}.{name}")
            out[name] = self.expand(item, f"{key}.{name}")
        return out

    def url(self, raw: dict[str, Any]) -> str:
        if "url" not in raw:
            raise self.fail("is required for an http server", "url")
        url = self.text(raw, "url")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self.fail("must be an http:// or https:// URL with a host", "url")
        return url

    def timeout(self, raw: dict[str, Any]) -> float | None:
        value = raw.get("timeout_seconds")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.fail("must be a number of seconds above 0", "timeout_seconds")
        return float(value)


def tool_names(server: str, tools: list[str]) -> dict[str, str]:
    """The name Claude sees for each MCP tool of a server: `<server>__<tool>`, with characters
    outside [A-Za-z0-9_-] replaced by "_", at most 64 characters. A name that had to be cut,
    or that two tools would share, ends with a short hash of the original, so names stay
    unique and stable for as long as the server's tool names are."""
    plain = {tool: f"{server}{SEPARATOR}{NOT_IN_TOOL_NAME.sub('_', tool)}" for tool in tools}
    counts: dict[str, int] = {}
    for name in plain.values():
        counts[name] = counts.get(name, 0) + 1
    names = {}
    for tool, name in plain.items():
        if len(name) > TOOL_NAME_MAX or counts[name] > 1:
            digest = hashlib.sha256(tool.encode()).hexdigest()[:8]
            name = f"{name[: TOOL_NAME_MAX - 9]}_{digest}"
        names[tool] = name
    return names
