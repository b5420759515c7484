"""The table reader: a cell named by its row, its column and its unit, or one step computed over cells.

Each cell of a retrieved chunk's tables has a row label (under its parents), a column header (a period)
and the table's scale and unit, so the reader can say "$1,222 million (Capital expenditures, Total,
2022)", compute one step over cells it can name ("(44.1 - 56.7) / 56.7 = -22.22%"), pick the period a
comparison asks for, and decline when no row is the line item asked for.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from typing import TypeVar

from rag.answer.asked import ASKING, Asked, label_terms, period_pair
from rag.answer.reader.base import Read
from rag.numbers import SCALES, dates_named, parse_figure, periods_in, periods_named, scale_of, show
from rag.text import ORDINALS, terms, words
from rag.types import Cell, Hit, Table, TableRow

MIN_ROW_MATCH = 0.5
"""How much of a row's name the question must use (and of the question's item words the row must hold,
averaged) for the row to be the one asked about. Below it there is no short answer."""
MARGIN = 0.1
"""A second row this close to the best one, with another figure, makes the row ambiguous: no short answer."""
T = TypeVar("T")
_NEUTRAL = frozenset(label_terms("total net"))  # "Total revenue" is the revenue row
_TOTAL = frozenset(label_terms("total"))
_SCALE_WORDS = frozenset({"000", "m", "mn", "bn", "k"})  # "$'000", "£m" in a header: the scale, not the column


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


def _named_column(table: Table, row: TableRow, ask: Asked) -> Cell | None:
    """The row's cell under the one column whose header the question names ("the gross carrying amount for
    current receivables" -> the "Current" column), when no period picks one; None when none or several do."""
    wanted = set(ask.words) - set(label_terms(row.name()))

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


def _column(table: Table, period: str, question: str = "", row: TableRow | None = None) -> int | None:
    """The value column the period and the question name: among the headers naming the period ('2019' in
    'Years ended December 31, 2019'), not a change column, one where the row has a figure (not a date), the
    one sharing most words with the question, a figure before a percentage unless the question asks for
    one, then the first."""
    found = [i for i, header in enumerate(table.columns) if period in (periods_named(header) or _digits(header))]
    asked_quarters = {q for y, q in periods_in(question).quarters if str(y) == period}
    if asked_quarters:  # "2021 Q3": only a column of that quarter, never the year's or another quarter's
        found = [i for i in found if quarters_of(table.columns[i]) & asked_quarters]
    if len(found) <= 1:
        return found[0] if found else None
    words = set(terms(question))
    wants_percent = bool(_PERCENT.search(question))

    def rank(i: int) -> tuple[int, int, int, int, int]:
        cell = row.cell(i) if row is not None else None
        percent = cell is not None and cell.text.rstrip(" )").endswith("%")
        header = table.columns[i]
        return (int(not _CHANGE_COLUMN.search(header) or wants_percent), int(_value(cell) is not None),
                len(words & set(terms(header))), int(percent == wants_percent), -i)

    return max(found, key=rank)


def _digits(header: str) -> list[str]:
    """The runs of digits a header holds, for a period it names in no way `periods_named` reads."""
    return re.findall(r"\d+", header)


_QUARTER_END = {"march": 1, "june": 2, "september": 3, "december": 4}
_MONTHS_ENDED = re.compile(r"(?i)\bthree\s+months\s+ended\s+(march|june|september|december)\b")


def quarters_of(header: str) -> set[int]:
    """The quarters a column header names: 'Q3 2021', 'Third quarter 2021', 'Three months ended September 30,
    2021' (a calendar quarter by the month it ends) -> {3}; '2021' -> set()."""
    named = {q for _, q in periods_in(header).quarters}
    named |= {_QUARTER_END[m.lower()] for m in _MONTHS_ENDED.findall(header)}
    return named


_PERCENT = re.compile(r"(?i)%|\bpercent|\bproportion\b|\bshare\b")


def _value(cell: Cell | None) -> float | None:
    return parse_figure(cell.text) if cell is not None else None


