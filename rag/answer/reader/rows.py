"""Which row of the retrieved tables a question names, if one surely is: by the share of the row's name the
question uses and of the question's line item the row holds, told apart from rows of the same table that fit
alike, and placed in the period asked (a table of that year's columns, a heading over the row, a movement of
a roll-forward).
"""


from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from rag.answer.asked import Asked, label_terms
from rag.answer.reader.cells import _column, _value
from rag.numbers import periods_named
from rag.text import words
from rag.types import Cell, Hit, Table, TableRow

MIN_ROW_MATCH = 0.5
"""How much of a row's name the question must use (and of the question's item words the row must hold,
averaged) for the row to be the one asked about. Below it there is no short answer."""


MARGIN = 0.1
"""A second row this close to the best one, with another figure, makes the row ambiguous: no short answer."""


_NEUTRAL = frozenset(label_terms("total net"))  # "Total revenue" is the revenue row


_TOTAL = frozenset(label_terms("total"))


def row_match(ask: Asked, row: TableRow, table: Table) -> float:
    """How surely the row is the line item the question names, 0 to 1: the share of the row's name the
    question uses, and of the question's item words the row holds (with its parents, the table's title and
    its column headers, which may name the item too), averaged. A bare "Total" row is named by what it
    totals: its parents, else the table's title. 'What was Other in 2019?' and row 'Other' -> 1.0."""
    item = set(ask.item) - _NEUTRAL or set(ask.item)
    if not item:
        return 0.0
    own: set[str] | frozenset[str] = set(label_terms(row.name())) - _NEUTRAL
    if not own:
        # A "Total" row, or a row with no label under the rows it adds up, is named by what it totals.
        own = set(label_terms(" ".join(row.parents) or table.title)) - _NEUTRAL or (_TOTAL & set(ask.words))
    if not own:
        return 0.0
    context = own | set(label_terms(" ".join(row.parents))) | _table_words(table)
    used = len(own & set(ask.words)) / len(own)
    held = len(item & context) / len(item)
    return (used + held) / 2


def asked_column(ask: Asked, question: str, table: Table, row: TableRow) -> int | None:
    """The column a question reads a row in: the one its period names, else the row's only figure's, else the
    one column its words name; None when none surely is."""
    if ask.periods:
        return _column(table, ask.periods[0], question, row)
    named = row.cells[0] if len(row.cells) == 1 else _named_column(table, row, ask)
    return named.column if named is not None else None


def _named_column(table: Table, row: TableRow, ask: Asked) -> Cell | None:
    """The row's cell under the one column whose header the question names ("the gross carrying amount for
    current receivables" -> the "Current" column), when no period picks one; None when none or several do."""
    wanted = set(ask.words) - set(label_terms(row.label))

    def header_words(cell: Cell) -> set[str]:
        words_ = set(label_terms(table.columns[cell.column]))
        return words_ - _NEUTRAL or words_  # a column headed "Total" is named by "total"

    named = [c for c in row.cells if c.column < len(table.columns) and header_words(c) & wanted]
    if len(named) != 1:
        best = max((len(header_words(c) & wanted) for c in named), default=0)
        named = [c for c in named if len(header_words(c) & wanted) == best]
    return named[0] if len(named) == 1 else None


def _shared(question: str, row: TableRow) -> int:
    """Words, function words included, the row's name shares with the question: 'owed by' is not 'owed to'."""
    return len(set(words(question)) & set(words(row.name())))


def _table_words(table: Table) -> set[str]:
    return set(label_terms(" ".join([table.title, *table.columns])))


def alone(hit: Hit, table: Table) -> list[Hit]:
    """The hit with only this one of its chunk's tables, for reading rows of one table among several."""
    return [dataclasses.replace(hit, chunk=dataclasses.replace(hit.chunk, tables=(table,)))]


def _rows(hits: Sequence[Hit]) -> list[tuple[int, Table, TableRow]]:
    return [(i, table, row) for i, hit in enumerate(hits) for table in hit.chunk.tables for row in table.rows]


def _best_row(ask: Asked, hits: Sequence[Hit], question: str = "") -> tuple[int, Table, TableRow] | None:
    """The row the question names, if one surely is: above `MIN_ROW_MATCH`, and no other row of the same table
    with other figures within `MARGIN` / 2 of it (two rows the question fits equally are a guess), unless the
    question's own words, function words included, tell them apart."""
    rows, scored = _scored(ask, hits, question)
    if not scored or scored[0][0] < MIN_ROW_MATCH:
        return None
    top, shared, extra = scored[0][0], scored[0][1], scored[0][2]
    best = rows[scored[0][4]]
    for score, other_shared, other_extra, _, n in scored[1:]:
        if score <= top - MARGIN / 2:
            break
        other = rows[n][2]
        if rows[n][1] is best[1] and (other_shared, other_extra) == (shared, extra) and \
                [c.text for c in other.cells] != [c.text for c in best[2].cells]:
            return None
    return best


