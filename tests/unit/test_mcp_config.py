"""BOT_MCP_CONFIG: the mcpServers file, `${VAR}` expansion, every malformed case as one clear
line, and the names Claude sees for MCP tools."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, SettingsError, load_settings
from bot.tools.mcp.config import ConfigError, ServerConfig, load_config, parse_config, tool_names

GOOD = {
    "SLACK_BOT_TOKEN": "xoxb-1-2-abc",
    "SLACK_APP_TOKEN": "xapp-1-A-abc",
    "ANTHROPIC_API_KEY": "sk-ant-test",
}
ENV = {"TICKETS_TOKEN": "s3cret-token-value", "DOCS_DIR": "/srv/docs", "EMPTY": ""}
CLAUDE_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "mcp.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def servers(entries: dict[str, Any], env: dict[str, str] = ENV) -> tuple[ServerConfig, ...]:
    return parse_config({"mcpServers": entries}, env, source="mcp.json")


def test_a_good_file_gives_http_and_stdio_servers(tmp_path: Path) -> None:
    """Both transports parse, `${VAR}` is expanded everywhere, file order is kept."""
    path = write(
        tmp_path,
        {
            "globalShortcut": "Ctrl+Space",  # other top-level keys of a Claude Desktop config
            "mcpServers": {
                "tickets": {
                    "type": "http",
                    "url": "https://tickets.corp/mcp?key=${TICKETS_TOKEN}",
                    "headers": {"Authorization": "Bearer ${TICKETS_TOKEN}"},
                    "preapproved": ["add_comment"],
                    "timeout_seconds": 15,
                },
                "docs": {
                    "command": "uvx",
                    "args": ["mcp-docs", "${DOCS_DIR}", "--mode=${MODE:-read}"],
                    "env": {"TOKEN": "${TICKETS_TOKEN}"},
                    "cwd": "${DOCS_DIR}",
                },
                "off": {"command": "nothing", "disabled": True},
            },
        },
    )
    tickets, docs = load_config(path, ENV)
    assert tickets.transport == "http"
    assert tickets.url == "https://tickets.corp/mcp?key=s3cret-token-value"
    assert tickets.headers == {"Authorization": "Bearer s3cret-token-value"}
    assert tickets.timeout_seconds == 15.0
    assert tickets.is_preapproved("add_comment")
    assert not tickets.is_preapproved("close")
    assert docs.transport == "stdio"
    assert docs.command == "uvx"
    assert docs.args == ("mcp-docs", "/srv/docs", "--mode=read")
    assert docs.env == {"TOKEN": "s3cret-token-value"}
    assert docs.cwd == "/srv/docs"


def test_secrets_stay_out_of_repr_and_where() -> None:
    """Expanded values never show in the config's repr, its `where`, or a redacted message."""
    (server,) = servers(
        {
            "t": {
                "type": "http",
                "url": "https://u:${TICKETS_TOKEN}@tickets.corp/mcp?k=${TICKETS_TOKEN}",
                "headers": {"Authorization": "Bearer ${TICKETS_TOKEN}"},
            }
        }
    )
    assert "s3cret" not in repr(server)
    assert server.where == "https://tickets.corp/mcp"
    assert server.redact("401 for key=s3cret-token-value") == "401 for key=[redacted]"


def test_preapproved_star_approves_every_tool() -> None:
    """ "*" in preapproved lets every tool of the server run without asking."""
    (server,) = servers({"s": {"command": "x", "preapproved": ["*"]}})
    assert server.is_preapproved("anything")


