"""The AttachmentReader: fetch each shared file, convert it, hand it to Claude's Files API, and
build the content blocks (in the order the files were shared) plus a notice per unusable file.

Images and PDFs are uploaded once with the Files API and referenced by file_id: the stored turn
stays a few bytes per file (no base64 in Redis), it is byte-stable from turn to turn (so it stays
in the cached prefix), and later requests stay far below the API's 32 MB request limit. Text files
are small once capped, so they go inline as plain-text documents.

Converting is CPU- and memory-heavy (a 25-megapixel image takes about 100 MB decoded), so it runs
off the event loop in one small pool shared by the whole process: CONVERSIONS_AT_ONCE files at a
time, whatever the number of messages and files; the others wait their turn.
"""

from __future__ import annotations

import asyncio
import mimetypes
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ParamSpec, Protocol, TypeVar

import structlog

from bot.claude.media import image_tokens, pdf_tokens
from bot.conversation.attachments import SUPPORTED, FileKind, file_kind, for_container
from bot.conversation.messages import Attachments, ChatMessage, FileRef
from bot.vision.documents import TEXT_MAX_CHARS, prepare_pdf, prepare_text
from bot.vision.images import prepare_image
from bot.vision.problems import FileProblem

log = structlog.get_logger("bot.files")
P = ParamSpec("P")
R = TypeVar("R")

CONVERSIONS_AT_ONCE = 2
CONVERTER = ThreadPoolExecutor(CONVERSIONS_AT_ONCE, thread_name_prefix="file-convert")
MAX_FILES = 20  # Slack allows 10 files a message; more images than 20 shrink the API's limits
MAX_NAME_CHARS = 200
IMAGE_SUFFIX = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
}


@dataclass(frozen=True)
class Fetched:
    """A downloaded file, with its description as resolved by the chat service."""

    ref: FileRef
    data: bytes


class FileSource(Protocol):
    """Downloads a shared file (resolving stubs first)."""

    async def fetch(self, ref: FileRef) -> Fetched:
        """The file's bytes; FileProblem when it cannot be had."""
        ...


class FileStore(Protocol):
    """Keeps a file where Claude can read it by id (the Files API)."""

    async def upload(self, name: str, data: bytes, media_type: str) -> str:
        """The file's id; FileProblem when the upload fails."""
        ...


@dataclass
class _Read:
    blocks: list[ChatMessage] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    tokens: int = 0  # what an image or a PDF costs the model (its block is a few bytes of JSON)


def display_name(ref: FileRef) -> str:
    """A file name safe to show and to send: one line, bounded length."""
    name = " ".join((ref.name or ref.id or "file").split())
    return name[:MAX_NAME_CHARS]


