"""One step over two cells the question names by two sides: two rows of one period ("the ratio of A to B",
"A as a percentage of B"), two columns of one row ("between 1-90 and 91-180 days past due"), two dates'
columns ("between the quarters ended January 26 and April 27, 2019"), or two rows' averages apart.
"""


from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from rag.answer.asked import ASKING, RESPECTIVE, Asked, label_terms
from rag.answer.reader.base import Read
from rag.answer.reader.cells import _change, _column, _dated, _number, _only, _period_cells, _scaled, _unit, _value
from rag.answer.reader.rows import _NEUTRAL, _best_row, alone, asked_column, row_match
from rag.numbers import dates_named, show
from rag.types import Hit, Table, TableRow

_SCALE_WORDS = frozenset({"000", "m", "mn", "bn", "k"})  # "$'000", "£m" in a header: the scale, not the column


def _two_columns(ask: Asked, question: str, hits: Sequence[Hit]) -> Read | None:
    """'The difference between 1-90 and 91-180 days past due in low risk country': one step over two cells of
    one row, under the two columns the question names; the row named by its other words."""
    assert ask.pair is not None
    best: tuple[int, int, int, Table, TableRow] | None = None
    dated = [t for hit in hits for t in hit.chunk.tables
             if ask.periods and all(_column(t, p, question) is not None for p in ask.periods)]
    for i, hit in enumerate(hits):
        for table in hit.chunk.tables:
            if dated and not any(table is t for t in dated):
                continue  # of tables stacked one per year, the period asked names the one to read
            # A column is named by what its header says that the others' do not ("Payments due by period: Less
            # than 1 year"), less the words of asking the sides leave out; "Total $'000" is the column "total".
            common = set.intersection(*(set(label_terms(h)) for h in table.columns)) if table.columns else set()
            heads = [(set(label_terms(h)) - common - _NEUTRAL - _SCALE_WORDS or set(label_terms(h)) - common
                      - _SCALE_WORDS) - ASKING for h in table.columns]
            first, second = (_fullest(heads, set(side)) for side in ask.pair)
            if first is None or second is None or first == second:
                continue
            # The columns are the pair's, so a period the question names can only name the row ("in the fourth
            # quarter of 2019": the row under 2019).
            rest = (set(ask.item) - heads[first] - heads[second]) | set(ask.periods)
            named = dataclasses.replace(ask, item=tuple(rest), pair=None)
            found = _best_row(named, alone(hit, table), question) if rest else None
            if found is not None and not all(_names(side, other, heads[c], found[2], table) for side, other, c in
                                             zip(ask.pair, ask.pair[::-1], (first, second), strict=True)):
                continue  # a side names a line item of its own ("as a percentage of total obligations")
            if found is not None and (best is None or i < best[0]):
                best = (i, first, second, table, found[2])
    if best is None:
        return None
    i, ca, cb, table, row = best
    x, y = _value(row.cell(ca)), _value(row.cell(cb))
    if x is None or y is None:
        return None
    unit, scale = _unit(table, row, [c for c in (row.cell(ca), row.cell(cb)) if c is not None])
    op = ask.operation
    if op == "lookup":  # "the respective X that are less than one year and between 2-5 years": both cells
        listed = tuple(_scaled(c, table, row) for c in (row.cell(ca), row.cell(cb)) if c is not None)
        return Read(", ".join(listed), "spans", ((i, row),), table, row.name(),
                    f"{table.columns[ca]}; {table.columns[cb]}", None, listed)
    if op == "difference" or op == "sum":
        result = x - y if op == "difference" else x + y
        sign = "-" if op == "difference" else "+"
        return Read(_number(result, unit, scale), "computed", ((i, row),), table, row.name(),
                    f"{table.columns[ca]}; {table.columns[cb]}",
                    f"{show(x)} {sign} {show(y)} = {show(round(result, 4))}")
    if op in ("ratio", "percent_of") and y != 0:
        result = x / y * (100 if op == "percent_of" else 1)
        return Read(_number(result, "", "", percent=op == "percent_of"), "computed", ((i, row),), table, row.name(),
                    f"{table.columns[ca]}; {table.columns[cb]}", f"{show(x)} / {show(y)} = {show(round(result, 4))}")
    return None


