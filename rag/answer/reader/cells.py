"""A table's cells as figures: a cell's value, unit and scale as the table states them, the column a period
names, a row's figure for each period, and one step over two figures with its derivation. What the table
reader's parts (`rows`, `pairs`, `quarters`, `listing`, `table`) read cells by.
"""


from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TypeVar

from rag.answer.reader.base import Read
from rag.numbers import parse_figure, periods_in, periods_named, scale_of, show
from rag.text import terms
from rag.types import Cell, Table, TableRow

T = TypeVar("T")


def _column(table: Table, period: str, question: str = "", row: TableRow | None = None) -> int | None:
    """The value column the period and the question name: among the headers naming the period ('2019' in
    'Years ended December 31, 2019'), not a change column, one where the row has a figure (not a date), the
    one sharing most words with the question, a figure before a percentage unless the question asks for
    one, then the first."""
    movement = _movement(table, period, question, row)
    if movement is not None:
        return movement
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


def _movement(table: Table, period: str, question: str, row: TableRow | None) -> int | None:
    """The movement column of a roll-forward the question names, in the period the table rolls forward to:
    of 'Dec 29, 2018 | Acquisitions | Transfers | Dec 28, 2019', "the acquisitions in 2019" is the
    Acquisitions column, not the closing balance. None unless the first and last headers are dated, the last
    with the period, the others not, and the question names one of them by all its words (and the row's
    label does not hold them: a row "Other" is not the column "Other")."""
    columns = table.columns
    if len(columns) < 3 or not question or not periods_named(columns[0]) or \
            period not in periods_named(columns[-1]) or any(periods_named(h) for h in columns[1:-1]):
        return None
    words = set(terms(question)) - (set(terms(row.label)) if row is not None else set())
    return _only(i for i in range(1, len(columns) - 1) if (named := set(terms(columns[i]))) and named <= words)


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


def _years(header: str) -> list[str]:
    return periods_named(header)


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
