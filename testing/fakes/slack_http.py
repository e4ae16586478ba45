"""The Web API front door: parse the request, authenticate (the token names the workspace: one
fake Slack can hold several), rate-limit, check scopes and arguments against Slack's method
spec, run the handler, record the call. oauth.v2.access authenticates with the app's client id
and secret instead (HTTP Basic, as slack_sdk sends them, or arguments)."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from typing import Protocol

from aiohttp import web

from .slack_models import ApiCall, JsonDict, RateLimiter, SlackError, retry_after_header
from .slack_specs import MethodSpec, argument_problems, missing_required, missing_scope
from .slack_state import Workspace
from .slack_web_common import Call, Handler

log = logging.getLogger("fake_slack")

# A required argument that another one may stand in for (the SDK's ChatStream sends chunks).
ALTERNATIVE_ARGS = {("chat.appendStream", "markdown_text"): "chunks"}
# Slack answers some missing required arguments with a specific code.
REQUIRED_ERRORS = {
    "channel": "channel_not_found",
    "channel_id": "channel_not_found",
    "user": "user_not_found",
    "file": "file_not_found",
}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
BASE_HEADERS = {
    "x-slack-backend": "r",
    "x-content-type-options": "nosniff",
    "cache-control": "private, no-cache, no-store, must-revalidate",
    "access-control-allow-origin": "*",
    "referrer-policy": "no-referrer",
}


def _upload_marker(value: object) -> str:
    return f"<file {getattr(value, 'filename', 'upload')}>"


def _ok(ws: Workspace, call: Call) -> JsonDict:
    return {"ok": True}


OAUTH_ACCESS = "oauth.v2.access"


class ClientAuth(Protocol):
    """The app's OAuth side (testing/fakes/slack_oauth.py)."""

    def access(self, args: JsonDict, client: tuple[str, str] | None) -> JsonDict:
        """oauth.v2.access: a code (or refresh token) exchanged for a bot token."""
        ...


def basic_credentials(header: str) -> tuple[str, str] | None:
    """(client_id, client_secret) of an `Authorization: Basic` header, if any."""
    if not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