class FileAttachmentReader:
    """Implements the core's AttachmentReader port."""

    def __init__(
        self,
        source: FileSource,
        store: FileStore,
        *,
        max_image_edge: Callable[[str], int],
        pdf_max_pages: int,
        converter: Executor = CONVERTER,
    ) -> None:
        self._source = source
        self._store = store
        self._max_image_edge = max_image_edge
        self._pdf_max_pages = pdf_max_pages
        self._converter = converter

    async def _off_loop(self, work: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """work(*args) in the shared conversion pool, the event loop free meanwhile."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._converter, lambda: work(*args, **kwargs))

    async def read(
        self, files: Sequence[FileRef], model_id: str, *, to_container: bool = False
    ) -> Attachments:
        """Blocks for the files that could be read, in order, and a notice for each other.
        `to_container`: data files and kinds Claude can't read go to code execution's
        container (container_upload blocks) instead."""
        edge = self._max_image_edge(model_id)
        results = await asyncio.gather(
            *(self._read_one(ref, edge, to_container) for ref in files[:MAX_FILES])
        )
        blocks = [block for result in results for block in result.blocks]
        notices = [notice for result in results for notice in result.notices]
        if len(files) > MAX_FILES:
            notices.append(f"I read only the first {MAX_FILES} files of this message.")
        tokens = sum(result.tokens for result in results)
        return Attachments(tuple(blocks), tuple(dict.fromkeys(notices)), media_tokens=tokens)

    async def _read_one(self, ref: FileRef, edge: int, to_container: bool) -> _Read:
        name = display_name(ref)
        started = time.monotonic()
        outcome: dict[str, Any] = {"file": ref.id}
        try:
            result = await self._convert(ref, name, edge, outcome, to_container)
        except FileProblem as problem:
            outcome["problem"] = problem.reason
            result = _Read(notices=[problem.sentence(name)])
        except Exception:
            log.exception("file.crashed", file=ref.id)
            result = _Read(notices=[f"I couldn't use *{name}* because of an error on my side."])
        log.info("file.read", ms=round((time.monotonic() - started) * 1000), **outcome)
        return result

    async def _convert(
        self, ref: FileRef, name: str, edge: int, outcome: dict[str, Any], to_container: bool
    ) -> _Read:
        if ref.unavailable:
            raise FileProblem(ref.unavailable)
        unsupported = FileProblem(f"I can't read that kind of file. {SUPPORTED}")
        if file_kind(ref) is FileKind.UNSUPPORTED and not to_container:
            raise unsupported
        fetched = await self._source.fetch(ref)
        kind = file_kind(fetched.ref)
        outcome.update(kind=kind.value, bytes=len(fetched.data))
        if to_container and for_container(fetched.ref):
            return await self._to_container(fetched, name, outcome)
        if kind is FileKind.IMAGE:
            return await self._image(fetched.data, name, edge, outcome)
        if kind is FileKind.PDF:
            return await self._pdf(fetched.data, name, outcome)
        if kind is FileKind.TEXT:
            return await self._text(fetched.data, name)
        raise unsupported

    async def _image(self, data: bytes, name: str, edge: int, outcome: dict[str, Any]) -> _Read:
        image = await self._off_loop(prepare_image, data, edge)
        outcome.update(converted=image.converted, width=image.width, height=image.height)
        upload_name = name
        if image.converted:
            stem = name.rsplit(".", 1)[0] if "." in name else name
            upload_name = stem + IMAGE_SUFFIX[image.media_type]
        file_id = await self._store.upload(upload_name, image.data, image.media_type)
        label = f"[Image: {name}" + (", first frame of an animation]" if image.animated else "]")
        return _Read(
            blocks=[
                {"type": "text", "text": label},
                {"type": "image", "source": {"type": "file", "file_id": file_id}},
            ],
            tokens=image_tokens(image.width, image.height),
        )

    async def _pdf(self, data: bytes, name: str, outcome: dict[str, Any]) -> _Read:
        pdf = await self._off_loop(prepare_pdf, data, self._pdf_max_pages)
        outcome["pages"] = pdf.pages
        file_id = await self._store.upload(name, pdf.data, "application/pdf")
        block = {"type": "document", "source": {"type": "file", "file_id": file_id}, "title": name}
        return _Read(blocks=[block], tokens=pdf_tokens(pdf.pages))

    async def _to_container(self, fetched: Fetched, name: str, outcome: dict[str, Any]) -> _Read:
        """The file, whole, for code execution: uploaded to the Files API and named in a
        container_upload block (Claude reads it with code, in the container's input folder)."""
        media_type = fetched.ref.mimetype.split(";")[0].strip() or (
            mimetypes.guess_type(name)[0] or "application/octet-stream"
        )
        file_id = await self._store.upload(name, fetched.data, media_type)
        outcome["container"] = True
        label = f"[File for code execution: {name} — in the container's input folder]"
        return _Read(
            blocks=[
                {"type": "text", "text": label},
                {"type": "container_upload", "file_id": file_id},
            ]
        )

    async def _text(self, data: bytes, name: str) -> _Read:
        text = await self._off_loop(prepare_text, data)
        source = {"type": "text", "media_type": "text/plain", "data": text.text}
        read = _Read(blocks=[{"type": "document", "source": source, "title": name}])
        if text.truncated:
            read.notices.append(
                f"*{name}* is long: I read only its first {TEXT_MAX_CHARS:,} characters."
            )
        return read
