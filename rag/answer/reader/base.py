"""What a reader returns: the short answer's value, how it was derived, and the spans it rests on."""

from __future__ import annotations

from dataclasses import dataclass

from rag.types import Table, TableRow


@dataclass(frozen=True)
class Read:
    """What the reader read: the answer's value(s), how it was derived, and what it rests on: table rows
    (with their table), or sentences of prose as (hit index, start, end)."""

    value: str
    kind: str
    rows: tuple[tuple[int, TableRow], ...]  # (hit index, row) of every row read
    table: Table | None
    row: str | None = None
    column: str | None = None
    derivation: str | None = None
    items: tuple[str, ...] = ()
    sentences: tuple[tuple[int, int, int], ...] = ()

    def label(self) -> str:
        """'$1,222 million (Capital expenditures, Total, 2022)'."""
        where = ", ".join(p for p in (self.row, self.column) if p)
        return f"{self.value} ({where})" if where else self.value

    def cited(self) -> tuple[tuple[int, int, int], ...]:
        """(hit index, start, end) of every span the answer must cite: its rows' lines, then its sentences."""
        return tuple((i, row.start, row.end) for i, row in self.rows) + self.sentences
