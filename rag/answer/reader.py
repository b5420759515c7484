"""The reader: the short answer a table gives, named by its row, its column and its unit.

The sentence-picker finds rows by the words they share with a question; it does not read a table. The
reader does: each cell of a retrieved chunk's tables has a row label (under its parents), a column
header (a period) and the table's scale and unit, so it can say "$1,222 million (Capital expenditures,
Total, 2022)", compute one step over cells it can name ("(44.1 - 56.7) / 56.7 = -22.22%"), pick the
period a comparison asks for, and decline when no row is the line item asked for: a wrong cell, stated
with confidence and a citation, is worse than no short answer at all.

Pure functions over `Hit`s: every value it states is a cell's text, a column header, or a derivation
over cells, and it says which rows it read so they can be cited.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.asked import Asked, asked, label_terms, periods_named
from rag.numbers import parse_figure, show
from rag.text import stem, terms
from rag.types import Answer, Cell, Chunk, Citation, Hit, ShortAnswer, Table, TableRow

MIN_ROW_MATCH = 0.5
"""How much of a row's name the question must use (and of the question's item words the row must hold,
averaged) for the row to be the one asked about. Below it there is no short answer."""
MARGIN = 0.1
"""A second row this close to the best one, with another figure, makes the row ambiguous: no short answer."""
_NEUTRAL = frozenset(label_terms("total net"))  # "Total revenue" is the revenue row


@dataclass(frozen=True)
class Read:
    """What the reader read: the answer's value(s), how it was derived, and the rows it rests on."""

    value: str
    kind: str
    rows: tuple[tuple[int, TableRow], ...]  # (hit index, row) of every row read
    table: Table
    row: str | None = None
    column: str | None = None
    derivation: str | None = None
    items: tuple[str, ...] = ()

    def label(self) -> str:
        """'$1,222 million (Capital expenditures, Total, 2022)'."""
        where = ", ".join(p for p in (self.row, self.column) if p)
        return f"{self.value} ({where})" if where else self.value


def row_match(item: Sequence[str], row: TableRow, table: Table) -> float:
    """How surely the row is the line item the question names, 0 to 1: the share of the row's name the
    question uses, and of the question's item words the row holds (with its parents, the table's title and
    its column headers, which may name the item too), averaged. ('other',) and row 'Other' -> 1.0."""
    if not item:
        return 0.0
    name = set(label_terms(row.name())) - _NEUTRAL or set(label_terms(row.name()))
    if not name:
        return 0.0
    asked_words = set(item) - _NEUTRAL or set(item)
    context = name | _table_words(table)
    used = len(name & asked_words) / len(name)
    held = len(asked_words & context) / len(asked_words)
    return (used + held) / 2


def _table_words(table: Table) -> set[str]:
    return set(label_terms(" ".join([table.title, *table.columns])))


def _column(table: Table, period: str, question: str = "", row: TableRow | None = None) -> int | None:
    """The value column the period and the question name: among the headers naming the period ('2019' in
    'Years ended December 31, 2019'), the one sharing most words with the question, a figure before a
    percentage unless the question asks for one, then the first."""
    found = [i for i, header in enumerate(table.columns) if period in header]
    if len(found) <= 1:
        return found[0] if found else None
    words = set(terms(question))
    wants_percent = bool(_PERCENT.search(question))

    def rank(i: int) -> tuple[int, int, int, int]:
        cell = row.cell(i) if row is not None else None
        percent = cell is not None and cell.text.rstrip(" )").endswith("%")
        header = table.columns[i]
        return (int(not _CHANGE_COLUMN.search(header) or wants_percent), len(words & set(terms(header))),
                int(percent == wants_percent), -i)

    return max(found, key=rank)


_PERCENT = re.compile(r"(?i)%|\bpercent|\bproportion\b|\bshare\b")


def _value(cell: Cell | None) -> float | None:
    return parse_figure(cell.text) if cell is not None else None


def _unit(table: Table, row: TableRow, cells: Sequence[Cell]) -> tuple[str, str]:
    """(unit, scale) the row's figures are in: '%' (and no scale) when they are printed as percentages or the
    column says so; no scale for a figure per share or per unit; else the table's."""
    columns = [table.columns[c.column] for c in cells if c.column < len(table.columns)]
    if cells and (all(c.text.rstrip(" )").endswith("%") for c in cells) or table.unit == "%"
                  or all("%" in h for h in columns)):
        return "%", ""
    per = _PER.search(row.name()) or any(_PER.search(h) for h in columns)
    return table.unit, "" if per else table.scale


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


