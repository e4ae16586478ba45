"""Test-wide fixtures."""

pytest_plugins = ["tests.claude_fixtures", "tests.redis_fixtures"]
