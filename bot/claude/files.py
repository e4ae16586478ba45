"""Claude's Files API as the vision reader's FileStore: upload once, reference by file_id."""

from __future__ import annotations

import anthropic
import structlog

from bot.claude.media import FILES_BETA
from bot.vision.problems import FileProblem

log = structlog.get_logger("bot.claude.files")

UPLOAD_RETRIES = 2


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
