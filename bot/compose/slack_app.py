"""The Bolt app, for one workspace (SLACK_BOT_TOKEN) or for every workspace that installs it
(OAuth: Bolt's install flow at /slack/install and /slack/oauth_redirect, installations in the
encrypted Redis store, each request authorized by the workspace registry)."""

from __future__ import annotations

import functools

from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings

from bot.compose.clients import Clients
from bot.config import Settings, required
from bot.slack.oauth.installed import InstalledWorkspaces, RegistryAuthorize
from bot.slack.oauth.state import SignedOnceStateStore
from bot.slack.oauth.uninstall import Departures, register_departures
from bot.storage.purge import purge_workspace

# What an install asks for: the bot scopes of manifest.yml (a test keeps them equal).
BOT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
    "chat:write",
    "channels:read",
    "groups:read",
    "mpim:read",
    "commands",
    "files:read",
    "files:write",
    "users:read",
    "reactions:write",
    "assistant:write",
    "search:read.public",
    "channels:read",
    "groups:read",
)


def bolt_app(settings: Settings, clients: Clients) -> AsyncApp:
    """The Bolt app; request signatures are checked in HTTP mode (Socket Mode has none)."""
    secret = settings.slack_signing_secret
    common = {
        "signing_secret": secret.get_secret_value() if secret is not None else "",
        "request_verification_enabled": settings.bot_mode == "http",
    }
    if not settings.oauth:
        return AsyncApp(client=clients.app_client, **common)  # type: ignore[arg-type]
    if not isinstance(clients.workspaces, InstalledWorkspaces) or clients.installations is None:
        raise TypeError("OAuth needs the installed workspaces and their store (clients.py)")
    oauth = AsyncOAuthSettings(
        client_id=required(settings.slack_client_id, "SLACK_CLIENT_ID"),
        client_secret=required(settings.slack_client_secret, "SLACK_CLIENT_SECRET"),
        scopes=list(BOT_SCOPES),
        installation_store=clients.installations,
        state_store=SignedOnceStateStore(
            clients.redis, required(settings.slack_state_secret, "SLACK_STATE_SECRET")
        ),
    )
    app = AsyncApp(
        client=clients.app_client,
        oauth_settings=oauth,
        authorize=RegistryAuthorize(clients.workspaces),  # type: ignore[arg-type]  # Bolt takes one
        **common,  # type: ignore[arg-type]
    )
    departures = Departures(
        clients.installations,
        clients.workspaces,
        functools.partial(purge_workspace, clients.redis),
    )
    register_departures(app, departures)
    return app
