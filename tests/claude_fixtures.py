"""Fixtures for tests that drive the fake Claude with the real SDK (loaded by tests/conftest.py).

A module that needs another setup defines a fixture of the same name, which takes precedence.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from anthropic import AsyncAnthropic

from testing.fakes.claude_server import FakeClaude


@pytest.fixture
def _no_env_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK must use what the test gives it, not the developer's environment."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def fake(_no_env_credentials: None) -> AsyncIterator[FakeClaude]:
    """A running fake Claude."""
    async with FakeClaude() as server:
        yield server


@pytest.fixture
async def client(fake: FakeClaude) -> AsyncIterator[AsyncAnthropic]:
    """The real SDK pointed at the fake, without retries."""
    async with AsyncAnthropic(base_url=fake.url, api_key=fake.api_key, max_retries=0) as sdk:
        yield sdk
