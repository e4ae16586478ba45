"""The prompt template: `{column}` placeholders filled from each row (pure)."""

from __future__ import annotations

import string
from dataclasses import dataclass

from bot.batch.table import BatchInputError, Table

_FORMATTER = string.Formatter()


@dataclass(frozen=True)
class Template:
    """A checked template: every placeholder names a column of the table."""

    text: str
    fields: tuple[str, ...]

    def render(self, record: dict[str, str]) -> str:
        """The prompt for one row."""
        parts: list[str] = []
        for literal, name, _, _ in _FORMATTER.parse(self.text):
            parts.append(literal)
            if name is not None:
                parts.append(record[name])
        return "".join(parts)


def _names(text: str) -> list[str]:
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError:
        raise BatchInputError(
            "The template has an unmatched `{` or `}`. Write `{{` or `}}` for a literal brace."
        ) from None
    names: list[str] = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.strip() or spec or conversion:
            shown = (
                "{"
                + name
                + (f"!{conversion}" if conversion else "")
                + (f":{spec}" if spec else "")
                + "}"
            )
            raise BatchInputError(f"`{shown}` is not a column placeholder; write `{{column}}`.")
        names.append(name)
    return names


def columns_hint(table: Table) -> str:
    """The table's columns as placeholders, for messages."""
    return ", ".join(f"`{{{c}}}`" for c in table.columns)


def parse_template(text: str, table: Table) -> Template:
    """Check the template against the table's columns."""
    text = text.strip()
    if not text:
        raise BatchInputError(
            f"Write the prompt after the command, naming columns: {columns_hint(table)}."
        )
    names = _names(text)
    if not names:
        raise BatchInputError(
            f"The template names no column, so every row would get the same prompt. "
            f"Use some of {columns_hint(table)}."
        )
    unknown = [n for n in dict.fromkeys(names) if n not in table.columns]
    if unknown:
        listed = ", ".join(f"`{{{n}}}`" for n in unknown)
        raise BatchInputError(
            f"The template names {listed}, which the file does not have. "
            f"Its columns are {columns_hint(table)}."
        )
    return Template(text, tuple(dict.fromkeys(names)))
