"""The prompt as the cache sees it: blocks in prefix order (tools, system, messages), token
estimates, cumulative prefix hashes and cache breakpoints.

Token estimate (deterministic, also used by count_tokens): ceil(len(canonical JSON of the block
without cache_control) / 4); base64 images count clamp(ceil(bytes / 750), 85, 1600), URL or
file images 1600; PDF documents 1500 + bytes // 100, plain-text documents ceil(len(text) / 4).
A string `content` or `system` counts as one text block, as the API treats them.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from testing.fakes.claude_errors import invalid

MAX_BREAKPOINTS = 4
_NOT_CACHEABLE = frozenset({"thinking", "redacted_thinking"})


@dataclass(frozen=True, slots=True)
class PromptBlock:
    """One block of the prompt prefix."""

    path: str  # "tools.0", "system.1", "messages.3.content.2"
    key: bytes  # what the prefix hash chains over (role + canonical JSON for messages)
    tokens: int
    cache_control: dict[str, Any] | None
    markers: int  # cache_control markers on the block (nested tool_result content included)
    cacheable: bool  # may carry the automatic breakpoint


@dataclass(frozen=True, slots=True)
class Breakpoint:
    """A cache breakpoint: the prefix up to and including blocks[index]."""

    index: int
    ttl: str  # "5m" | "1h"
    path: str


@dataclass(frozen=True)
class PromptLayout:
    """Blocks with their cumulative tokens and prefix digests (digests[i] covers blocks[:i+1])."""

    blocks: list[PromptBlock]
    digests: list[bytes]
    cumulative: list[int]

    @property
    def total(self) -> int:
        """All input tokens of the request."""
        return self.cumulative[-1] if self.cumulative else 0


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _strip_cache_control(block: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in block.items() if k != "cache_control"}
    content = out.get("content")
    if isinstance(content, list):
        out["content"] = [_strip_cache_control(c) if isinstance(c, dict) else c for c in content]
    return out


def _media_tokens(kind: str, source: dict[str, Any]) -> int:
    source_type = source.get("type")
    data = source.get("data")
    size = len(data) * 3 // 4 if isinstance(data, str) else 0
    if kind == "image":
        return min(1600, max(85, math.ceil(size / 750))) if source_type == "base64" else 1600
    if source_type == "text" and isinstance(data, str):
        return math.ceil(len(data) / 4)
    return 1500 + size // 100


def _without_media(value: Any) -> tuple[Any, int]:
    """The value with image/document sources replaced, and the tokens those sources count."""
    if isinstance(value, list):
        parts = [_without_media(v) for v in value]
        return [p[0] for p in parts], sum(p[1] for p in parts)
    if not isinstance(value, dict):
        return value, 0
    source = value.get("source")
    if value.get("type") in ("image", "document") and isinstance(source, dict):
        rest = {k: v for k, v in value.items() if k != "source"}
        return rest, _media_tokens(str(value["type"]), source)
    out: dict[str, Any] = {}
    media = 0
    for k, v in value.items():
        out[k], n = _without_media(v)
        media += n
    return out, media


def block_tokens(block: dict[str, Any], canon: str) -> int:
    """The token estimate of one block (canonical JSON given, cache_control already gone)."""
    if block.get("type") == "text":
        return max(1, math.ceil(len(canon) / 4))
    rest, media = _without_media(block)
    if not media:
        return max(1, math.ceil(len(canon) / 4))
    return max(1, math.ceil(len(canonical(rest)) / 4) + media)


def _make_block(path: str, role: str, block: dict[str, Any]) -> PromptBlock:
    stripped = _strip_cache_control(block)
    canon = canonical(stripped)
    own = block.get("cache_control")
    inner = block.get("content")
    nested = [
        c["cache_control"]
        for c in (inner if isinstance(inner, list) else [])
        if isinstance(c, dict) and isinstance(c.get("cache_control"), dict)
    ]
    cc = own if isinstance(own, dict) else (nested[-1] if nested else None)
    empty_text = block.get("type") == "text" and not block.get("text")
    return PromptBlock(
        path=path,
        key=f"{role}\x1f{canon}".encode(),
        tokens=block_tokens(stripped, canon),
        cache_control=cc,
        markers=(1 if isinstance(own, dict) else 0) + len(nested),
        cacheable=role != "system" and block.get("type") not in _NOT_CACHEABLE and not empty_text,
    )


def _as_blocks(content: Any) -> list[Any]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return list(content) if isinstance(content, list) else []


def flatten(body: dict[str, Any]) -> list[PromptBlock]:
    """The request's blocks in prefix order: tools, then system, then messages."""
    blocks = [
        _make_block(f"tools.{i}", "tool", tool)
        for i, tool in enumerate(body.get("tools") or [])
        if isinstance(tool, dict)
    ]
    system = body.get("system")
    for i, part in enumerate(_as_blocks(system)):
        path = "system" if isinstance(system, str) else f"system.{i}"
        blocks.append(_make_block(path, "sys", part))
    for m, message in enumerate(body.get("messages") or []):
        role = str(message.get("role"))
        for j, part in enumerate(_as_blocks(message.get("content"))):
            if isinstance(part, dict):
                blocks.append(_make_block(f"messages.{m}.content.{j}", role, part))
    return blocks


