"""Files back: the files code execution made in an answer, downloaded from Claude's Files API and
posted into the answer's thread (Slack shows image uploads inline; other files as attachments).

Each file is claimed in Redis by its Files API id before it is posted, so a file is posted at
most once whatever is retried (a replayed turn, a second replica). A file that can't be brought
back (too big, refused, Slack down) gets a sentence the answer shows; the others still come.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from bot.conversation.messages import Question
from bot.vision.problems import FileProblem

log = structlog.get_logger("bot.tools.code_files")

MAX_FILES_BACK = 10  # per answer; the rest are named in one line


@dataclass(frozen=True)
class OutputFile:
    """A file code execution made, downloaded."""

    name: str
    mime_type: str
    data: bytes

    @property
    def is_image(self) -> bool:
        """Whether the chat service can show it inline."""
        return self.mime_type.startswith("image/")


class OutputFileProblem(FileProblem):
    """A file code execution made that can't be brought back, with its name when known."""

    def __init__(self, reason: str, *, name: str = "") -> None:
        super().__init__(reason)
        self.name = name


class OutputFileSource(Protocol):
    """Where the files code execution made are downloaded from (Claude's Files API)."""

    async def fetch(self, file_id: str, max_bytes: int) -> OutputFile:
        """The file; FileProblem when it can't be had or is larger than max_bytes."""
        ...


class ThreadUploads(Protocol):
    """Posts a file into a thread (the chat service's upload)."""

    async def upload(
        self, workspace: str, channel: str, thread_ts: str | None, file: OutputFile
    ) -> None:
        """Post the file into the workspace's channel (thread_ts None: at its top level);
        FileProblem on failure."""
        ...


class Claims(Protocol):
    """Once-only marks shared by every replica."""

    async def claim_code_file(self, file_id: str) -> bool:
        """True for the first caller with this file id."""
        ...


def shown_name(name: str) -> str:
    """A file name safe inside the answer's text: one line, no markup, bounded length."""
    return " ".join(name.replace("*", "").replace("`", "").split())[:120] or "a file"


class CodeFilesBack:
    """Implements the core's ResultFiles port."""

    def __init__(
        self,
        source: OutputFileSource,
        uploads: ThreadUploads,
        claims: Claims,
        *,
        max_bytes: int,
    ) -> None:
        self._source = source
        self._uploads = uploads
        self._claims = claims
        self._max_bytes = max_bytes

    async def bring_back(self, question: Question, file_ids: Sequence[str]) -> list[str]:
        """Post each file into the question's thread, in order; a sentence for each that could
        not be brought back."""
        notes = []
        for file_id in file_ids[:MAX_FILES_BACK]:
            note = await self._one(question, file_id)
            if note:
                notes.append(note)
        if len(file_ids) > MAX_FILES_BACK:
            left = len(file_ids) - MAX_FILES_BACK
            notes.append(
                f"Code execution made {len(file_ids)} files; I brought back the first "
                f"{MAX_FILES_BACK}; {left} more stay in the code container."
            )
        return notes

    async def _one(self, question: Question, file_id: str) -> str | None:
        if not await self._first_time(file_id):
            log.info("code_file.already_posted", file_id=file_id)
            return None
        name = file_id
        try:
            file = await self._source.fetch(file_id, self._max_bytes)
            name = shown_name(file.name)
            key = question.key
            await self._uploads.upload(key.team, key.channel, question.reply_thread_ts, file)
        except FileProblem as problem:
            if isinstance(problem, OutputFileProblem) and problem.name:
                name = shown_name(problem.name)
            log.info("code_file.not_posted", file_id=file_id, problem=problem.reason)
            return f"I couldn't bring back *{name}*, a file code execution made: {problem.reason}"
        except Exception:  # a bug must not lose the answer: the file is named, the rest goes on
            log.exception("code_file.crashed", file_id=file_id)
            return (
                f"I couldn't bring back *{name}*, a file code execution made (an error on my side)."
            )
        log.info("code_file.posted", file_id=file_id, bytes=len(file.data), image=file.is_image)
        return None

    async def _first_time(self, file_id: str) -> bool:
        try:
            return await self._claims.claim_code_file(file_id)
        except Exception as exc:  # Redis away: post it (a rare double beats a lost file)
            log.warning("code_file.unclaimed", file_id=file_id, error=type(exc).__name__)
            return True
