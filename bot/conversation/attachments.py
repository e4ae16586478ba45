"""Files shared with a question, in the core's terms (pure): what kind each is, what the
placeholder says while they are read, and how notices about unusable files are shown."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from enum import StrEnum
from pathlib import PurePosixPath

from bot.conversation.messages import FileRef
from bot.conversation.ports import ReplySink
from bot.conversation.sinks import FramedSink

SUPPORTED = (
    "I can read images (PNG, JPEG, GIF, WebP, BMP, TIFF), PDFs and text files "
    "(txt, md, csv, json, source code)."
)
NOTICE_MARK = ":paperclip:"
NATIVE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
TEXT_MIME_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/x-yaml",
        "application/yaml",
        "application/javascript",
        "application/x-sh",
        "application/x-python",
        "application/sql",
        "application/toml",
        "application/x-ndjson",
        "image/svg+xml",
    }
)
TEXT_EXTENSIONS = frozenset(
    (  # noqa: SIM905  # a word list reads better than 78 quoted strings
        "txt md markdown rst csv tsv json jsonl ndjson yaml yml toml ini cfg conf log xml html "
        "htm css scss svg py pyi js mjs cjs ts tsx jsx java kt kts scala go rs c h cc cpp hpp cs "
        "rb php swift m mm sh bash zsh fish ps1 sql r lua pl pm dart ex exs erl hs clj el vim "
        "diff patch tf hcl proto graphql gradle dockerfile makefile env tex bib"
    ).split()
)
# Slack's `filetype` values of text-like files (Slack names code files by language).
TEXT_FILETYPES = TEXT_EXTENSIONS | frozenset(
    (  # noqa: SIM905  # a word list, as above
        "text markdown csv json python javascript typescript golang go java kotlin scala rust "
        "c cpp csharp ruby php swift shell bash powershell sql yaml xml html css diff post "
        "dockerfile makefile"
    ).split()
)
IMAGE_FILETYPES = frozenset({"png", "jpg", "jpeg", "gif", "webp", "bmp", "tiff", "tif", "heic"})
# Text files that are data: with code execution on they go to its container (whole, for code to
# read) rather than inline (cut at a size) — "plot this CSV".
DATA_EXTENSIONS = frozenset({"csv", "tsv", "json", "jsonl", "ndjson"})


class FileKind(StrEnum):
    """How a shared file is handed to the model."""

    IMAGE = "image"
    PDF = "pdf"
    TEXT = "text"
    UNSUPPORTED = "unsupported"
    UNKNOWN = "unknown"  # not described yet (a stub to resolve first)


def extension(name: str) -> str:
    """The lower-case extension of a file name ("" when none); "Dockerfile" counts as one."""
    path = PurePosixPath(name.lower())
    return path.suffix.removeprefix(".") or path.name


def file_kind(ref: FileRef) -> FileKind:
    """The kind of a file, from its MIME type, the chat service's file type and its name."""
    mimetype = ref.mimetype.split(";")[0].strip().lower()
    filetype = ref.filetype.lower()
    if not (mimetype or filetype or ref.name):
        return FileKind.UNKNOWN
    if mimetype == "application/pdf" or filetype == "pdf":
        return FileKind.PDF
    if mimetype in TEXT_MIME_TYPES or filetype == "svg":
        return FileKind.TEXT
    if mimetype.startswith("image/") or filetype in IMAGE_FILETYPES:
        return FileKind.IMAGE
    if mimetype.startswith("text/") or filetype in TEXT_FILETYPES:
        return FileKind.TEXT
    generic = not mimetype or mimetype == "application/octet-stream"
    if generic and extension(ref.name) in TEXT_EXTENSIONS:
        return FileKind.TEXT
    return FileKind.UNSUPPORTED


def for_container(ref: FileRef) -> bool:
    """Whether code execution's container should take this file rather than the model read it:
    anything but an image, a PDF or a text file that is not data (code, notes)."""
    kind = file_kind(ref)
    if kind in (FileKind.IMAGE, FileKind.PDF):
        return False
    if kind is FileKind.TEXT:
        return ref.filetype.lower() in DATA_EXTENSIONS or extension(ref.name) in DATA_EXTENSIONS
    return True


_NOUNS = {
    FileKind.IMAGE: ("an image", "images"),
    FileKind.PDF: ("a PDF", "PDFs"),
    FileKind.TEXT: ("a text file", "text files"),
}


def _counted(kind: FileKind, count: int) -> str:
    one, many = _NOUNS.get(kind, ("a file", "files"))
    return one if count == 1 else f"{count} {many}"


def reading_status(files: Sequence[FileRef]) -> str | None:
    """The placeholder while files are read, e.g. "_Reading 2 images and a PDF…_"; None when
    there are no files."""
    if not files:
        return None
    counts: Counter[FileKind] = Counter()
    for ref in files:
        kind = file_kind(ref)
        counts[kind if kind in _NOUNS else FileKind.UNKNOWN] += 1
    order = (FileKind.IMAGE, FileKind.PDF, FileKind.TEXT, FileKind.UNKNOWN)
    parts = [_counted(kind, counts[kind]) for kind in order if counts[kind]]
    joined = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f"_Reading {joined}…_"


def notices_text(notices: Sequence[str], mark: str = NOTICE_MARK) -> str:
    """The notices as shown to the user, one line each."""
    return "\n".join(f"{mark} {notice}" for notice in notices)


def notes_for_model(notices: Sequence[str]) -> str:
    """The notices, briefly, for the model: it should not pretend to see those files."""
    joined = " ".join(notices)
    return f"(Files shared with this message that you cannot see: {joined})"


class NoticeSink(FramedSink):
    """A ReplySink whose final text starts with the notices about files that could not be
    used, so the user learns of them whatever else happens to the answer."""

    def __init__(self, sink: ReplySink, notices: Sequence[str], mark: str = NOTICE_MARK) -> None:
        super().__init__(sink, above=notices_text(notices, mark))
