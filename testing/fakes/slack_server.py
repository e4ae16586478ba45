"""A strict fake of Slack (Web API + Socket Mode or HTTP events) for wire tests and benchmarks.

Every Web API call is checked against Slack's own method specs (../shared/slack/methods),
with the bot scopes of manifest.yml; Socket Mode speaks the real protocol (hello, envelopes,
acks, disconnect); in HTTP mode (`deliver_over_http`) events, commands and interactions are
POSTed to the app, signed like Slack's. Anything tolerated that real Slack would dislike goes to
`violations`.

One fake can hold several workspaces of one app (`add_team`: the same server and app, another
team, its own token, people and channels), and play the app's OAuth install (`approve_install`,
oauth.v2.access) when built with a client id and secret.

    async with FakeSlack() as slack:
        slack.add_user("U1", "ada")
        slack.add_im("D1", "U1")
        client = AsyncWebClient(token=slack.ids.bot_token, base_url=slack.api_url)
"""

from __future__ import annotations

import asyncio
import socket
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from .slack_events import Identity, envelope, event_callback, random_id, user_message_event
from .slack_hooks import Hooks
from .slack_http import WebApi
from .slack_http_events import HttpEvents
from .slack_models import (
    Ack,
    ApiCall,
    Channel,
    Delivery,
    EphemeralMessage,
    JsonDict,
    RateLimiter,
    SlackRateLimits,
    StoredMessage,
    User,
)
from .slack_oauth import OAuthApp
from .slack_people import add_file, connect_stub, post_as_user, slash_command, subscription_for
from .slack_socket import SocketHub
from .slack_specs import MANIFEST_PATH, load_event_scopes, load_manifest, load_specs
from .slack_state import Workspace
from .slack_web_chat import CHAT_HANDLERS
from .slack_web_common import Call, permalink
from .slack_web_files import FILE_HANDLERS, UploadUrls
from .slack_web_misc import MISC_HANDLERS
from .slack_web_search import SEARCH_HANDLERS

__all__ = [
    "Ack",
    "ApiCall",
    "Delivery",
    "EphemeralMessage",
    "FakeSlack",
    "SlackRateLimits",
    "StoredMessage",
]


