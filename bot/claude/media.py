"""Images and documents in a request (pure): the Files API beta header, the per-request image
limit, and what images and PDF pages cost in tokens.

Claude docs ("Vision"): above 20 images in one request each image may be at most 2000 px per edge
(8000 px otherwise); the bot sends images up to the model's edge (2576 px on the newest models),
so a request keeps only the newest 20 images of a thread and names the older ones in text.
"""

from __future__ import annotations

import math
from typing import Any

from bot.conversation.messages import ChatMessage

FILES_BETA = "files-api-2025-04-14"
MAX_FULL_SIZE_IMAGES = 20
OLDER_IMAGE = "[An earlier image of this conversation, no longer shown: only the newest 20 are.]"
# Claude docs ("Vision"): an image costs about width × height / 750 tokens (as sent, i.e. after
# the downscale to the model's edge). "PDF support": each page is its text plus the page as an
# image, 1,500-3,000 tokens a page for typical pages; the upper figure is used, so a thread of
# PDFs is trimmed a little early rather than sent to fail.
PIXELS_PER_TOKEN = 750
PDF_PAGE_TOKENS = 3_000


def image_tokens(width: int, height: int) -> int:
    """The tokens an image of this size costs the model."""
    return max(1, math.ceil(width * height / PIXELS_PER_TOKEN))


def pdf_tokens(pages: int) -> int:
    """The tokens a PDF of this many pages costs the model (an upper estimate)."""
    return pages * PDF_PAGE_TOKENS


def _blocks(message: ChatMessage) -> list[Any]:
    content = message.get("content")
    return content if isinstance(content, list) else []


def _is_file_source(block: Any) -> bool:
    source = block.get("source") if isinstance(block, dict) else None
    return isinstance(source, dict) and source.get("type") == "file"


def _is_container_upload(block: Any) -> bool:
    return isinstance(block, dict) and block.get("type") == "container_upload"


def uses_files_api(messages: list[ChatMessage]) -> bool:
    """True when some block references a file uploaded with the Files API (an image or document
    source, or a file for code execution's container)."""
    return any(
        _is_file_source(block) or _is_container_upload(block)
        for message in messages
        for block in _blocks(message)
    )


CONTAINER_FILE_GONE = "[A file given to code execution earlier; code execution is off now.]"


def without_container_uploads(messages: list[ChatMessage]) -> list[ChatMessage]:
    """The messages with every container_upload block replaced by a short text block, for a
    request without code execution (the API takes those blocks only with it). Unchanged (the
    same objects) when there are none."""
    if not any(_is_container_upload(b) for message in messages for b in _blocks(message)):
        return messages
    out = []
    for message in messages:
        blocks = _blocks(message)
        if any(_is_container_upload(block) for block in blocks):
            content = [
                {"type": "text", "text": CONTAINER_FILE_GONE}
                if _is_container_upload(block)
                else block
                for block in blocks
            ]
            message = {**message, "content": content}
        out.append(message)
    return out


def keep_newest_images(
    messages: list[ChatMessage], limit: int = MAX_FULL_SIZE_IMAGES
) -> list[ChatMessage]:
    """The messages with all but the newest `limit` images replaced by a short text block.
    Unchanged (the same objects) when the thread has at most `limit` images."""
    positions = [
        (m, b)
        for m, message in enumerate(messages)
        for b, block in enumerate(_blocks(message))
        if isinstance(block, dict) and block.get("type") == "image"
    ]
    dropped = positions[: max(0, len(positions) - limit)]
    if not dropped:
        return messages
    out = [dict(message) for message in messages]
    for m, b in dropped:
        content = list(out[m]["content"])
        content[b] = {"type": "text", "text": OLDER_IMAGE}
        out[m]["content"] = content
    return out