def _unit(table: Table, row: TableRow, cells: Sequence[Cell]) -> tuple[str, str]:
    """(unit, scale) the row's figures are in: '%' (and no scale) when they are printed as percentages or the
    column or the row's label says so; no scale for a figure per share or per unit; else the table's."""
    columns = [table.columns[c.column] for c in cells if c.column < len(table.columns)]
    if cells and (all(c.text.rstrip(" )").endswith("%") for c in cells) or table.unit == "%"
                  or all("%" in h for h in columns) or _PERCENT_LABEL.search(row.label)):
        return "%", ""
    per = _PER.search(row.name()) or any(_PER.search(h) for h in columns)
    # A row may state its own scale: "Gross profit (in thousands)".
    return table.unit, "" if per else scale_of(row.label) or table.scale


_PERCENT_LABEL = re.compile(r"\(%\)|%\s*$|\bin\s+%")  # "ROFE (%)", "Gross margin %": the row is in percent
_PER = re.compile(r"(?i)\bper\s+(?:share|unit|ordinary|common|diluted|basic)|\bcents\b|\bpence\b|\beps\b")


def _scaled(cell: Cell, table: Table, row: TableRow) -> str:
    """A cell as stated with its unit and scale: '$ 1,452.4' in a table in millions -> '$1,452.4 million';
    '4.7' in a column of percentages -> '4.7%'."""
    unit, scale = _unit(table, row, [cell])
    value = " ".join(cell.text.split()).replace("$ ", "$").replace("( ", "(").replace(" )", ")")
    if unit == "%":
        return value if value.rstrip(")").endswith("%") else f"{value}%"
    return f"{value} {scale}" if scale else value


def _number(value: float, unit: str, scale: str, percent: bool = False) -> str:
    """-12.6 -> '-12.6 million'; 0.2222 as a percentage -> '-22.22%' (two decimals, trailing zeros dropped)."""
    text = show(round(value, 2), 2).rstrip("0").rstrip(".") if value != int(value) else show(value)
    text = text.replace(",", "")
    if percent:
        return f"{text}%"
    prefix = "$" if unit == "$" else ""
    sign = "-" if text.startswith("-") else ""
    body = f"{sign}{prefix}{text.lstrip('-')}"
    return f"{body}%" if unit == "%" else f"{body} {scale}" if scale else body


def _rows(hits: Sequence[Hit]) -> list[tuple[int, Table, TableRow]]:
    return [(i, table, row) for i, hit in enumerate(hits) for table in hit.chunk.tables for row in table.rows]


def _best_row(ask: Asked, hits: Sequence[Hit], question: str = "") -> tuple[int, Table, TableRow] | None:
    """The row the question names, if one surely is: above `MIN_ROW_MATCH`, and no other row of the same table
    with other figures within `MARGIN` / 2 of it (two rows the question fits equally are a guess), unless the
    question's own words, function words included, tell them apart."""
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


def read_tables(ask: Asked, question: str, hits: Sequence[Hit]) -> Read | None:
    """The short answer the retrieved tables give to the question, or None when none surely does; a table
    whose rows are periods ("2022", "2023") and columns line items is read turned a quarter."""
    found = _read_tables(ask, question, hits)
    if found is not None:
        return found
    turned = [dataclasses.replace(h, chunk=dataclasses.replace(h.chunk, tables=tuple(
        t for t in map(transposed, (t for t in h.chunk.tables if not _movement_named(ask, t))) if t is not None)))
        for h in hits]
    return _read_tables(ask, question, turned) if any(h.chunk.tables for h in turned) else None