def _fullest(heads: Sequence[set[str]], side: set[str]) -> int | None:
    """The one column a side names: of the headers all of whose words the side uses, the one that uses the
    most ("more than 5 years" names "More Than 5 Years", not "Years 3-5"); None when none or two alike."""
    named = [(len(words_), c) for c, words_ in enumerate(heads) if words_ and words_ <= side]
    most = max((n for n, _ in named), default=0)
    return _only(c for n, c in named if n == most)


_RELATIVE = frozenset(label_terms("that which who whose"))


def _names(side: Sequence[str], other: Sequence[str], column: set[str], row: TableRow, table: Table) -> bool:
    """Whether a side's own words (not the other side's, nor its column's) that the row does not hold name no
    other row: of "operating lease obligations less than one year as a percentage of total contractual
    obligations", the second side names a row of its own, not a column of the first side's row."""
    missing = set(side) - set(other) - column - _RELATIVE - set(label_terms(row.name()))
    return not missing or not any(missing <= set(label_terms(r.name())) for r in table.rows if r is not row)


def _date_column(table: Table, date: tuple[int, int, int]) -> int | None:
    """The one column whose header names the date: its month and day, and its year where the header names
    one ('Three Months Ended June 30, 2019', 'As of December 31, 2019' for (2019, 12, 31))."""
    year, month, day = date
    return _only(i for i, header in enumerate(table.columns)
                 if any((m, d) == (month, day) and y in (None, year) for y, m, d in dates_named(header)))


def _between_dates(ask: Asked, question: str, hits: Sequence[Hit]) -> Read | None:
    """A change or difference of one row between the two columns the question's dates name ('between the
    quarters ended January 26 and April 27, 2019'): the later less the earlier for a change, the first
    named less the second for a difference; for "the respective X at June 30 and December 31, 2019", both cells."""
    found = _best_row(dataclasses.replace(ask, periods=()), hits, question)
    if found is None:
        return None
    i, table, row = found
    columns = [_date_column(table, d) for d in ask.dates]
    if None in columns or columns[0] == columns[1]:
        return None
    cells = [row.cell(c) for c in columns if c is not None]
    if ask.operation == "lookup":  # "the respective X at June 30 and December 31, 2019": each date's cell
        if any(c is None for c in cells):
            return None
        listed = tuple(_scaled(c, table, row) for c in cells if c is not None)
        return Read(", ".join(listed), "spans", ((i, row),), table, row.name(),
                    "; ".join(table.columns[c] for c in columns if c is not None), None, listed)
    new, old = (_value(c) for c in cells)
    if new is None or old is None:
        return None
    heads = f"{table.columns[columns[1]]} to {table.columns[columns[0]]}"  # type: ignore[index]
    return _change(ask.operation, new, old, _unit(table, row, [c for c in cells if c is not None]), (i, row), table,
                   heads)


def _pair_rows(ask: Asked, question: str, hits: Sequence[Hit]) -> tuple[tuple[int, Table, TableRow], ...] | None:
    """The two rows of one table the pair's two sides name, each by its own words: of the tables that hold
    both (and the period asked, in a column), the one whose rows match the sides best, the earlier on a tie.
    Two tables stacked one under the other each hold their rows; the pair is read from one."""
    assert ask.pair is not None
    best: tuple[float, tuple[tuple[int, Table, TableRow], ...]] | None = None
    for i, hit in enumerate(hits):
        for table in hit.chunk.tables:
            if len(ask.periods) == 1 and _column(table, ask.periods[0], question) is None:
                continue
            one = alone(hit, table)
            asks = [dataclasses.replace(ask, item=item, words=item) for item in ask.pair]
            a, b = (_best_row(side, one, question) for side in asks)
            if a is None or b is None or a[2] is b[2]:
                continue
            score = row_match(asks[0], a[2], table) + row_match(asks[1], b[2], table)
            if best is None or score > best[0]:
                best = (score, ((i, table, a[2]), (i, table, b[2])))
    return best[1] if best is not None else None


