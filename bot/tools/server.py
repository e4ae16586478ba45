"""Anthropic's server tools (web search, web fetch, code execution): their definitions per model.

They run at Anthropic: the bot only offers them (BOT_TOOLS) and passes their blocks through.
Definitions are built once per model and reused, so the request's tools stay byte-stable and the
prompt cache keeps hitting. The web tools are called directly by Claude (`allowed_callers:
["direct"]`: their newest versions otherwise default to being called from inside code execution),
so each search and fetch shows in the thread as it happens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.claude.catalog import server_tool_type

JsonObject = dict[str, Any]
SERVER_TOOLS = ("web_search", "web_fetch", "code_execution")


class ServerToolsError(ValueError):
    """A server-tool setting that can't be used; the message names it."""


@dataclass(frozen=True)
class WebOptions:
    """The web tools' settings (BOT_WEB_*)."""

    search_max_uses: int = 5
    fetch_max_uses: int = 5
    allowed_domains: tuple[str, ...] = ()
    blocked_domains: tuple[str, ...] = ()
    location: dict[str, str] = field(default_factory=dict)  # city, region, country, timezone
    fetch_max_content_tokens: int = 25_000


def parse_names(value: str) -> tuple[str, ...]:
    """BOT_TOOLS: comma-separated names, each one of SERVER_TOOLS, in a fixed order."""
    names = {part.strip() for part in value.split(",") if part.strip()}
    unknown = sorted(names - set(SERVER_TOOLS))
    if unknown:
        raise ServerToolsError(f"unknown tool {', '.join(unknown)} (use {', '.join(SERVER_TOOLS)})")
    return tuple(name for name in SERVER_TOOLS if name in names)


def parse_domains(value: str) -> tuple[str, ...]:
    """A comma-separated domain list; a scheme is refused (the API matches bare domains)."""
    domains = tuple(part.strip().lower() for part in value.split(",") if part.strip())
    for domain in domains:
        if "://" in domain or " " in domain:
            raise ServerToolsError(f"{domain!r} is not a bare domain (no scheme, no spaces)")
    return domains


LOCATION_KEYS = ("city", "region", "country", "timezone")


def parse_location(value: str) -> dict[str, str]:
    """`country=GB,city=London,timezone=Europe/London` into the search's user location."""
    location: dict[str, str] = {}
    for part in value.split(","):
        if not part.strip():
            continue
        key, sep, item = (piece.strip() for piece in part.partition("="))
        if not sep or key not in LOCATION_KEYS or not item:
            raise ServerToolsError(f"{part.strip()!r}: use key=value with keys {LOCATION_KEYS}")
        location[key] = item
    if "country" in location and len(location["country"]) != 2:
        raise ServerToolsError("country is a two-letter ISO code, e.g. GB")
    return location


class ConfiguredServerTools:
    """The server tools BOT_TOOLS turns on, as each model's request wants them."""

    def __init__(self, names: tuple[str, ...], web: WebOptions) -> None:
        if web.allowed_domains and web.blocked_domains:
            raise ServerToolsError("set allowed or blocked domains, not both")
        self.names = names
        self._web = web
        self._cache: dict[str, tuple[JsonObject, ...]] = {}

    def for_model(self, model_id: str) -> tuple[JsonObject, ...]:
        """The definitions for this model (built once, then the same objects every call)."""
        if model_id not in self._cache:
            self._cache[model_id] = tuple(self._definition(n, model_id) for n in self.names)
        return self._cache[model_id]

    def _definition(self, name: str, model_id: str) -> JsonObject:
        tool: JsonObject = {"type": server_tool_type(model_id, name), "name": name}
        web = self._web
        if name in ("web_search", "web_fetch"):
            tool["allowed_callers"] = ["direct"]
            if web.allowed_domains:
                tool["allowed_domains"] = list(web.allowed_domains)
            if web.blocked_domains:
                tool["blocked_domains"] = list(web.blocked_domains)
        if name == "web_search":
            tool["max_uses"] = web.search_max_uses
            if web.location:
                tool["user_location"] = {"type": "approximate", **web.location}
        elif name == "web_fetch":
            tool["max_uses"] = web.fetch_max_uses
            tool["citations"] = {"enabled": True}
            tool["max_content_tokens"] = web.fetch_max_content_tokens
        return tool
