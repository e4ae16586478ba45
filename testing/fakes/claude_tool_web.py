"""Web search and web fetch as the fake runs them: the URLs of the prior context, domain filters,
the error codes, and the result blocks (shapes of ../shared/anthropic/server-tools/*_recorded.txt).

Rules (TOOLS.md, web_fetch_docs.txt, server_tools_docs.txt): web fetch only fetches URLs that
appeared earlier in the conversation — in user messages, client tool results, earlier web search or
web fetch results — not URLs Claude makes up or that code execution printed; URLs are at most 250
characters; domain filters match the host and its subdomains, a filter entry with a path never
matches a fetch (it does for search, `*` allowed in the path only).
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from testing.fakes.claude_script_tools import Hit, WebFetch, WebSearch

MAX_URL = 250
WEB_SEARCH_ERRORS = frozenset(
    {"invalid_tool_input", "invalid_input", "unavailable", "max_uses_exceeded"}
    | {"too_many_requests", "query_too_long", "request_too_large"}
)
WEB_FETCH_ERRORS = frozenset(
    {"invalid_tool_input", "url_too_long", "url_not_allowed", "url_not_in_prior_context"}
    | {"url_not_accessible", "unsupported_content_type", "too_many_requests"}
    | {"max_uses_exceeded", "unavailable", "content_too_large"}
)
_URL = re.compile(r"https?://[^\s<>\"'|`\\\]\[)(}{]+", re.IGNORECASE)


def encrypted(*parts: str) -> str:
    """A deterministic stand-in for encrypted_content / encrypted_index."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return "Eo8B" + base64.b64encode(digest + digest[:12]).decode()


def normalize(url: str) -> str:
    """Scheme and host lower-cased, trailing punctuation and slash dropped."""
    url = url.rstrip(".,;:!?*_~")
    parts = urlsplit(url)
    rest = url[len(parts.scheme) + 3 + len(parts.netloc) :]
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{rest}".rstrip("/")


def urls_in(text: str) -> set[str]:
    """The normalized http(s) URLs in a text (Slack's <url|label> form included)."""
    return {normalize(m.group(0)) for m in _URL.finditer(text)}


def _texts(value: Any) -> Iterator[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)


def _block_urls(block: dict[str, Any], role: str) -> set[str]:
    kind = block.get("type")
    if role == "user" and kind in ("text", "tool_result"):
        return {u for t in _texts(block.get("text") or block.get("content")) for u in urls_in(t)}
    if role == "assistant" and kind in ("web_search_tool_result", "web_fetch_tool_result"):
        content = block.get("content")
        found = {u for t in _texts(content) for u in urls_in(t)}
        return found | {normalize(u) for u in _result_urls(content)}
    return set()


def _result_urls(content: Any) -> Iterator[str]:
    items = content if isinstance(content, list) else [content]
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("url"), str):
            yield item["url"]


def prior_context(messages: list[Any]) -> set[str]:
    """The URLs web fetch may fetch, from the request's messages."""
    found: set[str] = set()
    for message in messages:
        role, content = message.get("role"), message.get("content")
        if role == "user" and isinstance(content, str):
            found |= urls_in(content)
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict):
                found |= _block_urls(block, str(role))
    return found


def _host_matches(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def domain_allows(tool: dict[str, Any], url: str, *, fetch: bool) -> bool:
    """Whether the tool's allowed_domains / blocked_domains let this URL through."""
    parts = urlsplit(url)
    host, path = (parts.hostname or "").lower(), parts.path or "/"

    def matches(entry: str) -> bool:
        domain, _, entry_path = entry.lower().partition("/")
        if not _host_matches(host, domain):
            return False
        if not entry_path:
            return True
        return not fetch and fnmatch.fnmatch(path, "/" + entry_path.rstrip("*") + "*")

    allowed, blocked = tool.get("allowed_domains"), tool.get("blocked_domains")
    if allowed is not None:
        return any(matches(e) for e in allowed)
    return not any(matches(e) for e in blocked or [])


def fetch_error(part: WebFetch, tool: dict[str, Any], known: set[str], over_limit: bool) -> str:
    """The error_code the API would answer this fetch with, or ""."""
    if over_limit:
        return "max_uses_exceeded"
    if len(part.url) > MAX_URL:
        return "url_too_long"
    if urlsplit(part.url).scheme.lower() not in ("http", "https"):
        return "invalid_tool_input"
    if not domain_allows(tool, part.url, fetch=True):
        return "url_not_allowed"
    if normalize(part.url) not in known:
        return "url_not_in_prior_context"
    return part.error or ""


def search_content(part: WebSearch, tool: dict[str, Any]) -> list[dict[str, Any]]:
    """The web_search_result list (hits outside the domain filters left out)."""
    return [_hit(hit) for hit in part.hits if domain_allows(tool, hit.url, fetch=False)]


def _hit(hit: Hit) -> dict[str, Any]:
    return {
        "type": "web_search_result",
        "title": hit.title,
        "url": hit.url,
        "encrypted_content": encrypted(hit.url, hit.content or hit.title),
        "page_age": hit.page_age,
    }


def fetch_content(part: WebFetch, tool: dict[str, Any]) -> dict[str, Any]:
    """The web_fetch_result: the page as a text (or PDF) document."""
    if part.pdf is not None:
        source = {
            "type": "base64",
            "media_type": "application/pdf",
            "data": base64.b64encode(part.pdf).decode(),
        }
    else:
        limit = tool.get("max_content_tokens")
        text = part.text[: limit * 4] if isinstance(limit, int) else part.text
        source = {"type": "text", "media_type": "text/plain", "data": text}
    document: dict[str, Any] = {"type": "document", "source": source}
    if part.title is not None:
        document["title"] = part.title
    citations = tool.get("citations")
    if isinstance(citations, dict) and citations.get("enabled"):
        document["citations"] = {"enabled": True}
    retrieved = time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())
    return {
        "type": "web_fetch_result",
        "url": part.url,
        "retrieved_at": retrieved,
        "content": document,
    }
