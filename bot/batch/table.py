"""A CSV file as a table of rows, checked before anything is sent to Claude (pure).

The file is read as a stream (the standard library's csv reader over an incremental UTF-8
decoder): it stops at the first row past the cap, and no row, cell or header can grow past its
own cap, so a 30 MB file of tiny rows or one endless line costs little memory and time."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass


class BatchInputError(Exception):
    """The file or the template cannot make a batch; the message says why, for the user."""


@dataclass(frozen=True)
class Table:
    """A CSV's header and its data rows (row numbers start at 1 with the first data row)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def record(self, index: int) -> dict[str, str]:
        """Row `index` (0-based) as column -> value."""
        return dict(zip(self.columns, self.rows[index], strict=True))

    def to_json(self) -> dict[str, list[list[str]] | list[str]]:
        """A JSON-ready form, for the job store."""
        return {"columns": list(self.columns), "rows": [list(r) for r in self.rows]}

    @classmethod
    def from_json(cls, data: dict[str, list[list[str]] | list[str]]) -> Table:
        """The table back from to_json()."""
        columns = tuple(str(c) for c in data["columns"])
        rows = tuple(tuple(str(v) for v in row) for row in data["rows"])
        return cls(columns, rows)


NOT_UTF8 = "The file is not UTF-8 text. Export it as *CSV UTF-8* and share it again."
MAX_COLUMNS = 500
MAX_CELL_CHARS = 100_000  # about 25,000 tokens: as much as a shared text file
MAX_ROW_CHARS = 1_000_000  # one row, its quoted line breaks included
DELIMITERS = (",", ";", "\t")


def _delimiter(header: str) -> str:
    """The separator the header line uses most: comma, semicolon (European spreadsheets) or tab."""
    counts = {sep: header.count(sep) for sep in DELIMITERS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _header(raw: list[str]) -> tuple[str, ...]:
    columns = tuple(name.strip() for name in raw)
    if len(columns) > MAX_COLUMNS:
        raise BatchInputError(
            f"The file has {len(columns):,} columns; a batch file may have at most "
            f"{MAX_COLUMNS:,}. Keep the columns the prompt needs."
        )
    if "" in columns:
        position = columns.index("") + 1
        raise BatchInputError(f"Column {position} of the header has no name; name every column.")
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            raise BatchInputError(f"Two columns are called `{name}`; column names must differ.")
        seen.add(name)
    return columns


class _Lines:
    """The file's lines, decoded as they are read, one record (a row with its quoted line
    breaks) at most MAX_ROW_CHARS long: `next_record()` starts counting the next one."""

    def __init__(self, data: bytes) -> None:
        self._stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
        self._chars = 0
        self.rows = 0  # data rows read so far
        self.header_read = False
        self.first = ""  # the first line that is not blank, read ahead to find the separator

    def read_first(self) -> str:
        """The first line that is not blank ("" when there is none)."""
        while line := self._read():
            if line.strip():
                self.first = line
                return line
            self.next_record()
        return ""

    def next_record(self) -> None:
        self._chars = 0

    def _read(self) -> str:
        line = self._stream.readline(MAX_ROW_CHARS - self._chars + 1)
        self._chars += len(line)
        if self._chars > MAX_ROW_CHARS:
            where = f"Row {self.rows + 1}" if self.header_read else "The header"
            raise BatchInputError(
                f"{where} is longer than {MAX_ROW_CHARS:,} characters, the most one row may "
                "have. Check that its quotes are closed, or shorten it."
            )
        return line

    def __iter__(self) -> Iterator[str]:
        if self.first:
            yield self.first
        while line := self._read():
            yield line


def _records(lines: _Lines, delimiter: str) -> Iterator[list[str]]:
    """The rows that are not blank, the header first; BatchInputError for a bad file."""
    reader = csv.reader(lines, delimiter=delimiter)
    while True:
        try:
            record = next(reader, None)
        except UnicodeDecodeError:
            raise BatchInputError(NOT_UTF8) from None
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise _long_cell(lines.rows + 1 if lines.header_read else 0) from None
            raise BatchInputError(f"The file is not valid CSV ({exc}).") from None
        if record is None:
            return
        lines.next_record()
        if any(cell.strip() for cell in record):
            yield record


def _long_cell(row: int) -> BatchInputError:
    where = f"Row {row}" if row else "The header"
    return BatchInputError(
        f"{where} has a cell longer than {MAX_CELL_CHARS:,} characters, the most one cell may "
        "have. Shorten it, or check that its quotes are closed."
    )


def parse_csv(data: bytes, *, max_rows: int) -> Table:
    """The table in a CSV file: a header line, then at least one and at most max_rows rows.

    Blank lines are skipped; a row with more cells than the header is refused (its number said);
    a shorter row is padded with empty cells, as spreadsheets export them. Reading stops at the
    first row past max_rows, and at the first row, cell or header over its cap."""
    lines = _Lines(data)
    try:
        first = lines.read_first()
    except UnicodeDecodeError:
        raise BatchInputError(NOT_UTF8) from None
    if not first:
        raise BatchInputError("The file is empty.")
    records = _records(lines, _delimiter(first))
    header = next(records, None)
    if header is None:
        raise BatchInputError("The file's first line should name the columns, and it is empty.")
    columns = _header(header)
    lines.header_read = True
    rows: list[tuple[str, ...]] = []
    for line in records:
        lines.rows = number = len(rows) + 1
        if len(line) > len(columns):
            raise BatchInputError(
                f"Row {number} has {len(line)} cells but the header names {len(columns)} columns."
            )
        if any(len(cell) > MAX_CELL_CHARS for cell in line):
            raise _long_cell(number)
        if number > max_rows:
            raise BatchInputError(
                f"The file has more than {max_rows:,} rows, the most one batch job may have. "
                "Split it into smaller files."
            )
        rows.append(tuple(line) + ("",) * (len(columns) - len(line)))
    if not rows:
        raise BatchInputError("The file has a header but no rows.")
    return Table(columns, tuple(rows))
