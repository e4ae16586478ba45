"""Files back (bot/tools/code_files.py) over in-memory ports: each file code execution made is
downloaded and posted into the answer's thread once; a file that can't be is named."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.conversation.messages import Question, ThreadKey
from bot.tools.code_files import MAX_FILES_BACK, CodeFilesBack, OutputFile
from bot.vision.problems import FileProblem

QUESTION = Question(ThreadKey("T1", "C1", "1.0"), "U1", "plot", "2.0", False, "1.0")


@dataclass
class Source:
    files: dict[str, OutputFile]
    asked: list[tuple[str, int]] = field(default_factory=list)

    async def fetch(self, file_id: str, max_bytes: int) -> OutputFile:
        self.asked.append((file_id, max_bytes))
        file = self.files[file_id]
        if len(file.data) > max_bytes:
            raise FileProblem(f"it is {len(file.data)} bytes, over {max_bytes}.")
        return file


@dataclass
class Uploads:
    posted: list[tuple[str, str | None, str]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def upload(
        self, workspace: str, channel: str, thread_ts: str | None, file: OutputFile
    ) -> None:
        if file.name in self.refuse:
            raise FileProblem("Slack refused the upload (not_in_channel).")
        self.posted.append((channel, thread_ts, file.name))


@dataclass
class Claims:
    taken: set[str] = field(default_factory=set)

    async def claim_code_file(self, file_id: str) -> bool:
        if file_id in self.taken:
            return False
        self.taken.add(file_id)
        return True


PLOT = OutputFile("plot.png", "image/png", b"\x89PNG" + b"x" * 10)
TABLE = OutputFile("summary.csv", "text/csv", b"a,b\n1,2\n")
HUGE = OutputFile("big.parquet", "application/octet-stream", b"x" * 1000)


async def test_files_are_posted_into_the_thread_once_each() -> None:
    """Every file is downloaded and posted into the question's thread, in order; the same
    files again (a replayed final) post nothing more."""
    source, uploads, claims = Source({"f1": PLOT, "f2": TABLE}), Uploads(), Claims()
    back = CodeFilesBack(source, uploads, claims, max_bytes=100)
    assert await back.bring_back(QUESTION, ["f1", "f2"]) == []
    assert uploads.posted == [("C1", "1.0", "plot.png"), ("C1", "1.0", "summary.csv")]
    assert await back.bring_back(QUESTION, ["f1", "f2"]) == []
    assert len(uploads.posted) == 2
    assert source.asked == [("f1", 100), ("f2", 100)]


async def test_a_file_too_big_or_refused_is_named_and_the_others_still_come() -> None:
    """A file over the cap and one Slack refuses each get a sentence; the rest is posted."""
    uploads = Uploads(refuse={"summary.csv"})
    back = CodeFilesBack(
        Source({"f1": HUGE, "f2": TABLE, "f3": PLOT}), uploads, Claims(), max_bytes=100
    )
    notes = await back.bring_back(QUESTION, ["f1", "f2", "f3"])
    assert notes == [
        "I couldn't bring back *f1*, a file code execution made: it is 1000 bytes, over 100.",
        "I couldn't bring back *summary.csv*, a file code execution made: Slack refused the "
        "upload (not_in_channel).",
    ]
    assert uploads.posted == [("C1", "1.0", "plot.png")]


async def test_past_the_cap_the_rest_stay_in_the_container() -> None:
    """At most MAX_FILES_BACK files are posted per answer; one line says how many stayed."""
    files = {f"f{n}": OutputFile(f"p{n}.png", "image/png", b"png") for n in range(12)}
    uploads = Uploads()
    notes = await CodeFilesBack(Source(files), uploads, Claims(), max_bytes=100).bring_back(
        QUESTION, list(files)
    )
    assert len(uploads.posted) == MAX_FILES_BACK
    assert notes == [
        "Code execution made 12 files; I brought back the first 10; 2 more stay in the code "
        "container."
    ]
