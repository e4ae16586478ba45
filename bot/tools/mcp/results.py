"""An MCP tool result as Claude `tool_result` content (pure).

Text stays text; an image becomes an image block (the formats Claude reads); structured content
becomes JSON text; a resource link or an embedded resource becomes text naming it (an embedded
image stays an image). Everything else is named in a short note rather than dropped silently.
Text past the cap is cut with a note saying how much there was. What a tool returns is data for
Claude to read: nothing here acts on it.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from mcp_types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    ContentBlock,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)

from bot.conversation.tools import JsonObject, ToolOutput

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # Claude's limit for one image sent through the API
MAX_IMAGES = 10


@dataclass
class _Builder:
    """Collects blocks in order, counting the text against the cap."""

    max_chars: int
    blocks: list[JsonObject] = field(default_factory=list)
    chars_seen: int = 0
    chars_kept: int = 0
    images: int = 0

    def text(self, text: str) -> None:
        self.chars_seen += len(text)
        room = self.max_chars - self.chars_kept
        if room <= 0 or not text:
            return
        kept = text[:room]
        self.chars_kept += len(kept)
        self.blocks.append({"type": "text", "text": kept})

    def image(self, data: str, media_type: str) -> None:
        media_type = media_type.lower()
        if media_type not in IMAGE_TYPES:
            self.text(
                f"[An image of type {media_type} was left out: Claude reads JPEG, PNG, GIF, WebP.]"
            )
            return
        size = _decoded_size(data)
        if size is None:
            self.text("[An image was left out: its data is not valid base64.]")
        elif size > MAX_IMAGE_BYTES:
            self.text(
                f"[An image of {size:,} bytes was left out: the limit is {MAX_IMAGE_BYTES:,}.]"
            )
        elif self.images >= MAX_IMAGES:
            self.text(f"[An image was left out: at most {MAX_IMAGES} images per result.]")
        else:
            self.images += 1
            source = {"type": "base64", "media_type": media_type, "data": data}
            self.blocks.append({"type": "image", "source": source})

    def finish(self, is_error: bool) -> ToolOutput:
        if self.chars_seen > self.chars_kept:
            note = (
                f"\n\n[Truncated: the result had {self.chars_seen:,} characters of text; the first "
                f"{self.chars_kept:,} are shown (BOT_MCP_MAX_RESULT_CHARS).]"
            )
            self.blocks.append({"type": "text", "text": note})
        if not self.blocks:
            self.blocks.append({"type": "text", "text": "(the tool returned nothing)"})
        return ToolOutput(tuple(self.blocks), is_error)


def _decoded_size(data: str) -> int | None:
    """The size of base64 data once decoded, or None if it is not base64 (checked only below the
    image limit: a bigger one is left out either way)."""
    estimate = len(data) * 3 // 4 - data[-2:].count("=")
    if estimate > MAX_IMAGE_BYTES:
        return estimate
    try:
        return len(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return None


def to_output(result: CallToolResult, *, max_chars: int) -> ToolOutput:
    """The result as tool_result content; `is_error` carries over."""
    builder = _Builder(max_chars)
    for block in result.content:
        _add_block(builder, block)
    structured = result.structured_content
    texts = [block.text for block in result.content if isinstance(block, TextContent)]
    if structured is not None and not _says_the_same(texts, structured):
        builder.text(json.dumps(structured, ensure_ascii=False, indent=1))
    return builder.finish(result.is_error)


def _says_the_same(texts: list[str], structured: Any) -> bool:
    """Whether the text blocks already are the structured content (the spec asks servers to
    send both; Claude reads it once). A tool returning a plain value has it wrapped as
    {"result": value} in the structured content."""
    if not texts:
        return False
    joined = "".join(texts)
    candidates = [structured]
    if isinstance(structured, dict) and set(structured) == {"result"}:
        candidates.append(structured["result"])
    try:
        parsed = json.loads(joined)
    except ValueError:
        parsed = None
    return any(joined == value or parsed == value for value in candidates)


def _add_block(builder: _Builder, block: ContentBlock) -> None:
    if isinstance(block, TextContent):
        builder.text(block.text)
    elif isinstance(block, ImageContent):
        builder.image(block.data, block.mime_type)
    elif isinstance(block, AudioContent):
        builder.text(f"[An audio clip ({block.mime_type}) was left out: Claude does not hear.]")
    elif isinstance(block, ResourceLink):
        about = f" — {block.description}" if block.description else ""
        kind = f" ({block.mime_type})" if block.mime_type else ""
        builder.text(f"[Resource link: {block.title or block.name} <{block.uri}>{kind}{about}]")
    elif isinstance(block, EmbeddedResource):
        _add_resource(builder, block.resource)


def _add_resource(builder: _Builder, resource: TextResourceContents | BlobResourceContents) -> None:
    kind = f" ({resource.mime_type})" if resource.mime_type else ""
    if isinstance(resource, TextResourceContents):
        builder.text(f"[Resource <{resource.uri}>{kind}:]\n{resource.text}")
    elif resource.mime_type and resource.mime_type.lower() in IMAGE_TYPES:
        builder.image(resource.blob, resource.mime_type)
    else:
        size = _decoded_size(resource.blob)
        bytes_ = f", {size:,} bytes" if size is not None else ""
        builder.text(f"[Binary resource <{resource.uri}>{kind}{bytes_} was left out.]")
