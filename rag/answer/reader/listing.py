"""What a table lists rather than a figure it holds: the rows a line item is made of, the line items or the
years a table shows, and the row or period a comparison picks.
"""


from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from rag.answer.asked import RESPECTIVE, Asked, label_terms
from rag.answer.reader.base import Read
from rag.answer.reader.cells import _TOTAL_LABEL, _extreme, _value, _years
from rag.answer.reader.rows import _NEUTRAL, MIN_ROW_MATCH, _rows, _shared, _table_words, row_match
from rag.types import Hit, Table, TableRow


def _components(ask: Asked, question: str, hits: Sequence[Hit]) -> Read | None:
    """'What are the components of total revenue?': the labels of the rows a line item holds: the rows under
    a label row that heads them, or the rows a total adds up (those above it, back to the previous total or
    heading). 'How many components ...' counts them."""
    rows = _rows(hits)
    scored = sorted(((row_match(ask, row, table), _shared(question, row), -n, n) for n, (i, table, row) in
                     enumerate(rows)), reverse=True)
    if not scored or scored[0][0] < MIN_ROW_MATCH:
        return _table_rows(ask, question, hits) if _THE_TABLE.search(question) else None
    i, table, head = rows[scored[0][3]]
    if head.cells:  # a total: the rows with figures above it, back to the previous total or heading
        index = table.rows.index(head)
        parts: list[TableRow] = []
        for row in reversed(table.rows[:index]):
            if not row.cells or _TOTAL_LABEL.match(row.label) or not row.label:
                break
            parts.insert(0, row)
    else:  # a heading: the rows with figures below it, up to its total or the next heading
        parts = []
        for row in table.rows[table.rows.index(head) + 1:]:
            if not row.cells or _TOTAL_LABEL.match(row.label) or not row.label:
                break
            parts.append(row)
    if len(parts) < 2:
        return None
    labels = tuple(_unmarked(r.label) for r in parts)
    cited = tuple((i, r) for r in parts)
    if re.match(r"(?i)^\s*how\s+many\b", question):
        return Read(str(len(labels)), "count", cited, table, head.name(), None, ", ".join(labels))
    return Read(", ".join(labels), "spans", cited, table, head.name(), None, None, labels)


_THE_TABLE = re.compile(r"(?i)\bthe\s+table\b")


_NOT_ROWS = re.compile(r"(?i)\b(?:dates?|years?|periods?|months?|quarters?|units?)\b")


_MARK = re.compile(r"(?<=[a-z]{3})\d{1,2}$|\s*\(\s*(?:\d{1,2}|[a-z])\s*\)$")


def _unmarked(label: str) -> str:
    """A row label without the footnote mark printed against it: 'Incentive schemes1', 'Other (2)' -> the
    label alone, as a list of line items names them."""
    return _MARK.sub("", label.strip())


def _table_rows(ask: Asked, question: str, hits: Sequence[Hit]) -> Read | None:
    """'What financial items are listed in the table?', 'What are the types of Solutions segments in the
    table?': the line items of the table the question's words fit best (the first on a tie): the rows or
    headings whose labels hold a word of the question when some do, else those with figures; no totals."""
    tables = [(i, t) for i, hit in enumerate(hits) for t in hit.chunk.tables if t.rows]
    if not tables or ask.periods or _NOT_ROWS.search(question):
        return None  # "the dates listed in the table", "items with values in 2019": not its line items
    wanted = set(ask.item)

    def fit(table: Table) -> int:
        return len(wanted & (_table_words(table) | {w for r in table.rows for w in label_terms(r.label)}))

    i, table = max(tables, key=lambda it: fit(it[1]))
    labelled = [r for r in table.rows if r.label.strip() and not _TOTAL_LABEL.match(r.label)]
    items = [r for r in labelled if r.cells]
    named = [r for r in labelled if wanted & set(label_terms(r.label))]  # a heading too: "Industrial Solutions:"
    headers = {w for _, t in tables for w in label_terms(" ".join(t.columns))}
    if not named and wanted & headers:
        return None  # "the types of Solutions segments" columns name, not rows
    items = named or items
    if len(items) < 2:
        return None
    labels = tuple(_unmarked(r.label) for r in items)
    cited = tuple((i, r) for r in items)
    if re.match(r"(?i)^\s*how\s+many\b", question):
        return Read(str(len(labels)), "count", cited, table, None, None, ", ".join(labels))
    return Read(", ".join(labels), "spans", cited, table, None, None, None, labels)


def _pick(ask: Asked, question: str, hits: Sequence[Hit]) -> Read | None:
    """'In which segment was X the largest?': the label of the row whose figure, in the column the question
    names (by its period or its header's words), is largest (or smallest); totals are not candidates. "In 2018
    and 2019 respectively": the row picked in each period, in the order asked."""
    if len(ask.periods) > 1 and RESPECTIVE.search(question):
        each = [_pick(dataclasses.replace(ask, periods=(p,)), "", hits) for p in ask.periods]
        if any(found is None for found in each):
            return None
        labels = tuple(found.value for found in each if found is not None)
        first = each[0]
        assert first is not None
        return Read(", ".join(labels), "spans", tuple(r for found in each if found for r in found.rows), first.table,
                    None, ", ".join(ask.periods), None, labels)
    tables = [(i, t) for i, hit in enumerate(hits) for t in hit.chunk.tables if t.rows]
    if not tables:
        return None
    wanted = set(ask.words)

    def fit(table: Table) -> int:
        return len(wanted & _table_words(table))

    i, table = max(tables, key=lambda it: fit(it[1]))
    columns = [c for c in range(len(table.columns)) if (not ask.periods or ask.periods[0] in table.columns[c])]
    named = [c for c in columns if wanted & (set(label_terms(table.columns[c])) - _NEUTRAL)]
    # "the highest total value": a column no other word names may be named by "total" alone.
    named = named or [c for c in columns if wanted & set(label_terms(table.columns[c]))]
    best = max((len(wanted & set(label_terms(table.columns[c]))) for c in named), default=0)
    named = [c for c in named if len(wanted & set(label_terms(table.columns[c]))) == best]
    column = (named or columns)[0] if len(named) == 1 or len(columns) == 1 else None
    if column is None:
        return None
    figures = [(row, v) for row in table.rows if row.label and not _TOTAL_LABEL.match(row.label)
               and (v := _value(row.cell(column))) is not None]
    picked = _extreme(figures, ask.high)
    if picked is None:
        return None
    return Read(picked[0].label, "compare", ((i, picked[0]),), table, picked[0].name(), table.columns[column],
                picked[1])


def _columns(ask: Asked, hits: Sequence[Hit]) -> Read | None:
    """'Which years does the table provide information for X?': the periods its column headers name."""
    tables = [(i, t) for i, hit in enumerate(hits) for t in hit.chunk.tables if t.columns]
    if not tables:
        return None
    scored = sorted(tables, key=lambda it: -max((row_match(ask, r, it[1]) for r in it[1].rows), default=0.0))
    i, table = scored[0]
    periods = list(dict.fromkeys(p for header in table.columns for p in _years(header)))
    if not periods:
        return None
    first = table.rows[0] if table.rows else None
    return Read(", ".join(periods), "spans", ((i, first),) if first else (), table, None, None, None,
                tuple(periods))