class WebApi:
    """`POST|GET /api/<method>` for every method that has a spec file."""

    def __init__(
        self,
        ws: Workspace,
        specs: Mapping[str, MethodSpec],
        handlers: Mapping[str, Handler],
        limiter: RateLimiter,
    ) -> None:
        self.ws = ws  # the first workspace: it owns the app-level token
        self.specs = specs
        self.handlers = handlers
        self.limiter = limiter
        self.calls: list[ApiCall] = []
        self.rate_limited: list[ApiCall] = []
        self.drops: Counter[str] = Counter()  # method -> connections still to drop
        self.tokens: dict[str, Workspace] = {}  # live bot tokens -> their workspace
        self.revoked: set[str] = set()
        self.oauth: ClientAuth | None = None
        self.add_token(ws.ids.bot_token, ws)

    def add_token(self, token: str, ws: Workspace) -> None:
        """A bot token Slack now accepts, for that workspace."""
        self.tokens[token] = ws
        ws.bot_tokens.add(token)

    def revoke(self, ws: Workspace) -> None:
        """Every bot token of the workspace stops working (token_revoked)."""
        for token in [t for t, owner in self.tokens.items() if owner is ws]:
            del self.tokens[token]
            self.revoked.add(token)
        ws.bot_tokens.clear()

    async def handle(self, request: web.Request) -> web.Response:
        now = time.monotonic()
        method = request.match_info["method"]
        args, json_keys = await self._read_args(request, self.specs.get(method))
        if self.drops[method] > 0 and request.transport is not None:
            self.drops[method] -= 1  # the connection drops before any answer (a network fault)
            request.transport.abort()
            return web.Response(status=500)
        token = self._token(request, args)
        client = basic_credentials(request.headers.get("Authorization", ""))
        if method == OAUTH_ACCESS:
            status, body, headers = self._oauth_access(args, client, now)
            team = str((body.get("team") or {}).get("id") or "")
        else:
            status, body, headers = self.dispatch(method, args, token, json_keys, now)
            owner = self.tokens.get(token or "")
            team = owner.ids.team_id if owner is not None else ""
        call = ApiCall(method, args, now, status, body, team, token or "")
        self.calls.append(call)
        if status == 429:
            self.rate_limited.append(call)
        return web.Response(
            status=status,
            text=json.dumps(body),
            content_type="application/json",
            charset="utf-8",
            headers=headers,
        )

    # ---- request parsing ---------------------------------------------------------------
    async def _read_args(
        self, request: web.Request, spec: MethodSpec | None
    ) -> tuple[JsonDict, frozenset[str]]:
        args: JsonDict = dict(request.query)
        if not request.can_read_body:
            return args, frozenset()
        if request.content_type == "application/json":
            body = self._json_body(await request.read(), spec, request.match_info["method"])
            args.update(body)
            return args, frozenset(body)
        if request.content_type in FORM_TYPES:
            form = await request.post()
            for key, value in form.items():
                args[key] = value if isinstance(value, str) else _upload_marker(value)
            return args, frozenset()
        self.ws.violation(
            f"{request.match_info['method']}: unsupported body {request.content_type}"
        )
        return args, frozenset()

    def _json_body(self, raw: bytes, spec: MethodSpec | None, method: str) -> JsonDict:
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self.ws.violation(f"{method}: JSON body is not an object")
            return {}
        if "token" in body:
            self.ws.violation(f"{method}: token in a JSON body is ignored; use Authorization")
            body.pop("token")
        if spec is not None and not spec.json_input and body:
            self.ws.violation(
                f"{method}: does not accept JSON bodies; Slack ignored {sorted(body)}"
            )
            return {}
        return body

    def _oauth_access(
        self, args: JsonDict, client: tuple[str, str] | None, now: float
    ) -> tuple[int, JsonDict, dict[str, str]]:
        headers = {**BASE_HEADERS, "x-slack-req-id": uuid.uuid4().hex}
        spec = self.specs[OAUTH_ACCESS]
        for problem in argument_problems(spec, args, frozenset()):
            self.ws.violation(problem)
        if self.oauth is None:
            return 200, {"ok": False, "error": "invalid_client_id"}, headers
        try:
            return 200, self.oauth.access(args, client), headers
        except SlackError as err:
            return 200, err.body(), headers

    @staticmethod
    def _token(request: web.Request, args: JsonDict) -> str | None:
        arg_token = args.pop("token", None)
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            return None
        if auth.startswith("Bearer ") and auth[7:].strip():
            return auth[7:].strip()
        return arg_token if isinstance(arg_token, str) and arg_token else None

    # ---- pipeline ----------------------------------------------------------------------
    def dispatch(
        self, method: str, args: JsonDict, token: str | None, json_keys: frozenset[str], now: float
    ) -> tuple[int, JsonDict, dict[str, str]]:
        headers = {**BASE_HEADERS, "x-slack-req-id": uuid.uuid4().hex}
        spec = self.specs.get(method)
        if spec is None:
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}, headers
        headers["x-accepted-oauth-scopes"] = ",".join(spec.bot_scopes)
        ws = self.ws
        try:
            ws = self._authenticate(method, token)
            headers["x-oauth-scopes"] = ",".join(sorted(ws.granted))
            team = ws.ids.team_id
            wait = self.limiter.check(
                method, str(args.get("channel", "")), now, spec.tier, team=team
            )
            if wait > 0:
                headers["Retry-After"] = retry_after_header(wait)
                return 429, {"ok": False, "error": "ratelimited"}, headers
            self._check_scope(ws, spec, args)
            self._check_args(ws, spec, args, json_keys)
            body = self.handlers.get(method, _ok)(ws, Call(method, args, spec, now))
        except SlackError as err:
            body = err.body()
            if method == "chat.postMessage":
                self.limiter.refund(method, str(args.get("channel", "")), ws.ids.team_id)
        except Exception as exc:  # a bug in the fake must fail the test, not hang it
            log.exception("fake slack handler crashed on %s", method)
            ws.violation(f"{method}: the fake crashed: {exc!r}")
            return 500, {"ok": False, "error": "fatal_error"}, headers
        return 200, body, headers

    def _authenticate(self, method: str, token: str | None) -> Workspace:
        """The workspace the token belongs to (the app-level token: the first one's)."""
        if token is None:
            raise SlackError("not_authed")
        if token in self.revoked:
            raise SlackError("token_revoked")
        app_token = self.ws.ids.app_token
        ws = self.ws if token == app_token else self.tokens.get(token)
        if ws is None:
            raise SlackError("invalid_auth")
        if (token == app_token) != (method == "apps.connections.open"):
            raise SlackError("not_allowed_token_type")
        return ws

    @staticmethod
    def _check_scope(ws: Workspace, spec: MethodSpec, args: JsonDict) -> None:
        ref = args.get("channel") or args.get("channel_id")
        channel = ws.channels.get(ref) if isinstance(ref, str) else None
        extra = missing_scope(spec, ws.granted, channel.scope_family if channel else None)
        if extra:
            raise SlackError("missing_scope", **extra)

    @staticmethod
    def _check_args(
        ws: Workspace, spec: MethodSpec, args: JsonDict, json_keys: frozenset[str]
    ) -> None:
        for problem in argument_problems(spec, args, json_keys):
            ws.violation(problem)
        missing = [
            key
            for key in missing_required(spec, args)
            if args.get(ALTERNATIVE_ARGS.get((spec.name, key), "")) is None
        ]
        if missing:
            code = REQUIRED_ERRORS.get(missing[0], "")
            raise SlackError(
                code if code in spec.errors else "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] missing required field: {missing[0]}"]},
            )