def _is_image(block: Any) -> bool:
    if not isinstance(block, dict):
        return False
    nested = block.get("content")
    return block.get("type") == "image" or (
        isinstance(nested, list) and any(_is_image(c) for c in nested)
    )


def _has_images(body: dict[str, Any]) -> bool:
    """Images anywhere in the messages (the docs: adding or removing one changes that level)."""
    return any(
        _is_image(block)
        for message in body.get("messages") or []
        for block in _as_blocks(message.get("content"))
    )


def _salts(body: dict[str, Any]) -> tuple[bytes, bytes]:
    """Request settings that invalidate the system and the messages levels of the cache."""
    system_salt = canonical({"speed": body.get("speed") or "standard"}).encode()
    messages_salt = canonical(
        {
            "tool_choice": body.get("tool_choice"),
            "thinking": body.get("thinking"),
            "images": _has_images(body),
        }
    ).encode()
    return system_salt, messages_salt


def layout(model: str, body: dict[str, Any]) -> PromptLayout:
    """Blocks, cumulative tokens and prefix digests of a request (digests depend on the model)."""
    blocks = flatten(body)
    system_salt, messages_salt = _salts(body)
    digest = hashlib.blake2b(f"model\x1f{model}".encode(), digest_size=16).digest()
    digests: list[bytes] = []
    cumulative: list[int] = []
    running = 0
    section = "tools"
    for block in blocks:
        now_in = block.path.split(".", 1)[0]
        if now_in != section:
            section = now_in
            salt = messages_salt if section == "messages" else system_salt
            digest = hashlib.blake2b(digest + salt, digest_size=16).digest()
        digest = hashlib.blake2b(digest + block.key, digest_size=16).digest()
        running += block.tokens
        digests.append(digest)
        cumulative.append(running)
    return PromptLayout(blocks, digests, cumulative)


def total_tokens(body: dict[str, Any]) -> int:
    """The input token estimate of a request (what count_tokens answers)."""
    return max(1, sum(block.tokens for block in flatten(body)))


def _auto_breakpoint(blocks: list[PromptBlock], auto: dict[str, Any]) -> Breakpoint | None:
    ttl = str(auto.get("ttl", "5m"))
    last = next((i for i in range(len(blocks) - 1, -1, -1) if blocks[i].cacheable), None)
    if last is None:
        return None
    marked = blocks[last].cache_control
    if marked is None:
        return Breakpoint(last, ttl, "cache_control")
    if str(marked.get("ttl", "5m")) != ttl:
        raise invalid(
            f"cache_control.ttl: the top-level cache_control ttl='{ttl}' differs from the "
            f"ttl='{marked.get('ttl', '5m')}' of the cache_control already on the last "
            f"cacheable block ({blocks[last].path})"
        )
    return None


def breakpoints(blocks: list[PromptBlock], body: dict[str, Any]) -> list[Breakpoint]:
    """Breakpoints in prefix order; raises the API's 400s (more than 4, 1h after 5m)."""
    found = [
        Breakpoint(i, str((b.cache_control or {}).get("ttl", "5m")), b.path)
        for i, b in enumerate(blocks)
        if b.cache_control is not None
    ]
    markers = sum(b.markers for b in blocks)
    auto = body.get("cache_control")
    if isinstance(auto, dict) and (extra := _auto_breakpoint(blocks, auto)) is not None:
        found.append(extra)
        found.sort(key=lambda bp: bp.index)
        markers += 1
    if markers > MAX_BREAKPOINTS:
        raise invalid(
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {markers}."
        )
    _check_ttl_order(found)
    return found


def _check_ttl_order(found: list[Breakpoint]) -> None:
    seen_5m = False
    for bp in found:
        if bp.ttl == "1h" and seen_5m:
            where = "cache_control" if bp.path == "cache_control" else f"{bp.path}.cache_control"
            raise invalid(
                f"{where}.ttl: a ttl='1h' cache_control block must not come after a ttl='5m' "
                "cache_control block. Note that blocks are processed in the following order: "
                "`tools`, `system`, `messages`."
            )
        seen_5m = seen_5m or bp.ttl == "5m"