def _two_rows(ask: Asked, question: str, hits: Sequence[Hit]) -> Read | None:
    """One step over two rows' cells of one period: a ratio, a share (as a percentage), a difference or a sum."""
    assert ask.pair is not None
    if ask.parts and len(ask.periods) <= 1:
        summed = _share_of_parts(ask, question, hits)
        if summed is not None:
            return summed
    # Each side's row is named by that side's words: of "current" and "non-current deferred revenue", the
    # first side's row is the one without "non".
    found = _pair_rows(ask, question, hits)
    if found is None:
        return None
    (i, table, a), (j, _, b) = found
    if ask.averaged and ask.operation == "difference":
        return _averages_apart(ask, table, (i, a), (j, b))
    if len(ask.periods) > 1:
        return _each_period(ask, question, table, (i, a), (j, b))
    column = asked_column(ask, question, table, a)
    if column is None:
        return None
    x, y = _value(a.cell(column)), _value(b.cell(column))
    if x is None or y is None:
        return None
    header = table.columns[column] if column < len(table.columns) else None
    unit, scale = _unit(table, a, [c for c in (a.cell(column), b.cell(column)) if c is not None])
    op = ask.operation
    if op == "lookup":  # "the respective X of A and B": both cells, in the order named
        listed = tuple(_scaled(c, table, r) for c, r in ((a.cell(column), a), (b.cell(column), b)) if c is not None)
        if len(listed) != 2:
            return None
        return Read(", ".join(listed), "spans", ((i, a), (j, b)), table, f"{a.name()}; {b.name()}", header,
                    None, listed)
    if op in ("ratio", "percent_of"):
        if y == 0:
            return None
        if op == "percent_of" and x * y < 0:
            x = -x  # a part printed as a deduction ("(111)" of EBITDA 372) is a share of the whole all the same
        result = x / y * (100 if op == "percent_of" else 1)
        text = _number(result, "", "", percent=op == "percent_of")
        expression = f"{show(x)} / {show(y)}" + (" × 100" if op == "percent_of" else "")
    elif op in ("difference", "sum"):
        result = x - y if op == "difference" else x + y
        text = _number(result, unit, scale)
        expression = f"{show(x)} {'-' if op == 'difference' else '+'} {show(y)}"
    else:
        return None
    return Read(text, "computed", ((i, a), (j, b)), table, f"{a.name()}; {b.name()}", header,
                f"{expression} = {show(round(result, 4))}")


def _each_period(ask: Asked, question: str, table: Table, first: tuple[int, TableRow], second: tuple[int, TableRow]
                 ) -> Read | None:
    """'The percentage of A in total revenue in 2019 and 2018, respectively': the share (or the ratio) in each
    period asked, in the order asked; None for anything else asked of two rows over several periods."""
    if ask.operation not in ("ratio", "percent_of") or not RESPECTIVE.search(question):
        return None
    percent = ask.operation == "percent_of"
    (_, a), (_, b) = first, second
    shares, steps = [], []
    for period in ask.periods:
        column = _column(table, period, question, a)
        x, y = (_value(a.cell(column)), _value(b.cell(column))) if column is not None else (None, None)
        if x is None or not y:
            return None
        shares.append(_number(x / y * (100 if percent else 1), "", "", percent=percent))
        steps.append(f"{show(x)} / {show(y)}")
    return Read(", ".join(shares), "spans", (first, second), table, f"{a.name()}; {b.name()}", ", ".join(ask.periods),
                "; ".join(steps), tuple(shares))


