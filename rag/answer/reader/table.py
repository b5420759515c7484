"""The table reader: a cell named by its row, its column and its unit, or one step computed over cells.

Each cell of a retrieved chunk's tables has a row label (under its parents), a column header (a period)
and the table's scale and unit, so the reader can say "$1,222 million (Capital expenditures, Total,
2022)", compute one step over cells it can name ("(44.1 - 56.7) / 56.7 = -22.22%"), pick the period a
comparison asks for, and decline when no row is the line item asked for. This module reads the question's
operation over the row it names; `rows` finds the row, `cells` reads its cells, `pairs`, `quarters` and
`listing` read the other shapes of question.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from rag.answer.asked import Asked, label_terms, period_pair
from rag.answer.reader.base import Read
from rag.answer.reader.cells import (
    _change,
    _column,
    _dated,
    _extreme,
    _number,
    _period_cells,
    _scaled,
    _unit,
    _value,
    _years,
)
from rag.answer.reader.listing import _columns, _components, _pick
from rag.answer.reader.pairs import _between_dates, _two_columns, _two_rows, part_rows
from rag.answer.reader.quarters import _quarterly
from rag.answer.reader.rows import _NEUTRAL, _alike, _best_row, _named_column, _rolled, _under, asked_column
from rag.numbers import SCALES, periods_named, show
from rag.types import Hit, Table, TableRow


def read_tables(ask: Asked, question: str, hits: Sequence[Hit]) -> Read | None:
    """The short answer the retrieved tables give to the question, or None when none surely does; a table
    whose rows are periods ("2022", "2023") and columns line items is read turned a quarter."""
    found = _read_tables(ask, question, hits)
    if found is not None:
        return found
    turned = [dataclasses.replace(h, chunk=dataclasses.replace(h.chunk, tables=tuple(
        t for t in map(transposed, (t for t in h.chunk.tables if not _movement_named(ask, t))) if t is not None)))
        for h in hits]
    found = _read_tables(ask, question, turned) if any(h.chunk.tables for h in turned) else None
    if found is not None:
        return found
    grouped = [dataclasses.replace(h, chunk=dataclasses.replace(h.chunk, tables=tuple(
        t for t in map(regrouped, h.chunk.tables) if t is not None))) for h in hits]
    return _read_tables(ask, question, grouped) if any(h.chunk.tables for h in grouped) else None


def _movement_named(ask: Asked, table: Table) -> bool:
    """Whether the question names an undated row of the table by all its words ("granted" of "Granted"
    between two dated balances): it asks that row, and the table is not one to read turned."""
    return any(r.cells and not periods_named(r.label) and set(label_terms(r.label)) <= set(ask.words)
               for r in table.rows if label_terms(r.label))


def regrouped(table: Table) -> Table | None:
    """A table whose periods head groups of rows ("Year ended 30 June 2019" over "Leasehold | 23% | 77%", then
    "Year ended 30 June 2018" over "Leasehold | 60% | 40%"), read with the periods as its columns: each line
    item and column becomes a row ("External valuation %, Leasehold": 23%, 60%) under the periods' headings.
    None unless two or more headings name one period each and a line item stands under two of them."""
    groups: dict[str, dict[str, TableRow]] = {}
    for row in table.rows:
        if row.cells and row.parents and len(periods_named(row.parents[-1])) == 1:
            groups.setdefault(row.parents[-1], {}).setdefault(row.label, row)
    if len(groups) < 2 or len({periods_named(h)[0] for h in groups}) < len(groups):
        return None
    headings = list(groups)
    labels = [label for label in dict.fromkeys(label for g in groups.values() for label in g)
              if sum(label in g for g in groups.values()) >= 2]
    rows = []
    for label in labels:
        for c, header in enumerate(table.columns):
            cells = tuple(dataclasses.replace(cell, column=k) for k, h in enumerate(headings)
                          if label in groups[h] and (cell := groups[h][label].cell(c)) is not None)
            if len(cells) >= 2:
                parents = (header,) if len(table.columns) > 1 else ()
                rows.append(TableRow(label, min(x.start for x in cells), max(x.end for x in cells), cells, parents))
    if not rows:
        return None
    return dataclasses.replace(table, columns=tuple(headings), rows=tuple(rows), header=None)


def transposed(table: Table) -> Table | None:
    """A table whose row labels are periods, turned so its columns are rows: each column's cells, one per
    period, become a row named by the column's header, spanning the text from its first cell to its last.
    None when fewer than two row labels are periods.

    rows '2023 | 135 | 7', '2022 | 138 | 6' under 'Operating Leases | Finance Leases' -> rows 'Operating
    Leases' (135, 138) and 'Finance Leases' (7, 6) under columns '2023', '2022'."""
    dated = [r for r in table.rows if r.cells and len(periods_named(r.label)) == 1]
    if len(dated) < 2 or not table.columns:
        return None
    rows = []
    for c, header in enumerate(table.columns):
        cells = tuple(dataclasses.replace(cell, column=k) for k, r in enumerate(dated)
                      if (cell := r.cell(c)) is not None)
        if header and cells:
            rows.append(TableRow(header, min(x.start for x in cells), max(x.end for x in cells), cells))
    return dataclasses.replace(table, columns=tuple(r.label for r in dated), rows=tuple(rows), header=None)


