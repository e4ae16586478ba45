"""The vision reader over in-memory ports, and the turn with shared files."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.conversation.attachments import SUPPORTED
from bot.conversation.display import HELLO_HINT
from bot.conversation.messages import Attachments, FileRef, Question
from bot.conversation.turn import answer_question
from bot.vision.problems import SCOPE_NOTICE, FileProblem
from bot.vision.reader import Fetched, FileAttachmentReader
from tests import samples
from tests.unit.test_turn import (
    KEY,
    MemoryStore,
    RecordingSink,
    ScriptedModel,
    StaticFiles,
    _deps,
)

PNG = FileRef("F1", "shot.png", "image/png", "png", url="https://files.slack.com/F1")
BMP = FileRef("F2", "scan.bmp", "image/bmp", "bmp", url="https://files.slack.com/F2")
PDF = FileRef("F3", "r.pdf", "application/pdf", "pdf", url="https://files.slack.com/F3")
CSV = FileRef("F4", "d.csv", "text/csv", "csv", url="https://files.slack.com/F4")
ZIP = FileRef("F5", "a.zip", "application/zip", "zip", url="https://files.slack.com/F5")


@dataclass
class MemorySource:
    contents: dict[str, bytes]
    problems: dict[str, FileProblem] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)

    async def fetch(self, ref: FileRef) -> Fetched:
        self.fetched.append(ref.id)
        if ref.id in self.problems:
            raise self.problems[ref.id]
        return Fetched(ref, self.contents[ref.id])


@dataclass
class MemoryStoreOfFiles:
    uploads: list[tuple[str, bytes, str]] = field(default_factory=list)

    async def upload(self, name: str, data: bytes, media_type: str) -> str:
        self.uploads.append((name, data, media_type))
        return f"file_{len(self.uploads)}"


def _reader(source: MemorySource, store: MemoryStoreOfFiles) -> FileAttachmentReader:
    return FileAttachmentReader(source, store, max_image_edge=lambda _: 1568, pdf_max_pages=100)


async def test_files_become_blocks_in_order() -> None:
    """Image, converted image, PDF and text become blocks in the order they were shared (uploads
    run concurrently); images and PDFs are uploaded (a converted image under a matching name),
    text goes inline."""
    source = MemorySource(
        {"F1": samples.png(), "F2": samples.bmp(), "F3": samples.pdf(3), "F4": b"a,b\n1,2\n"}
    )
    store = MemoryStoreOfFiles()
    result = await _reader(source, store).read([PNG, BMP, PDF, CSV], "m")
    kinds = [block["type"] for block in result.blocks]
    assert kinds == ["text", "image", "text", "image", "document", "document"]
    names = {f"file_{n}": (name, kind) for n, (name, _, kind) in enumerate(store.uploads, 1)}
    ids = [result.blocks[i]["source"]["file_id"] for i in (1, 3, 4)]
    assert [names[file_id] for file_id in ids] == [
        ("shot.png", "image/png"),
        ("scan.png", "image/png"),
        ("r.pdf", "application/pdf"),
    ]
    assert result.blocks[4]["title"] == "r.pdf"
    assert result.blocks[5]["source"] == {
        "type": "text",
        "media_type": "text/plain",
        "data": "a,b\n1,2\n",
    }
    assert result.notices == ()


async def test_with_code_execution_data_files_go_to_the_container_whole() -> None:
    """With code execution on, a CSV and a ZIP are uploaded whole (their own types) and named
    in container_upload blocks after a label; the image still goes to Claude as an image."""
    csv_data = b"month,sales\n" + b"jan,1\n" * 20_000
    source = MemorySource({"F1": samples.png(), "F4": csv_data, "F5": b"PK\x03\x04zip"})
    store = MemoryStoreOfFiles()
    result = await _reader(source, store).read([PNG, CSV, ZIP], "m", to_container=True)
    kinds = [block["type"] for block in result.blocks]
    assert kinds == ["text", "image", "text", "container_upload", "text", "container_upload"]
    uploads = {f"file_{n}": upload for n, upload in enumerate(store.uploads, 1)}
    assert uploads[result.blocks[3]["file_id"]] == ("d.csv", csv_data, "text/csv")
    assert uploads[result.blocks[5]["file_id"]][::2] == ("a.zip", "application/zip")
    assert "d.csv" in result.blocks[2]["text"]
    assert result.notices == ()


async def test_unsupported_files_are_not_downloaded_and_say_what_works() -> None:
    """A ZIP gets a notice naming what is supported, without being downloaded."""
    source = MemorySource({})
    result = await _reader(source, MemoryStoreOfFiles()).read([ZIP], "m")
    assert result.blocks == ()
    assert result.notices == (
        f"I couldn't use *a.zip*: I can't read that kind of file. {SUPPORTED}",
    )
    assert source.fetched == []


async def test_a_scope_problem_is_told_once() -> None:
    """Several files failing for the missing files:read scope give one notice."""
    problem = FileProblem("missing files:read", notice=SCOPE_NOTICE)
    source = MemorySource({}, problems={"F1": problem, "F3": problem})
    result = await _reader(source, MemoryStoreOfFiles()).read([PNG, PDF], "m")
    assert result.notices == (SCOPE_NOTICE,)


async def test_a_broken_image_is_a_notice_not_a_crash() -> None:
    """Bytes that are no image give a notice naming the file; other files still go through."""
    source = MemorySource({"F1": b"garbage", "F4": b"x"})
    result = await _reader(source, MemoryStoreOfFiles()).read([PNG, CSV], "m")
    assert [block["type"] for block in result.blocks] == ["document"]
    assert result.notices[0].startswith("I couldn't use *shot.png*: it isn't an image")


def _question(text: str, *files: FileRef) -> Question:
    return Question(
        KEY, "U1", text, "1.0", is_direct_message=False, reply_thread_ts="1.0", files=files
    )


async def test_turn_says_what_it_reads_and_shows_notices_first() -> None:
    """The placeholder names the files; the final message starts with the notices; the user
    turn sent (and stored) starts with the blocks."""
    block = {"type": "image", "source": {"type": "file", "file_id": "file_1"}}
    files = StaticFiles(Attachments((block,), ("I couldn't use *a.zip*: no.",)))
    store, model, sink = MemoryStore(), ScriptedModel(["Looks fine."]), RecordingSink()
    deps = _deps(model, store, files=files)
    await answer_question(_question("check this", PNG, ZIP), "Ana", sink, deps)
    assert sink.events[0] == ("start", "_Reading an image and a file…_")
    assert sink.events[-1][1].startswith(":paperclip: I couldn't use *a.zip*: no.\n\nLooks fine.")
    assert files.calls == [((PNG, ZIP), "s")]
    assert store.threads[KEY].history[0]["content"][0] == block


async def test_an_unusable_file_alone_gets_the_notice_and_no_model_call() -> None:
    """Only an unreadable file and no text: the notice and the hint, and Claude is not asked."""
    files = StaticFiles(Attachments((), ("I couldn't use *a.zip*: no.",)))
    model, sink = ScriptedModel(["never"]), RecordingSink()
    await answer_question(_question("", ZIP), "Ana", sink, _deps(model, MemoryStore(), files=files))
    assert sink.events[-1][1] == f":paperclip: I couldn't use *a.zip*: no.\n\n{HELLO_HINT}"
    assert model.requests == []


async def test_images_and_pdfs_carry_their_token_cost() -> None:
    """The reader records what its blocks cost the model: an image width × height / 750, a PDF
    3,000 tokens a page; the user turn keeps it (for the window) beside its blocks."""
    source = MemorySource({"F1": samples.png(750, 100), "F3": samples.pdf(2), "F4": b"a,b\n"})
    result = await _reader(source, MemoryStoreOfFiles()).read([PNG, PDF, CSV], "m")
    assert result.media_tokens == 100 + 2 * 3000