def _best_row(ask: Asked, hits: Sequence[Hit], figures: bool = True) -> tuple[int, Table, TableRow] | None:
    """The row the question names, if one surely is: above `MIN_ROW_MATCH`, and no other row with figures of
    its own within `MARGIN` of it (two rows the question fits equally are a guess)."""
    scored = sorted(((row_match(ask.item, row, table), -i, n) for n, (i, table, row) in enumerate(_rows(hits))
                     if row.cells or not figures), reverse=True)
    rows = _rows(hits)
    if not scored or scored[0][0] < MIN_ROW_MATCH:
        return None
    best = rows[scored[0][2]]
    for score, _, n in scored[1:]:
        if score < scored[0][0] - MARGIN:
            break
        other = rows[n][2]
        if [c.text for c in other.cells] != [c.text for c in best[2].cells] and score > scored[0][0] - MARGIN / 2 \
                and rows[n][1] is best[1]:
            return None
    return best


def read(question: str, hits: Sequence[Hit]) -> Read | None:
    """The short answer the retrieved tables give to the question, or None when none surely does."""
    ask = asked(question)
    if ask.why:
        return None
    if ask.operation == "columns":
        return _columns(ask, hits)
    if ask.pair is not None:
        return _two_rows(ask, question, hits)
    found = _best_row(ask, hits)
    if found is None:
        return None
    i, table, row = found
    periods = [p for p in ask.periods if _column(table, p) is not None]
    if len(periods) < len(ask.periods):
        return None  # a period the question names that the table does not have: not this table
    cells = [(p, row.cell(c)) for p in periods if (c := _column(table, p, question, row)) is not None]
    values = [(p, v) for p, cell in cells if (v := _value(cell)) is not None]
    name = row.name()
    op = ask.operation
    if op == "lookup" and len(periods) > 1:  # "X in 2019 and 2018": each period's cell
        if len(values) != len(periods):
            return None
        shown = tuple(_scaled(cell, table, row) for _, cell in cells if cell is not None)
        return Read(", ".join(shown), "spans", ((i, row),), table, name, ", ".join(periods), None, shown)
    if op == "lookup":
        cell = cells[0][1] if periods else row.cells[0] if len(row.cells) == 1 else None
        if cell is None:
            return None
        column = table.columns[cell.column] if cell.column < len(table.columns) else None
        return Read(_scaled(cell, table, row), "cell", ((i, row),), table, name, column)
    dated = _dated(table, row)
    unit, scale = _unit(table, row, [c for _, c in cells if c is not None] or list(row.cells))
    if op in ("change", "percent_change") and not ask.periods and len(dated) >= 2:
        values = sorted(dated, reverse=True)[:2]  # "the change in X": from the table's previous period to its latest
    if op in ("change", "percent_change") and len(values) == 2:
        (new_p, new), (old_p, old) = values
        if op == "change":
            result = new - old
            return Read(_number(result, unit, scale), "computed", ((i, row),), table, name,
                        f"{old_p} to {new_p}", f"{show(new)} - {show(old)} = {show(round(result, 4))}")
        if old == 0:
            return None
        result = 100 * (new - old) / old
        return Read(_number(result, "", "", percent=True), "computed", ((i, row),), table, name,
                    f"{old_p} to {new_p}", f"({show(new)} - {show(old)}) / {show(old)} = {result:.2f}%")
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
    if op == "compare" and not ask.periods:
        if len(dated) < 2:
            return None
        pick = (max if ask.high else min)(dated, key=lambda f: f[1])
        if sum(1 for _, v in dated if v == pick[1]) > 1:
            return None
        order = " > ".join(show(v) for _, v in sorted(dated, key=lambda f: -f[1]))
        return Read(pick[0], "compare", ((i, row),), table, name, pick[0], order)
    return None


_CHANGE_COLUMN = re.compile(r"(?i)%|\b(?:change|variation|variance|increase|decrease|growth|vs\.?|versus)\b")


def _dated(table: Table, row: TableRow) -> list[tuple[str, float]]:
    """The row's figure for each period the table gives, once each: a column naming one year, not a change
    column ("2019 vs 2018", "% Change") nor a percentage."""
    out: dict[str, float] = {}
    for cell in row.cells:
        header = table.columns[cell.column] if cell.column < len(table.columns) else ""
        years = _years(header)
        value = _value(cell)
        if len(years) == 1 and value is not None and not _CHANGE_COLUMN.search(header) \
                and not cell.text.rstrip(" )").endswith("%") and years[0] not in out:
            out[years[0]] = value
    return list(out.items())


