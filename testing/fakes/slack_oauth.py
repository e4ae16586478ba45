"""The app's OAuth side of the fake Slack: a person approves an install (the authorize URL the
app's install page links to), Slack hands the app's redirect a one-time code, and
oauth.v2.access trades the code (or, with token rotation, a refresh token) for a bot token.

Strict like Slack: the client id and secret must be the app's (HTTP Basic or arguments), a code
works once and only with the redirect_uri it was issued for, the scopes asked for must be the
manifest's bot scopes, and a state must travel along."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from .slack_models import JsonDict, SlackError
from .slack_state import Workspace

AUTHORIZE_PATH = "/oauth/v2/authorize"


@dataclass
class OAuthApp:
    """The app's client credentials and the installs in flight."""

    client_id: str
    client_secret: str
    bot_scopes: frozenset[str]
    register: Callable[[str, Workspace], None]  # a token Slack now accepts for a workspace
    violations: list[str]
    rotation: bool = False  # token rotation on: 12-hour tokens with refresh tokens
    token_seconds: int = 43_200
    _codes: dict[str, tuple[Workspace, str | None]] = field(default_factory=dict)
    _refresh: dict[str, Workspace] = field(default_factory=dict)

    def approve(self, authorize_url: str, ws: Workspace) -> tuple[str, str]:
        """A person of `ws` approves the install the URL asks for; (code, state) for the app's
        redirect."""
        parts = urlsplit(authorize_url)
        if parts.path != AUTHORIZE_PATH:
            self.violations.append(f"install link {parts.path}: Slack's is {AUTHORIZE_PATH}")
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        if query.get("client_id") != self.client_id:
            raise ValueError(f"install link names client_id {query.get('client_id')!r}")
        asked = frozenset(filter(None, query.get("scope", "").split(",")))
        if asked != self.bot_scopes:
            self.violations.append(
                f"install asks for scopes {sorted(asked ^ self.bot_scopes)} unlike manifest.yml"
            )
        state = query.get("state", "")
        if not state:
            self.violations.append("install link without a state (CSRF protection)")
        code = secrets.token_hex(16)
        self._codes[code] = (ws, query.get("redirect_uri"))
        return code, state

    def access(self, args: JsonDict, client: tuple[str, str] | None) -> JsonDict:
        """oauth.v2.access."""
        client_id, secret = client or (str(args.get("client_id", "")), "")
        secret = secret or str(args.get("client_secret", ""))
        if client is None and "client_id" in args:
            self.violations.append("oauth.v2.access: prefer HTTP Basic for the client secret")
        if client_id != self.client_id:
            raise SlackError("invalid_client_id")
        if secret != self.client_secret:
            raise SlackError("bad_client_secret")
        grant = str(args.get("grant_type") or "authorization_code")
        if grant == "refresh_token":
            ws = self._refresh.get(str(args.get("refresh_token", "")))
            if ws is None:
                raise SlackError("invalid_refresh_token")
            return self._token(ws)
        if grant != "authorization_code":
            raise SlackError("invalid_grant_type")
        found = self._codes.pop(str(args.get("code", "")), None)
        if found is None:
            raise SlackError("invalid_code")
        ws, redirect_uri = found
        if redirect_uri is not None and args.get("redirect_uri") != redirect_uri:
            raise SlackError("bad_redirect_uri")
        return self._token(ws)

    def _token(self, ws: Workspace) -> JsonDict:
        ids = ws.ids
        body: JsonDict = {
            "ok": True,
            "app_id": ids.app_id,
            "authed_user": {"id": next(iter(ws.users), "")},
            "scope": ",".join(sorted(self.bot_scopes)),
            "token_type": "bot",
            "bot_user_id": ids.bot_user_id,
            "team": {"id": ids.team_id, "name": ids.team_name},
            "enterprise": {"id": ids.enterprise_id, "name": "Org"} if ids.enterprise_id else None,
            "is_enterprise_install": False,
        }
        if not self.rotation:
            self.register(ids.bot_token, ws)
            return {**body, "access_token": ids.bot_token}
        token = f"xoxe.xoxb-1-{secrets.token_hex(12)}"
        refresh = f"xoxe-1-{secrets.token_hex(12)}"
        self.register(token, ws)
        self._refresh[refresh] = ws
        return {
            **body,
            "access_token": token,
            "refresh_token": refresh,
            "expires_in": self.token_seconds,
        }
