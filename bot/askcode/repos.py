"""The configured repositories (ASK_CODE_REPOS): names, locations, protocols and web links."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
SCP_LIKE = re.compile(r"^(?:[A-Za-z0-9._-]+@)?([A-Za-z0-9.-]+):(?!//)([^\s]+)$")
REMOTE_PROTOCOLS = ("https", "ssh")  # plain http, git://, ext:: and fd:: are refused


class RepoConfigError(ValueError):
    """ASK_CODE_REPOS names something the bot will not fetch; the message says what."""


@dataclass(frozen=True)
class RepoSpec:
    """One configured repository: its name in Slack and where git fetches it from."""

    name: str
    location: str  # as configured: a local path or a git URL
    url: str  # what git fetches: https://, ssh:// or scp-like, or file:// for a local path
    protocol: str  # "https" | "ssh" | "file"
    web: str | None = None  # the project's web page, when the location does not show it

    @property
    def link_base(self) -> str:
        """What citation links are made from: the web page if configured, else the location."""
        return self.web or self.location

    @property
    def display_location(self) -> str:
        """The location without any credentials in it, for people and logs."""
        return strip_credentials(self.location)


def parse_repos(value: str) -> dict[str, RepoSpec]:
    """`name=location,...` into specs by name; raises RepoConfigError on a bad entry."""
    repos: dict[str, RepoSpec] = {}
    for raw in value.split(","):
        entry = raw.strip()
        if not entry:
            continue
        name, sep, location = (part.strip() for part in entry.partition("="))
        if not sep or not location:
            raise RepoConfigError(f"entry {name!r} needs the form name=location")
        if not NAME.match(name) or name.lower() == "list":
            raise RepoConfigError(f"{name!r} is not a usable repository name")
        if name in repos:
            raise RepoConfigError(f"{name!r} is configured twice")
        repos[name] = repo_spec(name, location)
    return repos


def with_links(repos: dict[str, RepoSpec], value: str) -> dict[str, RepoSpec]:
    """`name=https://github.com/org/repo,...` (ASK_CODE_LINKS) as the repositories' web pages,
    for locations that do not show them (a local mirror); raises RepoConfigError."""
    linked = dict(repos)
    for raw in value.split(","):
        name, sep, url = (part.strip() for part in raw.partition("="))
        if not raw.strip():
            continue
        if not sep or name not in linked:
            raise RepoConfigError(f"{name!r} is not a configured repository")
        if web_base(url) is None:
            raise RepoConfigError(f"{name}: {url!r} is not a GitHub, GitLab or Bitbucket page")
        linked[name] = replace(linked[name], web=url)
    return linked


def repo_spec(name: str, location: str) -> RepoSpec:
    """The spec for one location: a URL with an allowed protocol, or a local directory."""
    if location.startswith("-"):
        raise RepoConfigError(f"{name}: a location may not start with '-'")
    parts = urlsplit(location)
    if parts.scheme and "://" in location:
        scheme = parts.scheme.lower()
        if scheme == "file":
            return RepoSpec(name, location, location, "file")
        if scheme not in REMOTE_PROTOCOLS:
            raise RepoConfigError(f"{name}: protocol {scheme!r} is not allowed (https or ssh)")
        return RepoSpec(name, location, location, scheme)
    if "::" in location:
        raise RepoConfigError(f"{name}: git remote helpers (X::) are not allowed")
    if SCP_LIKE.match(location) and not Path(location).exists():
        return RepoSpec(name, location, location, "ssh")
    path = Path(location).expanduser().resolve()
    return RepoSpec(name, location, path.as_uri(), "file")


def strip_credentials(location: str) -> str:
    """A URL with any user:password@ removed (scp-like and paths are returned as they are)."""
    parts = urlsplit(location)
    if "://" not in location or "@" not in parts.netloc:
        return location
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def web_base(location: str) -> tuple[str, str] | None:
    """(host kind, https base URL of the project) for GitHub, GitLab and Bitbucket remotes."""
    parts = urlsplit(location)
    if "://" in location and parts.scheme in REMOTE_PROTOCOLS:
        host, path = (parts.hostname or "").lower(), parts.path
    else:
        scp = SCP_LIKE.match(location)
        if scp is None:
            return None
        host, path = scp.group(1).lower(), "/" + scp.group(2)
    path = path.rstrip("/").removesuffix(".git")
    if path.count("/") < 2:
        return None
    if host == "github.com" or host.startswith("github."):
        return "github", f"https://{host}{path}"
    if "gitlab" in host:
        return "gitlab", f"https://{host}{path}"
    if host == "bitbucket.org":
        return "bitbucket", f"https://{host}{path}"
    return None


def line_link(location: str, commit: str, path: str, start: int, end: int) -> str | None:
    """The web page of a file's lines at an exact commit, when the host is known."""
    base = web_base(location)
    if base is None:
        return None
    kind, url = base
    quoted = quote(path)
    if kind == "github":
        anchor = f"L{start}" if start == end else f"L{start}-L{end}"
        return f"{url}/blob/{commit}/{quoted}#{anchor}"
    if kind == "gitlab":
        anchor = f"L{start}" if start == end else f"L{start}-{end}"
        return f"{url}/-/blob/{commit}/{quoted}#{anchor}"
    return f"{url}/src/{commit}/{quoted}#lines-{start}:{end}"