def _two_rows(ask: Asked, question: str, hits: Sequence[Hit]) -> Read | None:
    """One step over two rows' cells of one period: a ratio, a share (as a percentage), a difference or a sum."""
    assert ask.pair is not None
    found = [_best_row(dataclasses.replace(ask, item=words), hits) for words in ask.pair]
    if found[0] is None or found[1] is None or found[0][2] is found[1][2] or found[0][1] is not found[1][1]:
        return None
    (i, table, a), (j, _, b) = found[0], found[1]
    if len(ask.periods) > 1:
        return None
    if ask.periods:
        column = _column(table, ask.periods[0], question, a)
        if column is None:
            return None
        x, y = _value(a.cell(column)), _value(b.cell(column))
    else:
        x, y = (_value(a.cells[0]), _value(b.cells[0])) if len(a.cells) == 1 == len(b.cells) else (None, None)
        column = a.cells[0].column if a.cells else None
    if x is None or y is None or column is None:
        return None
    header = table.columns[column] if column < len(table.columns) else None
    unit, scale = _unit(table, a, [c for c in (a.cell(column), b.cell(column)) if c is not None])
    op = ask.operation
    if op in ("ratio", "percent_of"):
        if y == 0:
            return None
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


def _years(header: str) -> list[str]:
    return periods_named(header)


def _columns(ask: Asked, hits: Sequence[Hit]) -> Read | None:
    """'Which years does the table provide information for X?': the periods its column headers name."""
    tables = [(i, t) for i, hit in enumerate(hits) for t in hit.chunk.tables if t.columns]
    if not tables:
        return None
    scored = sorted(tables, key=lambda it: -max((row_match(ask.item, r, it[1]) for r in it[1].rows), default=0.0))
    i, table = scored[0]
    periods = list(dict.fromkeys(p for header in table.columns for p in _years(header)))
    if not periods:
        return None
    first = table.rows[0] if table.rows else None
    return Read(", ".join(periods), "spans", ((i, first),) if first else (), table, None, None, None,
                tuple(periods))


def stem_all(words: Sequence[str]) -> list[str]:
    return [stem(w) for w in words]


def header_of(chunk: Chunk, start: int, end: int) -> str | None:
    """The column headers of the table whose row [start, end) is, as one line ('2019 | 2018 | 2017'), shown
    above a quoted row so its figures can be told apart; None for a quote that is not a table row."""
    for table in chunk.tables:
        if any(r.start <= start and end <= r.end for r in table.rows) and any(table.columns):
            return table.header_line()
    return None


def with_short(answer: Answer, found: Read) -> Answer:
    """The answer with the reader's short answer, cited at the citations that quote the rows it read."""
    if answer.abstained:
        return answer
    spans = {(row.start, row.end) for _, row in found.rows}
    cited = tuple(c.id for c in answer.citations if (c.start, c.end) in spans)
    if not cited:
        return answer  # what the answer cannot cite, it does not state
    first = next(c for c in answer.citations if c.id == cited[0])
    short = ShortAnswer(found.label(), found.value, found.kind, cited, found.row, found.column,  # type: ignore[arg-type]
                        found.table.unit, found.table.scale, found.derivation, found.items, first.source, first.page)
    return dataclasses.replace(answer, short=short)


def attach_short(answer: Answer, question: str, hits: Sequence[Hit]) -> Answer:
    """A generated answer with the reader's short answer over the same passages, its rows cited after the
    answer's own citations: the figure a table gives, stated beside what the model wrote, so a reader can
    hold one against the other."""
    if answer.abstained or answer.short is not None:
        return answer
    found = read(question, hits)
    if found is None:
        return answer
    citations = list(answer.citations)
    for i, row in found.rows:
        chunk = hits[i].chunk
        if not any((c.source, c.start, c.end) == (chunk.source, row.start, row.end) for c in citations):
            quote = chunk.text[row.start - chunk.start : row.end - chunk.start]
            citations.append(Citation(len(citations) + 1, chunk.source, chunk.page, row.start, row.end, quote,
                                      chunk.section, header_of(chunk, row.start, row.end)))
    return with_short(dataclasses.replace(answer, citations=tuple(citations)), found)
