"""Downloading files shared in Slack: stubs resolved with files.info, the bot token sent only to
Slack's file hosts (never anywhere else, redirects included), a cap on the download size, and
Slack's sign-in page (what a token without files:read gets, with HTTP 200) recognised."""

from __future__ import annotations

import ipaddress
from urllib.parse import urljoin, urlsplit

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError

from bot.conversation.attachments import FileKind, file_kind
from bot.conversation.messages import FileRef
from bot.slack.api.workspaces import NotInstalled, SlackWorkspaces, Workspace
from bot.slack.handlers.inbound import file_ref_from
from bot.vision.problems import SCOPE_NOTICE, FileProblem, megabytes
from bot.vision.reader import Fetched

log = structlog.get_logger("bot.slack.api.files")

MAX_REDIRECTS = 3
REDIRECTS = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024
HTML_STARTS = (b"<!doctype html", b"<html")
GONE = "it was deleted, or I'm not allowed to see it."


def host_allowed(url: str, hosts: frozenset[str]) -> bool:
    """True when url may carry the bot token: one of Slack's file hosts, over HTTPS (plain HTTP
    only to a loopback address, which is what tests use)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or host not in hosts:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(host))


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def looks_like_html(data: bytes, content_type: str, *, sniff: bool = True) -> bool:
    """Slack's sign-in page instead of the file: served as HTML, or (sniff) starting like HTML."""
    if content_type.startswith("text/html"):
        return True
    return sniff and data[:512].lstrip().lower().startswith(HTML_STARTS)


def foreign_host(url: str) -> FileProblem:
    host = urlsplit(url).hostname or "an unknown host"
    return FileProblem(
        f"its link points to {host}, not to Slack's file host, so I didn't download it "
        "(I send my Slack token to Slack only)."
    )


class SlackFileSource:
    """Implements the vision reader's FileSource over Slack's Web API and file hosts, with the
    token of the workspace each file was shared in."""

    def __init__(
        self,
        workspaces: SlackWorkspaces,
        *,
        allowed_hosts: frozenset[str],
        max_bytes: int,
        timeout_seconds: float = 60.0,
    ) -> None:
        self._workspaces = workspaces
        self._hosts = allowed_hosts
        self._max_bytes = max_bytes
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the HTTP session, if one was opened."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, ref: FileRef) -> Fetched:
        """The file's bytes; FileProblem when it cannot be had."""
        workspace = await self._workspace(ref)
        if ref.url is None:
            ref = await self.resolve(ref, workspace)
        if ref.unavailable:
            raise FileProblem(ref.unavailable)
        if ref.url is None:
            raise FileProblem("Slack gave me no way to download it.")
        self._check_size(ref.size)
        data = await self._download(ref.url, ref, workspace.token)
        return Fetched(ref, data)

    async def _workspace(self, ref: FileRef) -> Workspace:
        try:
            return await self._workspaces.get(ref.workspace)
        except NotInstalled:
            raise FileProblem("this workspace's installation is gone.") from None

    async def resolve(self, ref: FileRef, workspace: Workspace | None = None) -> FileRef:
        """The full description of a file Slack sent as a stub (Slack Connect)."""
        workspace = workspace or await self._workspace(ref)
        try:
            response = await workspace.client.files_info(file=ref.id)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            log.warning("file.info_failed", file=ref.id, error=error)
            if error == "missing_scope":
                raise FileProblem(error, notice=SCOPE_NOTICE) from None
            if error in ("file_not_found", "file_deleted"):
                raise FileProblem(GONE) from None
            raise FileProblem(f"Slack wouldn't describe it ({error}).") from None
        file = response.get("file")
        resolved = file_ref_from(file, ref.workspace) if isinstance(file, dict) else None
        if resolved is None:
            raise FileProblem("Slack wouldn't describe it.")
        return resolved

    def _check_size(self, size: int | None) -> None:
        if size is not None and size > self._max_bytes:
            raise FileProblem(
                f"it is {megabytes(size)} and I download files up to {megabytes(self._max_bytes)}."
            )

    async def _download(self, url: str, ref: FileRef, token: str) -> bytes:
        session = self._session_open()
        for _ in range(MAX_REDIRECTS + 1):
            if not host_allowed(url, self._hosts):
                log.warning("file.host_refused", file=ref.id, host=urlsplit(url).hostname)
                raise foreign_host(url)
            headers = {"Authorization": f"Bearer {token}"}
            try:
                async with session.get(url, headers=headers, allow_redirects=False) as response:
                    if response.status in REDIRECTS and "Location" in response.headers:
                        url = urljoin(url, response.headers["Location"])
                        continue
                    return await self._body(response, ref)
            except (aiohttp.ClientError, TimeoutError):
                raise FileProblem("I couldn't download it from Slack. Try again.") from None
        raise FileProblem("Slack redirected its download too many times.")

    async def _body(self, response: aiohttp.ClientResponse, ref: FileRef) -> bytes:
        if response.status == 404:
            raise FileProblem(GONE)
        if response.status != 200:
            raise FileProblem(f"Slack answered its download with HTTP {response.status}.")
        self._check_size(response.content_length)
        data = bytearray()
        async for chunk in response.content.iter_chunked(CHUNK):
            data.extend(chunk)
            if len(data) > self._max_bytes:
                raise FileProblem(f"it is larger than {megabytes(self._max_bytes)}, my limit.")
        content_type = response.headers.get("Content-Type", "").lower()
        text = file_kind(ref) is FileKind.TEXT  # a text file may well start like HTML
        if not ref.mimetype.startswith("text/html") and looks_like_html(
            bytes(data), content_type, sniff=not text
        ):
            log.warning("file.sign_in_page", file=ref.id)
            raise FileProblem("missing files:read", notice=SCOPE_NOTICE)
        return bytes(data)

    def _session_open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session
