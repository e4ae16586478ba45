"""Strict fakes of Slack and Claude, and the harness that runs the real bot against them.

Shared by `tests/` and `bench/` (like `structlog.testing`): nothing here is part of the bot.
- `testing.fakes`: the fake Slack (Web API checked against Slack's method specs, Socket Mode,
  rate tiers) and the fake Claude (SSE, request validation, prompt cache, Files and Batches APIs).
- `testing.harness`: `BotProcess` (the real `python -m bot` against the fakes) and helpers.
- `testing.paths`, `testing.gitrepo`: where the repository and `shared/` are; git repos for tests.
"""