def _movement_named(ask: Asked, table: Table) -> bool:
    """Whether the question names an undated row of the table by all its words ("granted" of "Granted"
    between two dated balances): it asks that row, and the table is not one to read turned."""
    return any(r.cells and not periods_named(r.label) and set(label_terms(r.label)) <= set(ask.words)
               for r in table.rows if label_terms(r.label))


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
    between = _between_dates(ask, question, hits) if ask.dates else None
    if between is not None:
        return between  # else the dates are rows' ("At 31 December"), and the columns the years'
    found = _best_row(ask, hits, question)
    if found is None:
        return None
    i, table, row = found
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
        dated = dict(_dated(table, row))
        previous = str(int(periods[0]) - 1)
        if periods[0] not in dated or previous not in dated:
            return None
        unit, scale = _unit(table, row, [c for _, c in cells if c is not None])
        return _change("change", dated[periods[0]], dated[previous], (unit, scale), (i, row), table,
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
_CHANGE_COLUMN = re.compile(r"(?i)%|\b(?:change|variation|variance|increase|decrease|growth|vs\.?|versus)\b")


def _dated(table: Table, row: TableRow) -> list[tuple[str, float]]:
    """The row's figure for each period the table gives, once each: a column naming one year, not a change
    column ("2019 vs 2018", "% Change") nor a percentage."""
    out: dict[str, float] = {}
    periods = _period_cells(table, row)
    percents = all(c.text.rstrip(" )").endswith("%") for c in periods)  # a row of shares: its figures are %
    for cell in periods:
        year, value = _years(table.columns[cell.column])[0], _value(cell)
        if value is not None and (percents or not cell.text.rstrip(" )").endswith("%")) and year not in out:
            out[year] = value
    return list(out.items())


def _period_cells(table: Table, row: TableRow) -> list[Cell]:
    """The row's cells under a column naming one year, not a change column ("2019 vs 2018", "Variation")."""
    return [c for c in row.cells if c.column < len(table.columns) and len(_years(table.columns[c.column])) == 1
            and not _CHANGE_COLUMN.search(table.columns[c.column])]


def _two_columns(ask: Asked, question: str, hits: Sequence[Hit]) -> Read | None:
    """'The difference between 1-90 and 91-180 days past due in low risk country': one step over two cells of
    one row, under the two columns the question names; the row named by its other words."""
    assert ask.pair is not None
    best: tuple[int, int, int, Table, TableRow] | None = None
    for i, hit in enumerate(hits):
        for table in hit.chunk.tables:
            # A column is named by what its header says that the others' do not ("Payments due by period: Less
            # than 1 year"), less the words of asking the sides leave out; "Total $'000" is the column "total".
            common = set.intersection(*(set(label_terms(h)) for h in table.columns)) if table.columns else set()
            heads = [(set(label_terms(h)) - common - _NEUTRAL - _SCALE_WORDS or set(label_terms(h)) - common
                      - _SCALE_WORDS) - ASKING for h in table.columns]
            picked = [_only(c for c, words_ in enumerate(heads) if words_ and words_ <= set(side)) for side in ask.pair]
            if picked[0] is None or picked[1] is None or picked[0] == picked[1]:
                continue
            # The columns are the pair's, so a period the question names can only name the row ("in the fourth
            # quarter of 2019": the row under 2019).
            rest = (set(ask.item) - heads[picked[0]] - heads[picked[1]]) | set(ask.periods)
            found = _best_row(dataclasses.replace(ask, item=tuple(rest), pair=None), [hit], question) if rest else None
            if found is not None and not all(_names(side, other, heads[c], found[2], table) for side, other, c in
                                             zip(ask.pair, ask.pair[::-1], picked, strict=True)):
                continue  # a side names a line item of its own ("as a percentage of total obligations")
            if found is not None and (best is None or i < best[0]):
                best = (i, picked[0], picked[1], table, found[2])
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
    named less the second for a difference."""
    found = _best_row(dataclasses.replace(ask, periods=()), hits, question)
    if found is None:
        return None
    i, table, row = found
    columns = [_date_column(table, d) for d in ask.dates]
    if None in columns or columns[0] == columns[1]:
        return None
    cells = [row.cell(c) for c in columns if c is not None]
    new, old = (_value(c) for c in cells)
    if new is None or old is None:
        return None
    heads = f"{table.columns[columns[1]]} to {table.columns[columns[0]]}"  # type: ignore[index]
    return _change(ask.operation, new, old, _unit(table, row, [c for c in cells if c is not None]), (i, row), table,
                   heads)


def _change(op: str, new: float, old: float, unit: tuple[str, str], at: tuple[int, TableRow], table: Table,
            column: str) -> Read | None:
    """A change of one row's figure from `old` to `new`: their difference in the row's unit and scale, or for
    "percent_change" the percentage (none from zero); `column` says which two columns it runs between."""
    if op == "percent_change":
        if old == 0:
            return None
        result = 100 * (new - old) / old
        return Read(_number(result, "", "", percent=True), "computed", (at,), table, at[1].name(), column,
                    f"({show(new)} - {show(old)}) / {show(old)} = {result:.2f}%")
    result = new - old
    return Read(_number(result, *unit), "computed", (at,), table, at[1].name(), column,
                f"{show(new)} - {show(old)} = {show(round(result, 4))}")


def _only(items: Iterator[int]) -> int | None:
    """The one item, or None when there are none or several."""
    found = list(items)
    return found[0] if len(found) == 1 else None


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
            alone = [dataclasses.replace(hit, chunk=dataclasses.replace(hit.chunk, tables=(table,)))]
            asks = [dataclasses.replace(ask, item=item, words=item) for item in ask.pair]
            a, b = (_best_row(side, alone, question) for side in asks)
            if a is None or b is None or a[2] is b[2]:
                continue
            score = row_match(asks[0], a[2], table) + row_match(asks[1], b[2], table)
            if best is None or score > best[0]:
                best = (score, ((i, table, a[2]), (i, table, b[2])))
    return best[1] if best is not None else None


def _two_rows(ask: Asked, question: str, hits: Sequence[Hit]) -> Read | None:
    """One step over two rows' cells of one period: a ratio, a share (as a percentage), a difference or a sum."""
    assert ask.pair is not None
    # Each side's row is named by that side's words: of "current" and "non-current deferred revenue", the
    # first side's row is the one without "non".
    found = _pair_rows(ask, question, hits)
    if found is None:
        return None
    (i, table, a), (j, _, b) = found
    if ask.averaged and ask.operation == "difference":
        return _averages_apart(ask, table, (i, a), (j, b))
    if len(ask.periods) > 1:
        return None
    if ask.periods:
        column = _column(table, ask.periods[0], question, a)
        if column is None:
            return None
        x, y = _value(a.cell(column)), _value(b.cell(column))
    else:
        named = a.cells[0] if len(a.cells) == 1 else _named_column(table, a, ask)
        column = named.column if named is not None else None
        x, y = (_value(a.cell(column)), _value(b.cell(column))) if column is not None else (None, None)
    if x is None or y is None or column is None:
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


_QUARTER_NAME = re.compile(r"(?i)\b(first|second|third|fourth|1st|2nd|3rd|4th)\s+(?:fiscal\s+)?quarter\b|\bq([1-4])\b")


def _quarter_of(text: str) -> int | None:
    """The one quarter a header or a row label names ('Fiscal 2019 Second Quarter', 'Q3'), else None."""
    found = {ORDINALS[m.group(1).lower()] if m.group(1) else int(m.group(2)) for m in _QUARTER_NAME.finditer(text)}
    return found.pop() if len(found) == 1 else None


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
            alone = [dataclasses.replace(hit, chunk=dataclasses.replace(hit.chunk, tables=(table,)))]
            columns = {q: _only(c for c, h in enumerate(table.columns) if _quarter_of(h) == q and not
                                _TOTAL_HEADER.search(h) and (year is None or year in periods_named(h)))
                       for q in ask.quarters}
            if all(c is not None for c in columns.values()):
                found = _best_row(plain, alone, question)
                if found is None:
                    continue
                cells = [(q, found[2].cell(c)) for q, c in columns.items() if c is not None]
                return _over_quarters(ask, table, [(q, (i, found[2]), cell) for q, cell in cells])
            # Else rows named by the quarters, the year over them or heading the columns.
            dated = [c for c, h in enumerate(table.columns) if year is not None and year in periods_named(h)]
            rows = {q: [r for r in table.rows if r.cells and _quarter_of(r.label) == q
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


def _years(header: str) -> list[str]:
    return periods_named(header)


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
    names (by its period or its header's words), is largest (or smallest); totals are not candidates."""
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


def _extreme(figures: Sequence[tuple[T, float]], high: bool) -> tuple[T, str] | None:
    """The item of the largest figure (the smallest when not `high`), and the figures in order as the
    derivation shows them; None for fewer than two figures or a tie at the top.

    ([('2019', 5.0), ('2018', 3.0)], True) -> ('2019', '5 > 3')"""
    if len(figures) < 2:
        return None
    pick = (max if high else min)(figures, key=lambda f: f[1])
    if sum(1 for _, v in figures if v == pick[1]) > 1:
        return None
    return pick[0], " > ".join(show(v) for _, v in sorted(figures, key=lambda f: -f[1]))


_TOTAL_LABEL = re.compile(r"(?i)^\s*(?:total|subtotal|net)\b")


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