class FakeSlack:
    """Slack's Web API and Socket Mode on 127.0.0.1, with a world the test sets up."""

    def __init__(
        self,
        *,
        team_id: str = "T0TEAM",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        app_id: str = "A0APP",
        bot_token: str = "xoxb-fake-bot-token",  # noqa: S107
        app_token: str = "xapp-fake-app-token",  # noqa: S107
        scopes: set[str] | None = None,
        rate_limits: SlackRateLimits | None = None,
        echo_bot_messages: bool = True,
        enterprise_id: str | None = None,
        signing_secret: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        token_rotation: bool = False,
        installed: bool = True,
        manifest: Path = MANIFEST_PATH,
        _host: FakeSlack | None = None,
    ) -> None:
        manifest_data = load_manifest(manifest if _host is None else _host.manifest_path)
        self.manifest_path = manifest if _host is None else _host.manifest_path
        self.ids = Identity(
            team_id,
            f"Workspace {team_id}",
            f"ws-{team_id.lower()}",
            bot_user_id,
            bot_id,
            "Claude",
            app_id,
            bot_token,
            app_token,
            enterprise_id,
        )
        granted = frozenset(scopes) if scopes is not None else manifest_data.bot_scopes
        ws = Workspace(
            self.ids, granted, manifest_data, dict(load_event_scopes()), echo_bot_messages
        )
        if _host is not None:
            ws.violations = _host.violations  # one list: the fixture checks every workspace
        ws.sink = self._emit
        ws.add_user(User(bot_user_id, "claude", "Claude", is_bot=True))
        self._ws = ws
        self.verification_token = random_id("", 24)
        self.envelopes: list[JsonDict] = []
        self._payloads: dict[str, JsonDict] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._host = _host or self
        if _host is None:
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._sock.bind(("127.0.0.1", 0))
            weakref.finalize(self, self._sock.close)
            self.port: int = self._sock.getsockname()[1]
            self._hub = SocketHub(self.ids, ws.violations)
            handlers = {**CHAT_HANDLERS, **MISC_HANDLERS, **FILE_HANDLERS, **SEARCH_HANDLERS}
            handlers["apps.connections.open"] = self._open_socket
            limiter = RateLimiter(rate_limits or SlackRateLimits())
            self._api = WebApi(ws, load_specs(), handlers, limiter)
            self._teams: dict[str, FakeSlack] = {}
            self.signing_secret = signing_secret or random_id("", 32).lower()
            self._http: HttpEvents | None = None
            if client_id is not None:
                self._api.oauth = OAuthApp(
                    client_id,
                    client_secret or "",
                    manifest_data.bot_scopes,
                    self._api.add_token,
                    ws.violations,
                    rotation=token_rotation,
                )
        else:
            self.port = _host.port
            self._hub, self._api, self._teams = _host._hub, _host._api, _host._teams
            self.signing_secret = _host.signing_secret
        ws.base_url = self.base_url
        self._teams[team_id] = self
        if installed:
            self._api.add_token(bot_token, ws)
        elif bot_token in self._api.tokens:
            del self._api.tokens[bot_token]
            ws.bot_tokens.discard(bot_token)
        self._hooks, self._uploads = Hooks(ws), UploadUrls(ws)

    # ---- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Serve on 127.0.0.1 (the port is picked at construction, so api_url is known early)."""
        if self._host is not self:
            return  # a workspace added to another fake: that one serves
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api.handle)
        app.router.add_get("/link/", self._hub.handle)
        for hook in ("commands", "actions"):  # slash command and block_actions response_urls
            app.router.add_post(f"/{hook}/{{team}}/{{number}}/{{key}}", self._response_url)
        app.router.add_get("/files-pri/{slug}/{name}", self._file_download)
        app.router.add_post("/upload/v1/{ticket}", self._upload)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._host is not self:
            return
        for team in self._teams.values():
            for task in list(team._tasks):
                task.cancel()
        await self._hub.close()
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._sock.close()

    # ---- the server's routes, each to the workspace it names ---------------------------------
    def _team(self, team_id: str) -> FakeSlack:
        return self._teams.get(team_id, self)

    async def _response_url(self, request: web.Request) -> web.Response:
        return await self._team(request.match_info["team"])._hooks.response_url(request)

    async def _file_download(self, request: web.Request) -> web.Response:
        team = request.match_info["slug"].rsplit("-", 1)[0]
        return await self._team(team)._hooks.file_download(request)

    async def _upload(self, request: web.Request) -> web.Response:
        ticket = request.match_info["ticket"]
        owner = next((t for t in self._teams.values() if ticket in t._ws.uploads), self)
        return await owner._uploads.receive(request)

    # ---- more workspaces of the same app -------------------------------------------------------
    def add_team(
        self,
        team_id: str,
        *,
        bot_user_id: str = "U0BOT2",
        bot_id: str = "B0BOT2",
        enterprise_id: str | None = None,
        installed: bool = True,
    ) -> FakeSlack:
        """Another workspace the same app is in (or, `installed=False`, may be installed in):
        same server, app id and app token; its own bot user, bot token, people and channels.
        Returns its facade (add_user, add_channel, user_message… act in that workspace)."""
        return FakeSlack(
            team_id=team_id,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            app_id=self.ids.app_id,
            bot_token=f"xoxb-{team_id.lower()}-bot-token",
            app_token=self.ids.app_token,
            enterprise_id=enterprise_id,
            installed=installed,
            _host=self._host,
        )

    # ---- HTTP mode and the install flow ------------------------------------------------------
    def deliver_over_http(self, url: str) -> None:
        """From now on events, commands and interactions are POSTed to the app's request URL
        (signed with `signing_secret`) instead of going over Socket Mode."""
        host = self._host
        if self._ws.manifest.socket_mode or not self._ws.manifest.request_url:
            self.violations.append(
                f"{self.manifest_path.name} turns Socket Mode on (or has no request_url): "
                "Slack would not post events to the app"
            )
        host._http = HttpEvents(url, host.signing_secret, self.violations)

    @property
    def http(self) -> HttpEvents:
        """The HTTP side (after deliver_over_http): raw posts, url_verification, acks."""
        if self._host._http is None:
            raise RuntimeError("call deliver_over_http(url) first")
        return self._host._http

    def approve_install(self, authorize_url: str) -> tuple[str, str]:
        """A person of this workspace approves the install the app's link asks for; returns the
        (code, state) Slack puts on the app's redirect URL."""
        oauth = self._api.oauth
        if not isinstance(oauth, OAuthApp):
            raise RuntimeError("build the fake with client_id and client_secret for OAuth")
        return oauth.approve(authorize_url, self._ws)

    @property
    def installed(self) -> bool:
        """The app holds a token Slack accepts for this workspace."""
        return bool(self._ws.bot_tokens)

    async def uninstall(self) -> None:
        """Someone removes the app from this workspace: its tokens stop working, then Slack
        sends tokens_revoked and app_uninstalled."""
        self._api.revoke(self._ws)
        revoked = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [self.ids.bot_user_id]}}
        for event in (revoked, {"type": "app_uninstalled"}):
            event["event_ts"] = f"{time.time():.6f}"
            payload = event_callback(self.ids, event, self.verification_token)
            await self.send_envelope("events_api", payload)

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """What SLACK_API_URL / AsyncWebClient(base_url=...) expects (trailing slash)."""
        return f"{self.base_url}/api/"

    # ---- world setup -----------------------------------------------------------------------
    def add_user(
        self,
        user_id: str,
        name: str,
        real_name: str | None = None,
        *,
        team: str | None = None,
        restricted: bool = False,
        tz: str = "Europe/London",
    ) -> None:
        """A person of this workspace, or (`team`) of another organisation: a Slack Connect
        user, whose events name their own team; `restricted`: a guest, who sees only the
        channels they are a member of."""
        user = User(
            user_id, name, real_name or name.title(), team=team, restricted=restricted, tz=tz
        )
        self._ws.add_user(user)

    def remove_member(self, channel_id: str, user_id: str) -> None:
        """Someone leaves (or is removed from) a channel."""
        self._ws.require_channel(channel_id).members.discard(user_id)

    def add_member(self, channel_id: str, user_id: str) -> None:
        """Someone joins a channel."""
        self._ws.require_user(user_id)
        self._ws.require_channel(channel_id).members.add(user_id)

    def post_as(self, channel: str, user: str, text: str, *, thread_ts: str | None = None) -> str:
        """A message someone posted earlier, with no event for the bot; returns its ts."""
        _conv, msg = post_as_user(self._ws, channel, user, text, thread_ts, None)
        return msg.ts

    def permalink(self, channel: str, ts: str) -> str:
        """What chat.getPermalink answers for this message."""
        conv = self._ws.require_channel(channel)
        return permalink(self._ws, conv, conv.by_ts[ts])

    def set_ai_search(self, enabled: bool) -> None:
        """Turn the workspace's AI search (assistant.search.*) on or off."""
        self._ws.ai_search_enabled = enabled

    def expire_action_tokens(self) -> None:
        """Every action_token handed out so far stops working (they are short-lived)."""
        self._ws.action_tokens.clear()

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        members: set[str] | None = None,
        is_private: bool = False,
        ext_shared: bool = False,
    ) -> None:
        """A channel; `members` is the exact member set (default: just the bot); `ext_shared`:
        a Slack Connect channel, shared with another organisation."""
        chosen = set(members) if members is not None else {self.ids.bot_user_id}
        channel = Channel(channel_id, name, chosen, self._created(), is_private=is_private)
        channel.is_ext_shared = ext_shared
        self._ws.add_channel(channel)

    def add_im(self, channel_id: str, user_id: str) -> None:
        """The DM ("D...") between `user_id` and the bot."""
        if not channel_id.startswith("D"):
            raise ValueError(f"DM ids start with D, got {channel_id!r}")
        self._ws.require_user(user_id)
        members = {user_id, self.ids.bot_user_id}
        self._ws.add_channel(
            Channel(channel_id, "", members, self._created(), is_im=True, im_user=user_id)
        )

    def archive_channel(self, channel_id: str) -> None:
        self._ws.require_channel(channel_id).is_archived = True

    def add_file(
        self, file: JsonDict, content: bytes | str | None = None, *, host: str | None = None
    ) -> JsonDict:
        """Register a file for files.info (and url_private download); returns the stored object.
        With `host` (e.g. "localhost") its URLs name that host instead of 127.0.0.1: the same
        server, playing a host that is not Slack's file host."""
        url_base = f"http://{host}:{self.port}" if host else None
        return add_file(self._ws, file, content, url_base)

    @staticmethod
    def connect_stub(file_id: str) -> JsonDict:
        """The stub a Slack Connect event carries for a file (resolve it with files.info)."""
        return connect_stub(file_id)

    def revoke_scope(self, scope: str) -> None:
        """Take a scope back from the bot token (e.g. files:read, to get the sign-in page)."""
        self._ws.granted = self._ws.granted - {scope}

    def expire_stream(self, ts: str) -> None:
        """The stream at `ts` times out: later appends get message_not_in_streaming_state."""
        channel = self._ws.find_message_channel(ts)
        if channel is None:
            raise ValueError(f"no message with ts {ts}")
        channel.by_ts[ts].streaming = False

    def _created(self) -> int:
        return int(time.time())

    # ---- Socket Mode -------------------------------------------------------------------------
    def _open_socket(self, ws: Workspace, call: Call) -> JsonDict:
        if self._http is not None:
            ws.violation("apps.connections.open: this app delivers its events over HTTP")
        ticket = self._hub.issue_ticket()
        url = f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.ids.app_id}"
        return {"ok": True, "url": url}

    @property
    def connection_count(self) -> int:
        """Open Socket Mode connections that got `hello` (draining ones excluded)."""
        return self._hub.connection_count

    @property
    def connections_opened(self) -> int:
        return self._hub.connections_opened

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await self._hub.wait_connected(timeout)

    async def send_envelope(
        self,
        envelope_type: str,
        payload: JsonDict,
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        accepts_response_payload: bool = False,
        connection: int | None = None,
    ) -> str:
        """Push one envelope to one connection (queued until one is open; `connection`: to the
        n-th opened one), or in HTTP mode POST it to the app; returns its id (wait_ack takes
        it)."""
        http = self._host._http
        if http is not None:
            self.envelopes.append({"type": envelope_type, "payload": payload})
            return http.post(
                envelope_type, payload, retry_attempt=retry_attempt, retry_reason=retry_reason
            )
        env = envelope(
            envelope_type,
            payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
            accepts_response_payload=accepts_response_payload,
        )
        self.envelopes.append(env)
        await self._hub.push(env, connection)
        return str(env["envelope_id"])

    async def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> Ack:
        http = self._host._http
        if http is not None:
            return await http.wait_ack(envelope_id, timeout)
        return await self._hub.wait_ack(envelope_id, timeout)

    @property
    def pending_envelopes(self) -> list[JsonDict]:
        """Envelopes waiting for a connection (delivered, in order, to the next one)."""
        return self._hub.pending

    @property
    def acks(self) -> dict[str, Ack]:
        http = self._host._http
        return http.acks if http is not None else self._hub.acks

    def drop_next(self, method: str, times: int = 1) -> None:
        """The next `times` calls of a Web API method lose their connection before any answer."""
        self._api.drops[method] += times

    async def drop_connections(self) -> None:
        """Cut every socket without a close frame; the client has to notice and reconnect."""
        self._hub.drop_all()
        await asyncio.sleep(0)

    async def send_disconnect(
        self, reason: str = "refresh_requested", *, close_after: float = 1.0
    ) -> None:
        """Slack's `disconnect` message; the sockets are closed `close_after` seconds later."""
        await self._hub.disconnect_all(reason, close_after)

    def _emit(self, event: JsonDict) -> None:
        """Events Slack raises on its own (echoes of the bot's posts), pushed asynchronously."""
        task = asyncio.get_running_loop().create_task(self._push_event(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _push_event(self, event: JsonDict) -> None:
        payload = event_callback(self.ids, event, self.verification_token)
        self._payloads[payload["event_id"]] = payload
        await self.send_envelope("events_api", payload)

    # ---- what users do ---------------------------------------------------------------------
    async def user_message(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        files: list[JsonDict] | None = None,
    ) -> Delivery:
        """A person posts; Slack stores it and pushes the event the app subscribed to, if any."""
        conv, msg = post_as_user(self._ws, channel, user, text, thread_ts, files)
        subscription = subscription_for(self._ws, conv, text)
        event_type = "app_mention" if subscription == "app_mention" else "message"
        event = user_message_event(msg, conv, self.ids, event_type, self._ws.users[user])
        if subscription in ("app_mention", "message.im"):  # the person acted: search as them
            event["action_token"] = self._ws.issue_action_token(user)
        if subscription is None:
            return Delivery(msg.ts, None, None, event)
        payload = event_callback(
            self.ids, event, self.verification_token, ext_shared=conv.is_ext_shared
        )
        self._payloads[payload["event_id"]] = payload
        envelope_id = await self.send_envelope("events_api", payload)
        return Delivery(msg.ts, envelope_id, payload["event_id"], event)

    async def redeliver(
        self, delivery: Delivery, *, retry_attempt: int = 1, retry_reason: str = "timeout"
    ) -> str:
        """Slack's retry of an event: same payload and event_id, new envelope_id."""
        if delivery.event_id is None:
            raise ValueError("this message produced no event, so there is nothing to redeliver")
        payload = self._payloads[delivery.event_id]
        return await self.send_envelope(
            "events_api", payload, retry_attempt=retry_attempt, retry_reason=retry_reason
        )

    async def slash_command(self, command: str, text: str, *, user: str, channel: str) -> str:
        """A person runs one of the manifest's slash commands; returns the envelope_id."""
        payload = slash_command(self._ws, command, text, user, channel, self.verification_token)
        return await self.send_envelope("slash_commands", payload, accepts_response_payload=True)

    # ---- observation -----------------------------------------------------------------------
    @property
    def calls(self) -> list[ApiCall]:
        return self._api.calls

    @property
    def rate_limited(self) -> list[ApiCall]:
        return self._api.rate_limited

    @property
    def violations(self) -> list[str]:
        return self._ws.violations

    @property
    def broadcasts(self) -> list[tuple[str, str, str]]:
        """Broadcast mentions (@channel, @here, @everyone, a user group) any message of the bot
        ever showed, as (channel, ts, mention): each would have notified many people."""
        return [
            (channel.id, msg.ts, mention)
            for channel in self._ws.channels.values()
            for msg in channel.messages
            if msg.bot_id == self.ids.bot_id
            for mention in msg.broadcasts
        ]

    @property
    def ephemerals(self) -> list[EphemeralMessage]:
        return self._ws.ephemerals

    @property
    def views(self) -> list[JsonDict]:
        return self._ws.views

    @property
    def response_url_posts(self) -> list[JsonDict]:
        return self._hooks.response_url_posts

    @property
    def downloads(self) -> list[JsonDict]:
        """File downloads: host asked, path, file id, whether the bot token was sent."""
        return self._hooks.downloads

    @property
    def statuses(self) -> list[tuple[float, str, str, str]]:
        """assistant.threads.setStatus history: (monotonic time, channel, thread_ts, status)."""
        return self._ws.statuses

    def thread_status(self, channel: str, thread_ts: str) -> str:
        """The status a user sees under the thread now ("" when none)."""
        return self._ws.current_status.get((channel, thread_ts), "")

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self._api.calls if c.method == method]

    def messages(self, channel: str) -> list[StoredMessage]:
        """Every message of the channel (replies and deleted ones included), in ts order."""
        return list(self._ws.require_channel(channel).messages)

    def thread(self, channel: str, thread_ts: str) -> list[StoredMessage]:
        """Root + replies, in order (deleted ones included, flagged)."""
        return self._ws.thread(self._ws.require_channel(channel), thread_ts)

    def bot_replies(self, channel: str, thread_ts: str | None) -> list[StoredMessage]:
        """Live bot messages in the thread (not its root); None -> top-level bot messages."""
        conv = self._ws.require_channel(channel)
        if thread_ts is None:
            pool = [m for m in conv.messages if m.thread_ts is None]
        else:
            pool = conv.replies.get(thread_ts, [])
        return [m for m in pool if m.bot_id == self.ids.bot_id and not m.deleted]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Poll `predicate` every ~10 ms; TimeoutError says what the fake saw meanwhile."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise TimeoutError(self._timeout_report(predicate, timeout))
            await asyncio.sleep(0.01)

    def _timeout_report(self, predicate: Callable[[], Any], timeout: float) -> str:
        name = getattr(predicate, "__qualname__", repr(predicate))
        recent = [
            f"{c.method}->{c.status}:{c.response.get('error', 'ok')}" for c in self.calls[-8:]
        ]
        return (
            f"condition {name} still false after {timeout}s; last calls: {recent or 'none'}; "
            f"violations: {self.violations[-5:] or 'none'}; connections: {self.connection_count}"
        )