def _read_tables(ask: Asked, question: str, hits: Sequence[Hit]) -> Read | None:
    if ask.operation == "components":
        return _components(ask, question, hits)
    if ask.operation == "pick":
        return _pick(ask, question, hits)
    if ask.operation == "columns":
        found = _best_row(ask, hits, question)
        if found is not None:  # the periods this row has figures for
            i, table, row = found
            periods = tuple(dict.fromkeys(p for c in row.cells if c.column < len(table.columns)
                                          for p in _years(table.columns[c.column])[:1]))
            if periods:
                return Read(", ".join(periods), "spans", ((i, row),), table, row.name(), None, None, periods)
        return _columns(ask, hits)
    if ask.quarters and ask.operation in ("change", "percent_change", "average", "sum", "lookup"):
        return _quarterly(ask, question, hits)
    if ask.pair is not None:
        return _two_columns(ask, question, hits) or _two_rows(ask, question, hits)
    if ask.parts and ask.operation in ("sum", "average") and len(ask.periods) <= 1:
        both = part_rows(ask, ask.item, question, hits)
        if both:  # "the average percentage of revenue from Apple and Huawei in 2018": over the two rows
            return _over_two(ask, question, *both[0])
    between = _between_dates(ask, question, hits) if ask.dates else None
    if between is not None:
        return between  # else the dates are rows' ("At 31 December"), and the columns the years'
    found = _best_row(ask, hits, question)
    if found is None:
        return _total_of_parts(ask, question, hits) if ask.operation == "lookup" and _TOTAL_ASKED.search(question) \
            else None
    i, table, row = found
    heading = _heading_named(ask, table, row)
    if heading is not None:
        # The question names the heading over the row, not the row ("the total Assets as reported"): its total
        # is the sum of the rows under it; anything else asked of a heading is no one row's.
        if ask.operation != "lookup" or not _TOTAL_ASKED.search(question) or len(heading) < 2:
            return None
        return _summed(ask, question, i, table, heading)
    periods = tuple(p for p in ask.periods if _column(table, p, question) is not None)
    if len(periods) < len(ask.periods):
        # A period no column names is this table's only when its title or headers say so ("as of 2019"
        # above aging buckets), or a heading over the row does; else the table does not hold it.
        titled = all(p in f"{table.title} {table.caption}" for p in ask.periods)
        if periods or not (titled or _under(row) == list(ask.periods) or _rolled(table, row, ask.periods)):
            return None
        ask = dataclasses.replace(ask, periods=())
    columns = [c for p in periods if (c := _column(table, p, question, row)) is not None]
    if len(set(columns)) < len(columns):
        return None  # two periods under one column ("Change between 2019 and 2018"): neither is that column's
    cells = [(p, row.cell(c)) for p, c in zip(periods, columns, strict=True)]
    values = [(p, v) for p, cell in cells if (v := _value(cell)) is not None]
    name = row.name()
    if ask.averaged and _CHANGED_LABEL.search(row.label):
        # "the average net change in cash balance": the change names the row; its figures are averaged.
        ask = dataclasses.replace(ask, operation="average", averaged=False)
    op = ask.operation
    if op == "lookup" and len(periods) > 1:  # "X in 2019 and 2018": each period's cell
        if len(values) != len(periods):
            return None
        shown = tuple(_scaled(cell, table, row) for _, cell in cells if cell is not None)
        return Read(", ".join(shown), "spans", ((i, row),), table, name, ", ".join(periods), None, shown)
    if op == "lookup" and len(periods) == 1 and _MOVE.search(question) and not _MOVE.search(row.name()):
        # "What was the increase in interest income in 2019?" asks for the year's change, not its level (a row
        # "Net decrease in cash" is the level asked): from the period before, where the table gives it.
        by_year = dict(_dated(table, row))
        previous = str(int(periods[0]) - 1)
        if periods[0] not in by_year or previous not in by_year:
            return None
        unit, scale = _unit(table, row, [c for _, c in cells if c is not None])
        return _change("change", by_year[periods[0]], by_year[previous], (unit, scale), (i, row), table,
                       f"{previous} to {periods[0]}")
    if op == "lookup":
        cell = cells[0][1] if periods else row.cells[0] if len(row.cells) == 1 else _named_column(table, row, ask)
        if cell is None:
            return None
        column = table.columns[cell.column] if cell.column < len(table.columns) else None
        return Read(_scaled(cell, table, row), "cell", ((i, row),), table, name, column)
    dated = _dated(table, row)
    unit, scale = _unit(table, row, [c for _, c in cells if c is not None] or _period_cells(table, row)
                        or list(row.cells))
    if op == "change" and ask.averaged and len(ask.periods) >= 2 and not _AVERAGE_LABEL.search(row.label):
        return _averaged_change(ask, table, (i, row))  # a row named "Average life expectancy" is changed as it is
    if op in ("change", "percent_change") and not ask.periods and len(dated) >= 2:
        values = sorted(dated, reverse=True)[:2]  # "the change in X": from the table's previous period to its latest
    if op in ("change", "percent_change") and len(values) == 2:
        (new_p, new), (old_p, old) = values
        return _change(op, new, old, (unit, scale), (i, row), table, f"{old_p} to {new_p}")
    sides = period_pair(question, op)
    if sides is not None and len(values) == 2:
        # "X in 2019 as a percentage of X in 2018": one row, one side's period over the other's.
        (top_p, top), (base_p, base) = sorted(values, key=lambda pv: sides.index(pv[0]) if pv[0] in sides else 2)
        if base == 0 or [top_p, base_p] != list(sides):
            return None
        result = top / base * (100 if op == "percent_of" else 1)
        return Read(_number(result, "", "", percent=op == "percent_of"), "computed", ((i, row),), table, name,
                    f"{top_p}; {base_p}", f"{show(top)} / {show(base)} = {show(round(result, 4))}")
    if op == "average" and len(ask.periods) == 1:
        # "The 2019 average X": of the year's closing and opening figures, 2019's and 2018's.
        previous = str(int(ask.periods[0]) - 1)
        pair = [(p, v) for p, v in dated if p in (ask.periods[0], previous)]
        values = pair if len(pair) == 2 else values
    if op in ("average", "sum"):
        if not ask.periods:
            values = dated  # "the average cost of sales": over every period the table gives
        if len(values) < 2:
            return None
        total = sum(v for _, v in values)
        result = total / len(values) if op == "average" else total
        terms_ = " + ".join(show(v) for _, v in values)
        expression = f"({terms_}) / {len(values)}" if op == "average" else terms_
        return Read(_number(result, unit, scale), "computed", ((i, row),), table, name,
                    ", ".join(p for p, _ in values), f"{expression} = {show(round(result, 4))}")
    if op == "count" and ask.bound is not None:
        # "How many years did X exceed $200,000 thousand?": the periods whose figure, in units, passes the bound.
        multiplier = SCALES.get(scale, 1.0) if scale else 1.0
        years = [(p, v) for p, v in dated if not ask.periods or p in ask.periods]
        if len(years) < 2:
            return None
        passing = [p for p, v in years if (v * multiplier > ask.bound if ask.high else v * multiplier < ask.bound)]
        listed = ", ".join(f"{p}: {show(v)}" for p, v in years)
        return Read(str(len(passing)), "count", ((i, row),), table, row.name(), ", ".join(passing) or None,
                    f"{listed}; {'above' if ask.high else 'below'} {show(ask.bound)}: {len(passing)}")
    if op == "compare" and ask.bound is not None:
        # "In which year was X lower than 2,000 thousands?": every period whose figure, in units, passes it.
        multiplier = SCALES.get(scale, 1.0) if scale else 1.0
        under = tuple(p for p, v in dated if (v * multiplier > ask.bound if ask.high else v * multiplier < ask.bound))
        if not under or len(dated) < 2:
            return None
        return Read(", ".join(under), "spans", ((i, row),), table, row.name(), None,
                    f"{', '.join(f'{p}: {show(v)}' for p, v in dated)}; {'above' if ask.high else 'below'} "
                    f"{show(ask.bound)}", under)
    if op == "compare" and (not ask.periods or len(ask.periods) >= 2):
        # "Between 2018 and 2019, which year had higher X": among the periods named, else all the table gives
        picked = _extreme([(p, v) for p, v in dated if not ask.periods or p in ask.periods], ask.high)
        if picked is None:
            return None
        return Read(picked[0], "compare", ((i, row),), table, name, picked[0], picked[1])
    return None


