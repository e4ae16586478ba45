"""A CSV file as a table of rows, checked before anything is sent to Claude (pure)."""

from __future__ import annotations

import csv
import io
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


def decode(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark); anything else is refused clearly."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BatchInputError(
            "The file is not UTF-8 text. Export it as *CSV UTF-8* and share it again."
        ) from None


def _delimiter(text: str) -> str:
    """The separator the header line uses most: comma, semicolon (European spreadsheets) or tab."""
    header = text.lstrip().split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _header(raw: list[str]) -> tuple[str, ...]:
    columns = tuple(name.strip() for name in raw)
    if not any(columns):
        raise BatchInputError("The file's first line should name the columns, and it is empty.")
    if "" in columns:
        position = columns.index("") + 1
        raise BatchInputError(f"Column {position} of the header has no name; name every column.")
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            raise BatchInputError(f"Two columns are called `{name}`; column names must differ.")
        seen.add(name)
    return columns


def parse_csv(data: bytes, *, max_rows: int) -> Table:
    """The table in a CSV file: a header line, then at least one and at most max_rows rows.

    Blank lines are skipped; a row with more cells than the header is refused (its number said);
    a shorter row is padded with empty cells, as spreadsheets export them."""
    text = decode(data)
    if not text.strip():
        raise BatchInputError("The file is empty.")
    try:
        lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text)))
    except csv.Error as exc:
        raise BatchInputError(f"The file is not valid CSV ({exc}).") from None
    lines = [line for line in lines if any(cell.strip() for cell in line)]
    columns = _header(lines[0])
    rows: list[tuple[str, ...]] = []
    for number, line in enumerate(lines[1:], start=1):
        if len(line) > len(columns):
            raise BatchInputError(
                f"Row {number} has {len(line)} cells but the header names {len(columns)} columns."
            )
        rows.append(tuple(line) + ("",) * (len(columns) - len(line)))
        if len(rows) > max_rows:
            raise BatchInputError(
                f"The file has more than {max_rows:,} rows, the most one batch job may have. "
                "Split it into smaller files."
            )
    if not rows:
        raise BatchInputError("The file has a header but no rows.")
    return Table(columns, tuple(rows))