def _averages_apart(ask: Asked, table: Table, first: tuple[int, TableRow], second: tuple[int, TableRow]) -> Read | None:
    """The difference of two rows' averages over the periods asked, else over every period the table gives:
    'the difference between the average investment income and average financing costs'."""
    sides = []
    for _, row in (first, second):
        dated = [(p, v) for p, v in _dated(table, row) if not ask.periods or p in ask.periods]
        if len(dated) < 2:
            return None
        sides.append((sum(v for _, v in dated) / len(dated), "(" + " + ".join(show(v) for _, v in dated) + ")"
                      f" / {len(dated)}"))
    (x, ex), (y, ey) = sides
    unit, scale = _unit(table, first[1], _period_cells(table, first[1]))
    result = x - y
    return Read(_number(result, unit, scale), "computed", (first, second), table,
                f"{first[1].name()}; {second[1].name()}", None, f"{ex} - {ey} = {show(round(result, 4))}")


def _share_of_parts(ask: Asked, question: str, hits: Sequence[Hit]) -> Read | None:
    """'The percentage of land and leasehold improvements over the gross cost of land, property and equipment':
    the sum of the two rows the first side's halves name over the row the second side names, all of one
    period."""
    assert ask.pair is not None
    whole_side = dataclasses.replace(ask, item=ask.pair[1], words=ask.pair[1], pair=None, parts=())
    for i, table, a, b in part_rows(ask, ask.pair[0], question, hits):
        whole = _best_row(whole_side, alone(hits[i], table), question)
        if whole is not None and whole[2] is not a and whole[2] is not b:
            return _shared_of(ask, question, i, table, (a, b), whole[2])
    return None


def part_rows(ask: Asked, joined: Sequence[str], question: str, hits: Sequence[Hit]
              ) -> list[tuple[int, Table, TableRow, TableRow]]:
    """(hit, table, row, row) of each table where the two halves of `ask.parts` name two rows of their own
    (of one period, when one is asked), each better than the words they join (`joined`) name any one row: a
    row whose label holds the "and" ("Employee severance and related costs") is read whole."""
    out = []
    for i, hit in enumerate(hits):
        for table in hit.chunk.tables:
            if len(ask.periods) == 1 and _column(table, ask.periods[0], question) is None:
                continue
            one = alone(hit, table)
            sides = [dataclasses.replace(ask, item=tuple(words_), words=tuple(words_), pair=None, parts=())
                     for words_ in (joined, *ask.parts)]
            whole, a, b = (_best_row(side, one, question) for side in sides)
            if a is None or b is None or a[2] is b[2]:
                continue
            if min(row_match(sides[1], a[2], table), row_match(sides[2], b[2], table)) <= \
                    (row_match(sides[0], whole[2], table) if whole is not None else 0.0):
                continue
            out.append((i, table, a[2], b[2]))
    return out


def _shared_of(ask: Asked, question: str, i: int, table: Table, parts: tuple[TableRow, TableRow],
               whole: TableRow) -> Read | None:
    """(A + B) / W of one column: the period asked, else the one column the question names, else the rows'
    only figure."""
    a, b = parts
    column = asked_column(ask, question, table, a)
    if column is None:
        return None
    x, y, w = (_value(r.cell(column)) for r in (a, b, whole))
    if x is None or y is None or not w:
        return None
    percent = ask.operation == "percent_of"
    header = table.columns[column] if column < len(table.columns) else None
    if RESPECTIVE.search(question):  # "the respective percentage of A and B in total revenue": each one's share
        shares = tuple(_number(v / w * (100 if percent else 1), "", "", percent=percent) for v in (x, y))
        return Read(", ".join(shares), "spans", ((i, a), (i, b), (i, whole)), table,
                    f"{a.name()}; {b.name()}; {whole.name()}", header,
                    f"{show(x)} / {show(w)}; {show(y)} / {show(w)}", shares)
    result = (x + y) / w * (100 if percent else 1)
    return Read(_number(result, "", "", percent=percent), "computed", ((i, a), (i, b), (i, whole)), table,
                f"{a.name()}; {b.name()}; {whole.name()}", header,
                f"({show(x)} + {show(y)}) / {show(w)} = {show(round(result, 4))}")
