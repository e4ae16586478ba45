"""The Files API of the fake Claude: POST /v1/files (multipart), GET and DELETE /v1/files/{id}.

Checked against the Claude docs (API reference "Files", as stored for the `search` tool): the
endpoints are behind the `anthropic-beta: files-api-2025-04-14` header; the metadata object is
{type: "file", id, filename (1-500 chars), mime_type, size_bytes, created_at, downloadable}; files
are up to 500 MB. GET /v1/files/{id}/content downloads a file; only files a tool created (code
execution's output files) are downloadable, uploads are not (the SDK's FileNotDownloadableError:
400 with `error.details.error_code` "file_not_downloadable"). Wording of the error messages is
made up here (no public sample found).
"""

from __future__ import annotations

import mimetypes
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from testing.fakes.claude_errors import ApiError, invalid, new_id

FILES_BETA = "files-api-2025-04-14"
MAX_FILE_BYTES = 500 * 1024 * 1024
MAX_FILENAME = 500


def has_beta(headers: Any, beta: str) -> bool:
    """True when an `anthropic-beta` header (comma-separated, maybe repeated) names `beta`."""
    values = headers.getall("anthropic-beta", []) if hasattr(headers, "getall") else []
    return any(beta in (part.strip() for part in value.split(",")) for value in values)


def betas_of(headers: Any) -> frozenset[str]:
    """Every value of the `anthropic-beta` header(s)."""
    values = headers.getall("anthropic-beta", []) if hasattr(headers, "getall") else []
    return frozenset(part.strip() for value in values for part in value.split(",") if part.strip())


def require_files_beta(headers: Any) -> None:
    """The Files API, and file sources in messages, need the beta header."""
    if not has_beta(headers, FILES_BETA):
        raise invalid(f"The Files API requires the `anthropic-beta: {FILES_BETA}` header.")


@dataclass
class StoredFile:
    """One uploaded file."""

    id: str
    filename: str
    mime_type: str
    data: bytes
    created_at: str
    downloadable: bool = False  # True for files code execution created

    def metadata(self) -> dict[str, Any]:
        """The file object the API returns."""
        return {
            "type": "file",
            "id": self.id,
            "filename": self.filename,
            "mime_type": self.mime_type,
            "size_bytes": len(self.data),
            "created_at": self.created_at,
            "downloadable": self.downloadable,
        }


@dataclass
class FileStore:
    """Uploaded files by id, and every upload in order."""

    files: dict[str, StoredFile] = field(default_factory=dict)
    uploads: list[StoredFile] = field(default_factory=list)

    def get(self, file_id: str) -> StoredFile:
        """The file, or the API's 404."""
        stored = self.files.get(file_id)
        if stored is None:
            raise ApiError(404, "not_found_error", f"File not found: {file_id}")
        return stored

    async def upload(self, request: web.Request) -> StoredFile:
        """Store the `file` part of a multipart upload."""
        require_files_beta(request.headers)
        if not request.content_type.startswith("multipart/form-data"):
            raise invalid("Content-Type must be multipart/form-data")
        reader = await request.multipart()
        part = await reader.next()
        while part is not None and getattr(part, "name", None) != "file":
            part = await reader.next()
        if not isinstance(part, BodyPartReader):
            raise invalid("file: Field required")
        data = bytes(await part.read(decode=False))
        filename = part.filename or "unnamed"
        if not 1 <= len(filename) <= MAX_FILENAME:
            raise invalid(f"filename: must be 1 to {MAX_FILENAME} characters")
        if len(data) > MAX_FILE_BYTES:
            raise ApiError(413, "request_too_large", "File exceeds the maximum size of 500 MB.")
        stored = StoredFile(
            new_id("file_"), filename, _mime_type(part, filename), data, _now_rfc3339()
        )
        self.files[stored.id] = stored
        self.uploads.append(stored)
        return stored

    def add_generated(self, filename: str, data: bytes, mime_type: str) -> StoredFile:
        """Store a file a tool created (downloadable)."""
        stored = StoredFile(new_id("file_"), filename, mime_type, data, _now_rfc3339(), True)
        self.files[stored.id] = stored
        return stored

    def download(self, file_id: str) -> StoredFile:
        """The file to download, or the API's error."""
        stored = self.get(file_id)
        if not stored.downloadable:
            raise ApiError(
                400,
                "invalid_request_error",
                f"File {file_id} is not downloadable: only files created by tools (such as code "
                "execution) can be downloaded",
                {"error_code": "file_not_downloadable"},
            )
        return stored

    def delete(self, file_id: str) -> dict[str, Any]:
        """Forget a file."""
        self.get(file_id)
        del self.files[file_id]
        return {"id": file_id, "type": "file_deleted"}


def _mime_type(part: BodyPartReader, filename: str) -> str:
    declared = (part.headers.get("Content-Type") or "").split(";")[0].strip()
    if declared and declared != "application/octet-stream":
        return declared
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _now_rfc3339() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