@pytest.mark.parametrize(
    ("entries", "line"),
    [
        (
            {"t": {"type": "http", "url": "https://x/mcp", "headers": {"A": "${NOPE}"}}},
            'mcp.json: server "t", field "headers.A": ${NOPE} is not set in the environment',
        ),
        (
            {"t": {"command": "x", "args": ["ok", "${EMPTY}", "${NOPE}"]}},
            'mcp.json: server "t", field "args[2]": ${NOPE} is not set in the environment',
        ),
        (
            {"t": {"type": "http"}},
            'mcp.json: server "t", field "url": is required for an http server',
        ),
        (
            {"t": {"type": "http", "url": "ftp://x/mcp"}},
            'mcp.json: server "t", field "url": must be an http:// or https:// URL with a host',
        ),
        (
            {"t": {"type": "sse", "url": "https://x/sse"}},
            'mcp.json: server "t", field "type": "sse" is not supported: use streamable HTTP '
            '("http")',
        ),
        (
            {"t": {"type": "websocket", "url": "https://x"}},
            'mcp.json: server "t", field "type": must be "http" or "stdio", not "websocket"',
        ),
        (
            {"t": {"args": ["a"]}},
            'mcp.json: server "t": needs "command" (a stdio server) or "type": "http" with "url"',
        ),
        (
            {"t": {"command": 7}},
            'mcp.json: server "t", field "command": must be a string',
        ),
        (
            {"t": {"command": "  "}},
            'mcp.json: server "t", field "command": must not be empty',
        ),
        (
            {"t": {"command": "x", "args": "a b"}},
            'mcp.json: server "t", field "args": must be a list of strings',
        ),
        (
            {"t": {"command": "x", "args": ["a", 2]}},
            'mcp.json: server "t", field "args[1]": must be a string',
        ),
        (
            {"t": {"command": "x", "env": {"A": 1}}},
            'mcp.json: server "t", field "env.A": must be a string',
        ),
        (
            {"t": {"command": "x", "env": ["A=1"]}},
            'mcp.json: server "t", field "env": must be an object of strings',
        ),
        (
            {"t": {"type": "http", "url": "https://x/mcp", "heders": {}}},
            'mcp.json: server "t", field "heders": unknown for a http server (known: type, '
            "preapproved, timeout_seconds, disabled, url, headers)",
        ),
        (
            {"t": {"command": "x", "url": "https://x"}},
            'mcp.json: server "t", field "url": unknown for a stdio server (known: type, '
            "preapproved, timeout_seconds, disabled, command, args, env, cwd)",
        ),
        (
            {"t": {"command": "x", "timeout_seconds": 0}},
            'mcp.json: server "t", field "timeout_seconds": must be a number of seconds above 0',
        ),
        (
            {"t": {"command": "x", "preapproved": "all"}},
            'mcp.json: server "t", field "preapproved": must be a list of strings',
        ),
        (
            {"t": {"command": "x", "disabled": "yes"}},
            'mcp.json: server "t", field "disabled": must be true or false',
        ),
        (
            {"t": ["x"]},
            'mcp.json: server "t": must be an object',
        ),
        (
            {"my server": {"command": "x"}},
            'mcp.json: server "my server": a server name is 1-32 letters, digits, _ or -, '
            "starting with a letter or digit (it prefixes the names of its tools)",
        ),
    ],
)
def test_a_malformed_server_is_one_line_naming_file_server_and_field(
    entries: dict[str, Any], line: str
) -> None:
    """Each mistake raises ConfigError with exactly one line: file, server, field, problem."""
    with pytest.raises(ConfigError) as caught:
        servers(entries)
    assert str(caught.value) == line
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('{"mcpServers": {"t": {"command": "x",}}}', "not valid JSON at line 1, column 38"),
        ('{"mcpServers": {"t": {"command": "x"}, "t": {"command": "y"}}}', 'the key "t" appears'),
        ('{"servers": {}}', 'needs an object "mcpServers" at the top level'),
        ("[1, 2]", 'needs an object "mcpServers" at the top level'),
    ],
)
def test_a_malformed_file_is_one_line_naming_the_file(tmp_path: Path, text: str, line: str) -> None:
    """Bad JSON, a duplicate server, a missing mcpServers: one line starting with the path."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, ENV)
    assert str(caught.value).startswith(f"{path}: ")
    assert line in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    """A path that does not exist says so, naming it."""
    with pytest.raises(ConfigError, match=r"mcp\.json: cannot be read \(No such file"):
        load_config(tmp_path / "mcp.json", ENV)


def test_settings_refuse_a_malformed_file_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot does not start on a bad BOT_MCP_CONFIG: a line names the variable and the problem."""
    path = write(tmp_path, {"mcpServers": {"t": {"type": "http", "url": "https://x/${NOPE}"}}})
    for key, value in {**GOOD, "BOT_MCP_CONFIG": str(path)}.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("BOT_MCP_CONFIG is invalid:")
    assert f'{path}: server "t", field "url": ${{NOPE}} is not set in the environment' in message


def test_settings_give_the_servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A good file's servers come from Settings.mcp_servers; unset or empty means none."""
    path = write(tmp_path, {"mcpServers": {"docs": {"command": "uvx", "args": ["${DOCS_DIR}"]}}})
    for key, value in {**GOOD, "BOT_MCP_CONFIG": str(path), "DOCS_DIR": "/d"}.items():
        monkeypatch.setenv(key, value)
    (docs,) = load_settings().mcp_servers
    assert docs.args == ("/d",)
    monkeypatch.setenv("BOT_MCP_CONFIG", "")
    settings: Settings = load_settings()
    assert settings.mcp_servers == ()
    assert settings.mcp_call_timeout_seconds == 60
    assert settings.mcp_max_result_chars == 100_000


def test_tool_names_are_prefixed_and_fit_claudes_pattern() -> None:
    """`<server>__<tool>`, sanitised to [a-zA-Z0-9_-]{1,64}, unique even when sanitising or
    cutting would make two the same, and stable."""
    tools = ["lookup", "get.issue", "get_issue", "x" * 80, "x" * 80 + "y", "dé jà"]
    names = tool_names("tickets", tools)
    assert names["lookup"] == "tickets__lookup"
    assert names["dé jà"] == "tickets__d__j_"
    assert names["get.issue"] != names["get_issue"]
    assert {names["get.issue"], names["get_issue"]} <= {
        n for n in names.values() if n.startswith("tickets__get_issue_")
    }
    assert names["x" * 80] != names["x" * 80 + "y"]
    assert len(set(names.values())) == len(tools)
    assert all(CLAUDE_TOOL_NAME.match(name) for name in names.values())
    assert tool_names("tickets", tools) == names
