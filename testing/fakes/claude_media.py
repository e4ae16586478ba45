"""What the fake Claude checks inside image and document blocks, as the real API does.

Limits (Claude docs "Vision" and "PDF support", as stored for the `search` tool): an image of at
most 5 MB as base64 and 8000 px per edge, 2000 px when the request has more than 20 images; at most
100 images and 100 PDF pages per request on 200k-context models, 600 on the others; the declared
media type must match the bytes; PDFs must be standard (not encrypted). File sources need the Files
API beta header and a file of a fitting type. A `container_upload` block (Files API file for code
execution, Claude docs "Files API": "Datasets, others → container_upload") needs the beta header,
an existing file and a code execution tool in the request. Wording checked against public
reports: the 8000 px message; made up here: the rest.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from testing.fakes.claude_errors import invalid
from testing.fakes.claude_files import FileStore, require_files_beta
from testing.fakes.claude_models import ModelRules

MAX_IMAGE_BASE64 = 5 * 1024 * 1024
MAX_EDGE = 8000
MAX_EDGE_MANY = 2000
MANY_IMAGES = 20
SMALL_CONTEXT = 200_000
FORMAT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
DOCUMENT_FILE_TYPES = ("application/pdf", "text/plain")


@dataclass
class MediaCount:
    """Images and PDF pages seen in one request."""

    images: int = 0
    pdf_pages: int = 0


def media_blocks(body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, block) for each image and document block, tool results included."""
    for i, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, dict) else None
        for j, block in enumerate(content if isinstance(content, list) else []):
            yield from _walk(block, f"messages.{i}.content.{j}")


def _walk(block: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(block, dict):
        return
    if block.get("type") in ("image", "document"):
        yield where, block
    elif block.get("type") == "tool_result" and isinstance(block.get("content"), list):
        for k, inner in enumerate(block["content"]):
            yield from _walk(inner, f"{where}.content.{k}")


def container_uploads(body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, block) for each container_upload block of the request's messages."""
    for i, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, dict) else None
        for j, block in enumerate(content if isinstance(content, list) else []):
            if isinstance(block, dict) and block.get("type") == "container_upload":
                yield f"messages.{i}.content.{j}", block


def validate_container_uploads(body: dict[str, Any], headers: Any, files: FileStore) -> None:
    """A container_upload block (a Files API file put into code execution's container, SDK
    ContainerUploadBlockParam) needs the Files API beta header, a file that exists, and the
    code execution tool in the request: without it there is no container to put the file in."""
    uploads = list(container_uploads(body))
    if not uploads:
        return
    require_files_beta(headers)
    for where, block in uploads:
        file_id = str(block.get("file_id", ""))
        if file_id not in files.files:
            raise invalid(f"{where}.file_id: File not found: {file_id}")
    tools = body.get("tools") if isinstance(body.get("tools"), list) else []
    if not any(str(t.get("type", "")).startswith("code_execution_") for t in tools or []):
        raise invalid(
            f"{uploads[0][0]}: container_upload blocks require the code execution tool "
            "(a code_execution_* tool in `tools`)"
        )


def validate_media(body: dict[str, Any], headers: Any, files: FileStore, rules: ModelRules) -> None:
    """Raise the API's 400 for the first image or document it would reject (and for a
    container_upload the API would refuse)."""
    validate_container_uploads(body, headers, files)
    blocks = list(media_blocks(body))
    images = sum(1 for _, block in blocks if block["type"] == "image")
    per_request = 100 if rules.context_window <= SMALL_CONTEXT else 600
    if images > per_request:
        raise invalid(f"messages: too many images: {images} > {per_request} per request")
    edge = MAX_EDGE_MANY if images > MANY_IMAGES else MAX_EDGE
    count = MediaCount()
    for where, block in blocks:
        data, declared = _payload(block, where, headers, files)
        if block["type"] == "image":
            _check_image(data, declared, where, edge)
        elif declared == "application/pdf":
            count.pdf_pages += _pdf_pages(data, where)
    if count.pdf_pages > per_request:
        raise invalid(f"messages: A maximum of {per_request} PDF pages may be provided.")


def _payload(
    block: dict[str, Any], where: str, headers: Any, files: FileStore
) -> tuple[bytes, str]:
    """The block's bytes and media type (b"" for URL and plain-text sources, not checked)."""
    source = block["source"]
    kind = source.get("type")
    if kind == "base64":
        data = str(source.get("data", ""))
        if block["type"] == "image" and len(data) > MAX_IMAGE_BASE64:
            raise invalid(
                f"{where}.source.base64: image exceeds 5 MB maximum: {len(data)} bytes > "
                f"{MAX_IMAGE_BASE64} bytes"
            )
        try:
            return base64.b64decode(data, validate=True), str(source.get("media_type"))
        except (binascii.Error, ValueError):
            raise invalid(f"{where}.source.base64.data: invalid base64 data") from None
    if kind == "file":
        require_files_beta(headers)
        file_id = str(source.get("file_id", ""))
        stored = files.files.get(file_id)
        if stored is None:
            raise invalid(f"{where}.source.file.file_id: File not found: {file_id}")
        allowed = tuple(FORMAT_TYPES.values()) if block["type"] == "image" else DOCUMENT_FILE_TYPES
        if stored.mime_type not in allowed:
            raise invalid(
                f"{where}.source.file: a file of type {stored.mime_type} can't be used in "
                f"{block['type']} blocks"
            )
        return stored.data, stored.mime_type
    if kind == "text" and source.get("media_type") != "text/plain":
        raise invalid(f"{where}.source.text.media_type: Input should be 'text/plain'")
    return b"", "text/plain" if kind == "text" else ""


def _check_image(data: bytes, declared: str, where: str, edge: int) -> None:
    if not data:
        return
    try:
        with Image.open(io.BytesIO(data)) as image:
            actual, size = FORMAT_TYPES.get(image.format or ""), image.size
    except (UnidentifiedImageError, OSError, ValueError):
        raise invalid(f"{where}.source.data: Could not process image") from None
    if actual != declared:
        raise invalid(
            f"{where}.source.data: Image does not match the provided media type {declared}"
        )
    if max(size) > edge:
        raise invalid(
            f"{where}.source.data: At least one of the image dimensions exceed max allowed size: "
            f"{edge} pixels"
        )


def _pdf_pages(data: bytes, where: str) -> int:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise invalid(f"{where}.source.data: The PDF specified is encrypted.")
        return len(reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, OSError):
        raise invalid(f"{where}.source.data: The PDF specified was not valid.") from None