_AVERAGE_LABEL = re.compile(r"(?i)\baverage\b")


_CHANGED_LABEL = re.compile(r"(?i)\b(?:change|increase|decrease|decline|difference|growth|movement|variance)s?\b")


_MOVE = re.compile(r"(?i)\b(?:increase|decrease|decline|growth|rise|drop|movement)s?\b")


_TOTAL_ASKED = re.compile(r"(?i)\btotal\b")


def _over_two(ask: Asked, question: str, i: int, table: Table, a: TableRow, b: TableRow) -> Read | None:
    """The sum or the average of two rows' cells of the period asked, else of the column the question names."""
    column = asked_column(ask, question, table, a)
    if column is None:
        return None
    cells = [a.cell(column), b.cell(column)]
    x, y = (_value(c) for c in cells)
    if x is None or y is None:
        return None
    unit, scale = _unit(table, a, [c for c in cells if c is not None])
    result = (x + y) / 2 if ask.operation == "average" else x + y
    expression = f"({show(x)} + {show(y)}) / 2" if ask.operation == "average" else f"{show(x)} + {show(y)}"
    header = table.columns[column] if column < len(table.columns) else None
    return Read(_number(result, unit, scale), "computed", ((i, a), (i, b)), table, f"{a.name()}; {b.name()}", header,
                f"{expression} = {show(round(result, 4))}")


