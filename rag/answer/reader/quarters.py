"""Quarters a question names without a year of their own ("between the third quarter and fourth quarter",
"the average quarterly low price in 2018"): read from columns named by the quarters or from rows named by
them under the year, changed from the earlier to the later, averaged, summed or listed.
"""


from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from rag.answer.asked import Asked, label_terms
from rag.answer.reader.base import Read
from rag.answer.reader.cells import _change, _number, _only, _scaled, _unit, _value
from rag.answer.reader.rows import _NEUTRAL, _best_row, alone
from rag.numbers import periods_named, quarter_of, show
from rag.types import Cell, Hit, Table, TableRow


def _quarterly(ask: Asked, question: str, hits: Sequence[Hit]) -> Read | None:
    """A row's figures for the quarters the question relates within its year: under columns named by those
    quarters ('Fiscal 2019 First Quarter' ... ), or in rows named by them under a heading of the year
    ('2019' over 'Fourth Quarter', 'Third Quarter') and in the column the question's other words name
    ('High'). A change runs from the earlier quarter to the later; an average or a sum is over them; a lookup
    lists them in the order of the year."""
    year = ask.periods[0] if len(ask.periods) == 1 else None
    if len(ask.periods) > 1:
        return None
    plain = dataclasses.replace(ask, periods=(), quarters=())
    for i, hit in enumerate(hits):
        for table in hit.chunk.tables:
            one = alone(hit, table)
            columns = {q: _only(c for c, h in enumerate(table.columns) if quarter_of(h) == q and not
                                _TOTAL_HEADER.search(h) and (year is None or year in periods_named(h)))
                       for q in ask.quarters}
            if all(c is not None for c in columns.values()):
                found = _best_row(plain, one, question)
                if found is None:
                    continue
                cells = [(q, found[2].cell(c)) for q, c in columns.items() if c is not None]
                return _over_quarters(ask, table, [(q, (i, found[2]), cell) for q, cell in cells])
            # Else rows named by the quarters, the year over them or heading the columns.
            dated = [c for c, h in enumerate(table.columns) if year is not None and year in periods_named(h)]
            rows = {q: [r for r in table.rows if r.cells and quarter_of(r.label) == q
                        and (year is None or dated or year in periods_named(r.name()))] for q in ask.quarters}
            if any(len(found) != 1 for found in rows.values()):
                continue
            first = rows[ask.quarters[0]][0]
            wanted = set(ask.words) - set(label_terms(first.name()))
            overlap = {c: len(wanted & (set(label_terms(table.columns[c])) - _NEUTRAL))
                       for c in (dated or range(len(table.columns)))}
            best = max(overlap.values(), default=0)
            named = [c for c, n in overlap.items() if n == best and n > 0]
            column = named[0] if len(named) == 1 else dated[0] if len(dated) == 1 else None
            if column is None:
                continue
            return _over_quarters(ask, table, [(q, (i, found[0]), found[0].cell(column)) for q, found in rows.items()])
    return None


_TOTAL_HEADER = re.compile(r"(?i)\b(?:total|year|full)\b")


def _over_quarters(ask: Asked, table: Table, cells: Sequence[tuple[int, tuple[int, TableRow], Cell | None]]) -> \
        Read | None:
    """One step over the quarters' cells, or the cells listed: see `_quarterly`."""
    values = [(q, at, cell, v) for q, at, cell in cells if cell is not None and (v := _value(cell)) is not None]
    if len(values) != len(cells):
        return None
    rows = tuple(dict.fromkeys(at for _, at, _, _ in values))
    name = "; ".join(dict.fromkeys(at[1].name() for _, at, _, _ in values))
    unit, scale = _unit(table, values[0][1][1], [c for _, _, c, _ in values])
    op = ask.operation
    if op in ("change", "percent_change") and len(values) == 2:
        (new_q, _, _, new), (old_q, _, _, old) = values
        found = _change(op, new, old, (unit, scale), rows[0], table, f"Q{old_q} to Q{new_q}")
        return dataclasses.replace(found, rows=rows, row=name) if found is not None else None
    ordered = sorted(values, key=lambda v: v[0])
    quarters = ", ".join(f"Q{q}" for q, _, _, _ in ordered)
    if op in ("average", "sum"):
        total = sum(v for _, _, _, v in ordered)
        result = total / len(ordered) if op == "average" else total
        listed = " + ".join(show(v) for _, _, _, v in ordered)
        expression = f"({listed}) / {len(ordered)}" if op == "average" else listed
        return Read(_number(result, unit, scale), "computed", rows, table, name, quarters,
                    f"{expression} = {show(round(result, 4))}")
    if op == "lookup":
        shown = tuple(_scaled(c, table, at[1]) for _, at, c, _ in ordered)
        return Read(", ".join(shown), "spans", rows, table, name, quarters, None, shown)
    return None
