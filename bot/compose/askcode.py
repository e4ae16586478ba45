"""Builds the /ask-code service from the settings (None when no repository is configured)."""

from __future__ import annotations

from bot.askcode import secrets
from bot.askcode.service import AskCodeOptions, AskCodeService
from bot.claude.tokens import AnthropicTokenCounter
from bot.compose.clients import Clients
from bot.config import Settings
from bot.conversation.tiers import DEFAULT_TIER


def ask_code_options(settings: Settings) -> AskCodeOptions:
    """The service's knobs from the settings."""
    return AskCodeOptions(
        data_dir=settings.data_dir,
        budget_tokens=settings.ask_code_context_tokens,
        refresh_seconds=settings.ask_code_refresh_minutes * 60,
        max_repo_bytes=int(settings.ask_code_max_repo_mb * 1024 * 1024),
        max_file_bytes=int(settings.ask_code_max_file_kb * 1024),
        git_timeout_seconds=settings.ask_code_git_timeout_seconds,
        max_tool_rounds=settings.ask_code_max_tool_rounds,
        cache_bytes=int(settings.ask_code_cache_mb * 1024 * 1024),
    )


def build_ask_code(settings: Settings, clients: Clients) -> AskCodeService | None:
    """The service over ASK_CODE_REPOS, counting tokens with the default tier's model."""
    repos = settings.code_repos
    if not repos:
        return None
    secrets.configure(settings.data_dir / "askcode" / "rule-cache")
    client = clients.claude.with_options(max_retries=1)
    counter = AnthropicTokenCounter(client, settings.models_by_tier[DEFAULT_TIER])
    return AskCodeService(repos, ask_code_options(settings), counter)