def _alike(ask: Asked, hits: Sequence[Hit], question: str = "") -> list[tuple[int, Table, TableRow]]:
    """The rows of one table the question fits exactly alike at the top, under one heading, when there are
    two or more: "the total USD denominated monetary assets" fits "Monetary assets, current" and "Monetary
    assets, non-current" alike, the parts of a total the table does not print."""
    rows, scored = _scored(ask, hits, question)
    if not scored or scored[0][0] < MIN_ROW_MATCH:
        return []
    key = scored[0][:3]
    alike = [rows[n] for *head, _, n in scored if tuple(head) == key]
    first = alike[0]
    if any(t is not first[1] or r.parents != first[2].parents for _, t, r in alike):
        return []
    return sorted(alike, key=lambda r: first[1].rows.index(r[2])) if len(alike) >= 2 else []  # in table order


def _scored(ask: Asked, hits: Sequence[Hit], question: str) -> tuple[list[tuple[int, Table, TableRow]],
                                                                      list[tuple[float, float, int, int, int]]]:
    """The rows a question may name (of the period asked where tables say), and each one's score, best first:
    (row match, how distinctly its words name it, minus its words the question does not use, minus its hit's
    rank, its index)."""
    rows = _rows(hits)
    if ask.periods:
        # Of tables stacked one per year, the one whose columns hold the periods asked holds the row asked.
        tables = {id(t): t for _, t, _ in rows}
        holds = {key: all(_column(t, p, question) is not None for p in ask.periods) for key, t in tables.items()}
        # Else, of a table whose periods head groups of rows ("As at 31 December 2019" over "Monetary assets,
        # current"), the rows under the period asked.
        rows = [r for r in rows if holds[id(r[1])]] or [r for r in rows if _under(r[2]) == list(ask.periods)] or rows
    counts = {id(table): _label_counts(table) for _, table, _ in rows}  # once per table, not once per row
    scored = sorted(((row_match(ask, row, table), _distinct(ask, row, counts[id(table)]), -_extra(ask, row), -i, n)
                     for n, (i, table, row) in enumerate(rows) if row.cells and _named(row)), reverse=True)
    return rows, scored


def _named(row: TableRow) -> bool:
    """A row a question can name: one with a label, or without one a row of figures (a total under the rows
    it adds up), not a label's text wrapped onto a line of its own ("11/4/2024" under "Maturity date")."""
    return bool(row.label.strip()) or any(_value(c) is not None for c in row.cells)


def _rolled(table: Table, row: TableRow, periods: Sequence[str]) -> bool:
    """Whether the row is a movement of the one period asked in a roll-forward: between a row dated the year
    before ("Non-vested at December 31, 2018") and one dated the year ("... 2019"), "Granted" is 2019's."""
    if len(periods) != 1 or row not in table.rows:
        return False
    at, year = table.rows.index(row), periods[0]
    dated = [(k, periods_named(r.label)) for k, r in enumerate(table.rows) if r.cells]
    return any(k < at and named == [str(int(year) - 1)] for k, named in dated) and \
        any(k > at and named == [year] for k, named in dated)


def _under(row: TableRow) -> list[str]:
    """The periods the headings above a row name: 'As at 31 December 2019' -> ['2019']."""
    return periods_named(", ".join(row.parents))


def _label_counts(table: Table) -> dict[str, int]:
    """How many of the table's row labels hold each word: 'Vested', 'Forfeited', 'Non-vested at ...' ->
    {'vest': 2, 'forfeit': 1, 'non': 1, ...}."""
    counts: dict[str, int] = {}
    for row in table.rows:
        for word in set(label_terms(row.label)):
            counts[word] = counts.get(word, 0) + 1
    return counts


def _distinct(ask: Asked, row: TableRow, counts: dict[str, int]) -> float:
    """How much the question's words that name this row tell it from the table's other rows: each shared
    word counts 1 / the number of the table's rows that hold it (`_label_counts`). Of "Vested" and
    "Forfeited" under "Non-vested shares", "the non-vested shares forfeited" names the second."""
    return round(sum(1 / counts.get(w, 1) for w in set(label_terms(row.label)) & set(ask.words)), 6)


def _extra(ask: Asked, row: TableRow) -> int:
    """Words of the row's own label the question does not use: of "Billed receivables" and "Billed
    receivables, net", the question "What were the billed receivables?" names the first."""
    return len(set(label_terms(row.label)) - set(ask.words))
