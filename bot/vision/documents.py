"""PDFs and text files to what Claude accepts (pure, over bytes).

Limits (Claude docs, "PDF support"): a request of at most 32 MB; at most 100 PDF pages per request
on models with a 200k-token context window, 600 on the others; standard PDFs only (no passwords,
no encryption). Text files go as plain-text documents, capped so a thread's history stays small.

Only what counting pages needs is parsed (pypdf reads objects lazily): the cross-reference table,
then the page count the document declares, and only when that is within the limit the page tree
itself, walked under pypdf's resource limits with its entry cap tightened to what the page limit
allows, so a file claiming few pages but holding a huge tree stops early.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

from pypdf import PdfReader, apply_configuration
from pypdf.errors import LimitReachedError, PyPdfError
from pypdf.generic import DictionaryObject

from bot.claude.catalog import ModelInfo
from bot.vision.problems import FileProblem, megabytes

PDF_MAX_BYTES = 32 * 1024 * 1024
PDF_PAGES_SMALL_CONTEXT = 100
PDF_PAGES_LARGE_CONTEXT = 600
SMALL_CONTEXT = 200_000
PDF_HEADER = b"%PDF-"
TEXT_MAX_CHARS = 100_000
BINARY_SNIFF = 8192
NOT_A_PDF = "it isn't a PDF I can open (it may be damaged). Export it again and share the copy."
TREE_ENTRIES_PER_PAGE = 4  # page tree nodes walked per page allowed: a normal tree has under 2


@dataclass(frozen=True)
class PreparedPdf:
    """A PDF ready for a document block."""

    data: bytes
    pages: int


@dataclass(frozen=True)
class PreparedText:
    """A text file's content for a plain-text document block."""

    text: str
    truncated: bool


def pdf_page_limit(models: Iterable[ModelInfo]) -> int:
    """The most PDF pages every one of these models accepts in one request: a thread keeps its
    documents when it moves to another tier (a fallback, "switch to haiku")."""
    limits = [
        PDF_PAGES_SMALL_CONTEXT
        if model.context_window <= SMALL_CONTEXT
        else PDF_PAGES_LARGE_CONTEXT
        for model in models
    ]
    return min(limits, default=PDF_PAGES_SMALL_CONTEXT)


def prepare_pdf(data: bytes, max_pages: int, max_bytes: int = PDF_MAX_BYTES) -> PreparedPdf:
    """The PDF when Claude can take it; FileProblem naming the limit it breaks, and what to do."""
    if len(data) > max_bytes:
        raise FileProblem(
            f"it is {megabytes(len(data))} and Claude takes PDFs up to {megabytes(max_bytes)}. "
            "Compress it or split it into smaller files."
        )
    if PDF_HEADER not in data[:1024]:
        raise FileProblem(NOT_A_PDF)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise FileProblem(
                "it is password-protected or encrypted. Share a copy without protection."
            )
        pages = declared_pages(reader)
        if pages <= max_pages:
            pages = _count_pages(reader, max_pages)
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError):
        raise FileProblem(NOT_A_PDF) from None
    if pages == 0:
        raise FileProblem("it has no pages.")
    if pages > max_pages:
        raise too_many_pages(pages, max_pages)
    return PreparedPdf(data, pages)


def too_many_pages(pages: int | None, max_pages: int) -> FileProblem:
    """The problem of a PDF over the page limit (pages None: more than we were willing to count)."""
    counted = f"{pages:,} pages" if pages is not None else f"more than {max_pages} pages"
    return FileProblem(
        f"it has {counted} and Claude reads at most {max_pages} pages at once. "
        "Split it, or share only the pages that matter."
    )


def declared_pages(reader: PdfReader) -> int:
    """The page count the document's page tree declares (its root's /Count), read without
    walking the tree; 0 when it declares none."""
    root = reader.root_object.get("/Pages")
    tree = root.get_object() if root is not None else None
    count = tree.get("/Count") if isinstance(tree, DictionaryObject) else None
    return int(count) if isinstance(count, int) else 0


def _count_pages(reader: PdfReader, max_pages: int) -> int:
    """The pages the page tree really holds; FileProblem when the tree is bigger than max_pages
    allows (pypdf stops walking it there)."""
    entries = TREE_ENTRIES_PER_PAGE * max_pages + 16
    try:
        with apply_configuration(page_tree_maximum_entries=entries):
            return len(reader.pages)
    except LimitReachedError:
        raise too_many_pages(None, max_pages) from None


def prepare_text(data: bytes, max_chars: int = TEXT_MAX_CHARS) -> PreparedText:
    """The text of a text file (UTF-8, or UTF-16 with a byte-order mark), capped at max_chars."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    elif b"\x00" in data[:BINARY_SNIFF]:
        raise FileProblem("it looks like a binary file, not text.")
    else:
        text = data.decode("utf-8-sig", errors="replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise FileProblem("it is empty.")
    if len(text) <= max_chars:
        return PreparedText(text, truncated=False)
    return PreparedText(text[:max_chars], truncated=True)
