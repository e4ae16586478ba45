"""Claude's Files API: the vision reader's FileStore (upload once, reference by file_id), and
the downloads of the files code execution made."""

from __future__ import annotations

import anthropic
import httpx2
import structlog

from bot.claude.media import FILES_BETA
from bot.tools.code_files import OutputFile, OutputFileProblem
from bot.vision.problems import FileProblem, megabytes

log = structlog.get_logger("bot.claude.files")

UPLOAD_RETRIES = 2
DOWNLOAD_RETRIES = 2


class AnthropicFileStore:
    """Uploads converted images and PDFs with client.beta.files.upload."""

    def __init__(self, client: anthropic.AsyncAnthropic) -> None:
        self._client = client.with_options(max_retries=UPLOAD_RETRIES)

    async def upload(self, name: str, data: bytes, media_type: str) -> str:
        """The uploaded file's id; FileProblem when Claude's Files API refuses or is unreachable."""
        try:
            metadata = await self._client.beta.files.upload(
                file=(name, data, media_type), betas=[FILES_BETA]
            )
        except anthropic.APIStatusError as exc:
            log.warning(
                "claude.file_upload_failed",
                status=exc.status_code,
                error=exc.type,
                request_id=exc.request_id,
            )
            raise FileProblem(
                f"Claude's Files API refused it (HTTP {exc.status_code}). Try again later."
            ) from None
        except anthropic.APIConnectionError:
            raise FileProblem("I couldn't reach Claude's Files API. Try again later.") from None
        log.info("claude.file_uploaded", file_id=metadata.id, bytes=len(data), type=media_type)
        return metadata.id

    async def delete(self, file_id: str) -> bool:
        """Delete an uploaded file ("forget this thread"); True when it is gone (also when it
        was already), False when the Files API could not be reached or refused."""
        try:
            await self._client.beta.files.delete(file_id, betas=[FILES_BETA])
        except anthropic.NotFoundError:
            return True
        except (anthropic.APIStatusError, anthropic.APIConnectionError) as exc:
            log.warning("claude.file_delete_failed", file_id=file_id, error=type(exc).__name__)
            return False
        log.info("claude.file_deleted", file_id=file_id)
        return True


class AnthropicOutputFiles:
    """Downloads the files code execution made (client.beta.files), size capped."""

    def __init__(self, client: anthropic.AsyncAnthropic) -> None:
        self._client = client.with_options(max_retries=DOWNLOAD_RETRIES)

    async def fetch(self, file_id: str, max_bytes: int) -> OutputFile:
        """The file's name, type and bytes; FileProblem when it can't be had or is too big."""
        try:
            meta = await self._client.beta.files.retrieve_metadata(file_id, betas=[FILES_BETA])
            if meta.size_bytes > max_bytes:
                raise OutputFileProblem(
                    f"it is {megabytes(meta.size_bytes)} and I bring back files up to "
                    f"{megabytes(max_bytes)}.",
                    name=meta.filename,
                )
            if meta.downloadable is False:
                raise OutputFileProblem(
                    "Claude's Files API doesn't let me download it.", name=meta.filename
                )
            data = await self._download(file_id, max_bytes, meta.filename)
        except anthropic.APIStatusError as exc:
            log.warning(
                "claude.file_download_failed",
                file_id=file_id,
                status=exc.status_code,
                error=exc.type,
                request_id=exc.request_id,
            )
            raise FileProblem(
                f"Claude's Files API refused it (HTTP {exc.status_code}). Ask me to make it again."
            ) from None
        except (anthropic.APIConnectionError, httpx2.TransportError):
            raise FileProblem("I couldn't reach Claude's Files API. Ask me again later.") from None
        log.info("claude.file_downloaded", file_id=file_id, bytes=len(data), type=meta.mime_type)
        return OutputFile(meta.filename, meta.mime_type, data)

    async def _download(self, file_id: str, max_bytes: int, name: str) -> bytes:
        files = self._client.beta.files.with_streaming_response
        data = bytearray()
        async with files.download(file_id, betas=[FILES_BETA]) as response:
            async for chunk in response.iter_bytes():
                data.extend(chunk)
                if len(data) > max_bytes:
                    raise OutputFileProblem(
                        f"it is larger than {megabytes(max_bytes)}, my limit.", name=name
                    )
        return bytes(data)
