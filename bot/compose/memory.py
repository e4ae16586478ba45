"""Memory put together: the memory tool's provider (BOT_MEMORY) and /claude-memory."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.compose.clients import Clients
from bot.config import Settings
from bot.governance.audit import Auditor
from bot.slack.handlers.access import AccessPolicy, parse_ids
from bot.slack.handlers.memory import MemoryCommands, register_memory
from bot.tools.memory.files import Limits
from bot.tools.memory.privacy import ChannelPrivacy
from bot.tools.memory.provider import MemoryProvider
from bot.tools.memory.store import MemoryStore


def memory_provider(settings: Settings, clients: Clients, audit: Auditor) -> MemoryProvider | None:
    """The memory tool's provider when BOT_MEMORY is on or channel profiles may turn it on for
    a channel (None: no memory anywhere)."""
    if not settings.memory and settings.channel_profiles is None:
        return None
    store = MemoryStore(clients.redis, int(settings.memory_ttl_days * 86_400))
    limits = Limits(settings.memory_file_chars, settings.memory_scope_chars)
    admins = parse_ids(settings.admin_users)
    privacy = ChannelPrivacy(clients.workspaces)
    return MemoryProvider(store, privacy, limits, admins=admins, audit=audit)


def register_memory_command(
    app: AsyncApp, provider: MemoryProvider | None, access: AccessPolicy, audit: Auditor
) -> None:
    """Attach /claude-memory and its Forget buttons (with memory off it says so)."""
    register_memory(app, MemoryCommands(provider, access, audit))
