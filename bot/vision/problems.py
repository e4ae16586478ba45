"""Why a shared file could not be used, in words for the person who shared it."""

from __future__ import annotations

SCOPE_NOTICE = (
    "I can't read files: the app lacks the files:read scope. Ask a workspace admin to add it "
    "and reinstall the app."
)


class FileProblem(Exception):
    """A shared file that cannot be used. `reason` completes "I couldn't use <name>: …";
    `notice` (when set) replaces the whole sentence, for problems that concern every file."""

    def __init__(self, reason: str, *, notice: str | None = None) -> None:
        super().__init__(notice or reason)
        self.reason = reason
        self.notice = notice

    def sentence(self, name: str) -> str:
        """The one line shown to the user (and, briefly, to Claude)."""
        return self.notice or f"I couldn't use *{name}*: {self.reason}"


def megabytes(size: int) -> str:
    """A byte count in MB, one decimal ("12.5 MB")."""
    return f"{size / (1024 * 1024):.1f} MB"