def _heading_named(ask: Asked, table: Table, row: TableRow) -> list[TableRow] | None:
    """The rows with figures under the row's heading, when the question names that heading by all its words
    and none of the row's own: "What were the total Assets?" of "Deferred income tax assets" under "Assets".
    A row with no words of its own ("Total", or no label) is the heading's total, and is read as it is."""
    if not row.parents:
        return None
    heading = set(label_terms(row.parents[-1])) - _NEUTRAL
    own = set(label_terms(row.label)) - heading - _NEUTRAL
    if not heading or not own or not heading <= set(ask.words) or own & set(ask.words):
        return None
    return [r for r in table.rows if r.parents == row.parents and r.cells]



def _total_of_parts(ask: Asked, question: str, hits: Sequence[Hit]) -> Read | None:
    """'What was the total USD denominated monetary assets as at 31 December 2019?' where the table prints no
    total: the sum of the rows the question fits alike under one heading (current and non-current), in the
    column the period or the question's words name."""
    parts = _alike(ask, hits, question)
    if not parts:
        return None
    return _summed(ask, question, parts[0][0], parts[0][1], [r for _, _, r in parts])


def _summed(ask: Asked, question: str, i: int, table: Table, rows: Sequence[TableRow]) -> Read | None:
    """The sum of the rows' cells in the column the period asked, else the question's words, name."""
    first = rows[0]
    period = ask.periods[0] if len(ask.periods) == 1 else None
    column = _column(table, period, question, first) if period is not None else None
    if column is None:
        named = _named_column(table, first, ask)
        column = named.column if named is not None else None
    if column is None or (period is not None and _under(first) != [period] and
                          _column(table, period, question, first) is None):
        return None
    cells = [(r, r.cell(column)) for r in rows]
    values = [v for _, c in cells if (v := _value(c)) is not None]
    if len(values) != len(cells):
        return None
    unit, scale = _unit(table, first, [c for _, c in cells if c is not None])
    total = sum(values)
    header = table.columns[column] if column < len(table.columns) else None
    return Read(_number(total, unit, scale), "computed", tuple((i, r) for r, _ in cells), table,
                "; ".join(r.name() for r, _ in cells), header,
                f"{' + '.join(show(v) for v in values)} = {show(round(total, 4))}")


def _averaged_change(ask: Asked, table: Table, at: tuple[int, TableRow]) -> Read | None:
    """'The change between 2018 and 2019 average free cash flow': each year's average (its figure and the
    year before's), the later less the earlier."""
    dated = dict(_dated(table, at[1]))
    new, old = ask.periods[:2]
    means = []
    for year in (new, old):
        before = str(int(year) - 1)
        if year not in dated or before not in dated:
            return None
        means.append(((dated[year] + dated[before]) / 2, f"({show(dated[year])} + {show(dated[before])}) / 2"))
    (x, ex), (y, ey) = means
    unit, scale = _unit(table, at[1], _period_cells(table, at[1]))
    return Read(_number(x - y, unit, scale), "computed", (at,), table, at[1].name(), f"{old} to {new}",
                f"{ex} - {ey} = {show(round(x - y, 4))}")
