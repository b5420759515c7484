"""A grid of cells -> the lines a table is loaded as, and its structure (`rag.types.Table`).

HTML, DOCX and Markdown hand over a table as a grid of cell texts, row by row, merged cells repeated
or left empty as the format has them. What a reader needs of it is the same whatever the format:
which rows are the column headers (several header rows merge top to bottom: "Years ended December 31"
over "2022"), which column holds the row labels, which rows sit under a label row ("Total" under
"Capital expenditures:"), and the scale and unit the table states ("in millions", "$'000", "%").
Each body row becomes one line, its cells joined by " | ", and each cell keeps its exact span in
that text, so a figure the reader names is a located, quotable string.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import re
from collections.abc import Sequence

from rag.numbers import SCALE_NAMES, Stated, is_year, parse_figure, periods_named, scale_of, stated_figures
from rag.types import Cell, Table, TableRow

COLUMN_SEP = " | "
_TOTAL = re.compile(r"(?i)^total\b")
_WORD = re.compile(r"[a-z0-9]+")
_SPACES = re.compile(r"\s+")
_SPACED_YEAR = re.compile(r"\b[12] [09] \d \d\b")  # "2 0 1 8", as some typesetting spaces a year


def clean(text: str) -> str:
    """'  $\\xa01,452.4 ' -> '$ 1,452.4': a cell's text on one line, spaces folded."""
    return _SPACES.sub(" ", text).strip()


def is_figure(text: str) -> bool:
    """A value a column holds as a number, not a year heading: '$ (1,577)', '12.5%', '—' -> True; '2019' -> False."""
    text = text.strip()
    if not text or is_year(text):
        return False
    return parse_figure(text) is not None


def _is_header(row: Sequence[str]) -> bool:
    """A row that names columns rather than holding values: no figure among its value cells."""
    return not any(is_figure(cell) for cell in row[1:])


def _is_label(row: Sequence[str]) -> bool:
    """A row with a label and no value at all: ['Capital expenditures:', '', ''] -> True."""
    return bool(row and row[0].strip()) and not any(cell.strip() for cell in row[1:])


def header_rows(grid: Sequence[Sequence[str]], marked: int = 0) -> int:
    """How many leading rows are column headers: those the format marks (`marked`, as <th> or a Markdown
    header), else the leading rows with no figure among their value cells, when a later row has figures;
    a table of text alone has its first row as header.

    [['', '2019', '2018'], ['Sales', '5', '4']] -> 1; [['Name', 'Age'], ['Ann', 'CEO']] -> 1
    """
    if marked:
        return marked
    count = 0
    # A label with no values under the headers ("Capital expenditures:") heads rows, not columns.
    while count < len(grid) - 1 and _is_header(grid[count]) and not (count and _is_label(grid[count])):
        count += 1
    if count == len(grid) - 1 and _is_header(grid[-1]):  # no row holds a figure: a table of text
        return 1 if len(grid) > 1 else 0
    return count


def merge_headers(rows: Sequence[Sequence[str]], width: int) -> list[str]:
    """Each value column's header, the header rows' cells joined top to bottom. A header cell with
    empty cells after it spans them (a flattened colspan), and a header row with a single cell spans
    every column ("Years Ended September 30," over "2019 2018 2017").

    [['', '', 'Years ended', ''], ['', '2019', '2018', '2017']] -> ['Years ended 2019', 'Years ended 2018',
    'Years ended 2017']
    """
    merged: list[list[str]] = [[] for _ in range(width)]
    for row in rows:
        values = [clean(c) for c in list(row[1:width + 1]) + [""] * (width - len(row[1:width + 1]))]
        filled = [i for i, v in enumerate(values) if v]
        if len(filled) == 1 and _WRAPPED.search(values[filled[0]]):
            spread = values  # "Balance at Beginning of" over "Period (1/1/19)": a header wrapped, not spanning
        elif len(filled) == 1:
            spread = [values[filled[0]]] * width
        elif len(filled) >= 2 and len({b - a for a, b in itertools.pairwise(filled)}) == 1:
            # Cells evenly spaced span as far as the one before spans: "First | Second | Third | Fourth" own one
            # column each (the "Total" after them is not the fourth quarter's); "2019 | | 2018 |" two each.
            gap = filled[1] - filled[0]
            spread = [values[i - (i - filled[0]) % gap] if filled[0] <= i < filled[-1] + gap else ""
                      for i in range(width)]
        else:
            spread, current = [], ""
            for i, value in enumerate(values):
                current = value or (current if filled and i > filled[0] else "")
                spread.append(current)
        for i, value in enumerate(spread):
            if value and (not merged[i] or merged[i][-1] != value):
                merged[i].append(value)
    return [_SPACED_YEAR.sub(lambda m: m.group().replace(" ", ""), " ".join(parts)) for parts in merged]


def _drop_empty_columns(grid: list[list[str]]) -> list[list[str]]:
    """Columns empty in every row are layout, not data (TAT-QA's and many HTML tables' spacer cells)."""
    width = max((len(r) for r in grid), default=0)
    padded = [r + [""] * (width - len(r)) for r in grid]
    keep = [j for j in range(width) if j == 0 or any(r[j] for r in padded)]
    return [[r[j] for j in keep] for r in padded]


# A header cut mid-phrase (its last word a preposition or a conjunction) goes on in the cell below it.
_WRAPPED = re.compile(r"(?i)\b(?:of|in|at|for|to|and|or|the|from|by|with|on)$")
_HEADING = re.compile(r"[A-Za-z]{3,}.*[A-Za-z]{3,}")  # two words of letters, as a heading has
_DAY_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b")  # "30/7/2021": a row's date (a maturity), not a period's header


def stacked(grid: Sequence[Sequence[str]]) -> list[list[Sequence[str]]]:
    """A grid cut where a second table stands under the first in the same grid: a report prints one year's
    figures, then the year before's under headers of their own ("Fiscal 2018 | First Quarter ..." below the
    Fiscal 2019 rows). A new block starts at a row with no label (or only a scale, "(In Millions)") and no
    figure, after rows with figures, when it and the rows down to the next figures name a period and the
    rows below repeat a line item above; a row heading a group of line items ("Liabilities and Stockholders'
    Equity") names no period, and a second line of dates ("11/4/2024") heads no repeated items: both stay."""
    rows = list(grid)
    blocks: list[list[Sequence[str]]] = []
    start, seen, k = 0, False, 0
    while k < len(rows):
        label, values = (clean(rows[k][0]) if rows[k] else ""), [clean(c) for c in rows[k][1:] if clean(c)]
        if any(is_figure(v) for v in values):
            seen = True
        elif seen and len(values) >= 2 and all(len(periods_named(v)) == 1 and not _DAY_DATE.search(v) for v in values) \
                and len({periods_named(v)[0] for v in values}) == len(values):
            # A row of headers, one period each, under rows of figures ("Breakup of revenue growth | FY 2019 (%) |
            # FY 2018 (%)"): the figures below are under its columns, not the ones above.
            blocks.append(rows[start:k])
            start, seen = k, False
        elif seen and values and (not label or scale_of(label)):
            end = k
            while end < len(rows) and not any(is_figure(clean(c)) for c in rows[end][1:]):
                end += 1
            before = {clean(r[0]) for r in rows[start:k] if r and clean(r[0])}
            if end < len(rows) and periods_named(" ".join(clean(c) for r in rows[k:end] for c in r)) and \
                    any(r and clean(r[0]) in before for r in rows[end:]):
                blocks.append(rows[start:k])
                start, seen, k = k, False, end
                continue
        k += 1
    return [*blocks, rows[start:]]


def build_table(grid: Sequence[Sequence[str]], *, title: str = "", context: str = "", marked_headers: int = 0,
                indents: Sequence[int] | None = None, scale: str = "") -> tuple[str, Table] | None:
    """The lines a grid is loaded as, and the Table whose offsets point into those lines (from 0).

    `title` is the caption or nearest heading; `context` the text around the table that may state its scale
    ("The table below presents net sales (in millions):"); `indents`, where the format knows them, the
    indentation of each row's label, which puts a deeper row under the shallower label row above it (`nest`);
    `scale` what the text around the table states, when the table itself states none. None for a grid with
    no text.
    """
    kept = [k for k, row in enumerate(grid) if any(clean(c) for c in row)]
    rows = _drop_empty_columns([[clean(c) for c in grid[k]] for k in kept])
    if not rows:
        return None
    heads = header_rows(rows, marked_headers)
    width = max(len(r) for r in rows) - 1
    columns = merge_headers(rows[:heads], width) if width else []
    lines: list[str] = []
    offset = 0
    header_span: tuple[int, int] | None = None
    for row in rows[:heads]:
        line = COLUMN_SEP.join(row).strip(" |") or COLUMN_SEP.join(row)
        lines.append(line)
        header_span = (header_span[0] if header_span else offset, offset + len(line))
        offset += len(line) + 1
    body: list[TableRow] = []
    for row in rows[heads:]:
        label, values = row[0], row[1:]
        pieces = [label, *values]
        while len(pieces) > 1 and not pieces[-1]:
            pieces.pop()  # "Capital expenditures:", not "Capital expenditures: |  | " (a row ends at its last text)
        line = COLUMN_SEP.join(pieces)
        cells: list[Cell] = []
        at = offset + len(label) + len(COLUMN_SEP)
        for j, value in enumerate(values):
            if value:
                cells.append(Cell(value, at, at + len(value), j))
            at += len(value) + len(COLUMN_SEP)
        lead = len(line) - len(line.lstrip())  # a row with no label: its span starts at its first text
        if not label and len(cells) == 1 and _HEADING.search(cells[0].text) and not is_figure(cells[0].text):
            # A heading set in a value column ("| Liabilities and Stockholders' Equity"): a label over the rows
            # below it, not a cell of its own.
            label, cells = cells[0].text, []
            lead = line.index(label)
        body.append(TableRow(label.rstrip(":").strip(), offset + lead, offset + len(line), tuple(cells)))
        lines.append(line)
        offset += len(line) + 1
    # The indents are the grid's, row for row: those of the rows kept, past the header.
    levels = [indents[k] if k < len(indents) else 0 for k in kept][heads:] if indents else None
    nested = nest([(r.label, bool(r.cells)) for r in body], levels)
    body = [dataclasses.replace(r, parents=p) for r, p in zip(body, nested, strict=True)]
    text = "\n".join(lines)
    around = " ".join([title, context, *rows[0][:1], *(c for r in rows[:heads] for c in r)])
    # A label row with no values may only state the scale: "(In thousands)" above the first line item.
    stated = " ".join(r.label for r in body if not r.cells)
    scale, unit = scale_of(around) or scale_of(stated) or scale, _unit(rows[heads:], around)
    caption = "\n".join(p for p in (title, " | ".join(c for c in columns if c)) if p)
    return text, Table(0, len(text), caption, title, tuple(columns), tuple(body), scale, unit, header_span)


def _unit(rows: Sequence[Sequence[str]], around: str) -> str:
    return unit_of([c for r in rows for c in r[1:]], around)


def unit_of(values: Sequence[str], around: str) -> str:
    """'%' when the headers say so or every figure is a percentage; a currency sign the cells or headers
    print; '' otherwise.

    (['$ 1,452.4', '44.1'], '') -> '$'; (['12.5%', '(3.1)%'], '') -> '%'; (['5', '4'], 'Margin (%)') -> '%'
    """
    figures = [c for c in values if is_figure(c)]
    if figures and all(c.rstrip(")").endswith("%") for c in figures):
        return "%"
    for sign in ("$", "€", "£", "¥"):
        if sign in around or any(sign in c for c in figures):
            return sign
    return "%" if re.search(r"\(%\)|\bpercent(?:age)?\b|%\s*$", around) else ""


def shift(table: Table, offset: int, page: int | None = None) -> Table:
    """The table with every offset moved by `offset` (where its block starts in the document)."""
    rows = tuple(dataclasses.replace(r, start=r.start + offset, end=r.end + offset, cells=tuple(
        dataclasses.replace(c, start=c.start + offset, end=c.end + offset, page=page if page else c.page)
        for c in r.cells)) for r in table.rows)
    header = (table.header[0] + offset, table.header[1] + offset) if table.header else None
    return dataclasses.replace(table, start=table.start + offset, end=table.end + offset, rows=rows, header=header)


@dataclasses.dataclass
class _Parent:
    """A label without values that rows below it may sit under, while the rows are walked top to bottom."""

    depth: float
    name: str
    indented: bool = False  # its rows were set deeper than it, so the next row back at its depth ends it


def nest(rows: Sequence[tuple[str, bool]], indents: Sequence[float] | None = None) -> list[tuple[str, ...]]:
    """Each row's parents, from its label, whether it holds values and, where the format knows it, its indent.

    A label without values heads the rows after it ("Capital expenditures:" over "Total"), the deeper ones
    and those at its own depth, until the next such label at its depth or above, a "Total" row or a row
    naming it that closes it ("Net cash provided by operating activities" under "Cash Flows from Operating
    Activities"), or, when its rows were set deeper than it, the next row back at its depth. A row with
    values heads nothing, however deep the row below it: filings set a total deeper than the rows it adds
    up ("Total current assets" under "Marketable securities"). Without indents every row is at one depth.

    [('Capital expenditures', False), ('Total', True), ('Revenue', True)] -> [(), ('Capital expenditures',), ()];
    [('Underwriting', False), ('Debt', True), ('Total underwriting', True), ('Advisory', True)] with indents
    [0, 1, 1, 1] -> [(), ('Underwriting',), ('Underwriting',), ()];
    [('Revenue', False), ('Products', True), ('Cost', True)] with indents [0, 1, 0] -> [(), ('Revenue',), ()]
    """
    stack: list[_Parent] = []
    out: list[tuple[str, ...]] = []
    for k, (label, has_values) in enumerate(rows):
        depth = indents[k] if indents is not None and k < len(indents) else 0
        # A row ends the labels deeper than it, and one at its own depth when it is a label too (the next
        # group) or when that label's rows were set deeper (this row is back out of the group).
        while stack and (stack[-1].depth > depth or (stack[-1].depth == depth and (
                not has_values or stack[-1].indented))):
            stack.pop()
        if stack and stack[-1].depth < depth:
            stack[-1].indented = True
        out.append(tuple(p.name for p in stack))
        if not has_values:
            if label:
                stack.append(_Parent(depth, label))
        else:
            total = bool(_TOTAL.match(label))
            while total and stack and stack[-1].depth == depth:  # "Total" closes the group it totals
                stack.pop()
            del stack[_totalled(stack, label, depth, total):]
    return out


def _totalled(stack: Sequence[_Parent], label: str, depth: float, total: bool) -> int:
    """Where in `stack` the group a row totals by naming it sits, or its length. 'Total underwriting' closes
    'Underwriting' wherever it is set; a row not saying "Total" must name the group by the last two words of
    its name and sit at most one step deeper (a bold heading's half level): 'Net cash provided by operating
    activities' closes 'Cash Flows from Operating Activities', a row inside the group does not."""
    words = f" {' '.join(_WORD.findall(label.lower()))} "
    for k in range(len(stack) - 1, -1, -1):
        name = _WORD.findall(stack[k].name.lower())
        if not total and (len(name) < 2 or depth > stack[k].depth + 1):
            continue
        if f" {' '.join(name[-2:])} " in words:
            return k
    return len(stack)


def located_table(header: Sequence[Sequence[str]], body: Sequence[TableRow], *, title: str = "",
                  context: str = "", header_span: tuple[int, int] | None = None,
                  indents: Sequence[float] | None = None, caption: str | None = None, start: int | None = None,
                  end: int | None = None, scale: str = "", columns: Sequence[str] | None = None) -> Table:
    """The Table of rows a loader found in place, in text it keeps as the file has it (a Markdown file, a
    PDF's lines), rather than lines `build_table` writes: what is left to do is the same, the header rows
    merged into column names, each row's parents nested, the scale and unit read.

    `header` holds the header rows as grids (label column first, as `merge_headers` takes them); `body`
    the rows with their cells located and no parents yet; `indents` as `nest` takes them; `columns` the
    column names when the loader placed the header words itself. The caption is the title over the header
    line unless given; the span runs from the header to the last row unless given.
    """
    width = max([len(r) - 1 for r in header] + [c.column + 1 for r in body for c in r.cells] + [0])
    columns = list(columns) if columns is not None else merge_headers(header, width)
    nested = nest([(r.label, bool(r.cells)) for r in body], indents)
    rows = tuple(dataclasses.replace(r, parents=p) for r, p in zip(body, nested, strict=True))
    around = " ".join([title, context, *(c for r in header for c in r)])
    scale = scale_of(around) or scale
    unit = unit_of([c.text for r in rows for c in r.cells], around)
    if caption is None:
        caption = "\n".join(p for p in (title, " | ".join(c for c in columns if c)) if p)
    edges = [*(header_span or ()), *(e for r in rows for e in (r.start, r.end))]
    start = min(edges, default=0) if start is None else start
    end = max(edges, default=0) if end is None else end
    return Table(start, end, caption, title, tuple(columns), rows, scale, unit, header_span)


_PIPE = re.compile(r"(?<!\\)\|")
_DELIMITER_CELL = re.compile(r":?-+:?")


def pipe_cells(line: str, offset: int = 0) -> list[tuple[str, int, int]]:
    """A Markdown pipe-table row's cells, each without the spaces around it and with its span in the
    text (`offset` is where the line starts), so a cell is quoted where the file has it. The outer pipes
    are optional and an escaped pipe ('\\|') is text.

    '| Sales |  $ 1,200 |' -> [('Sales', 2, 7), ('$ 1,200', 11, 18)]; 'a | b' -> [('a', 0, 1), ('b', 4, 5)]
    """
    pipes = [m.start() for m in _PIPE.finditer(line)]
    left, right = len(line) - len(line.lstrip()), len(line.rstrip())
    lo, hi = left, right
    if pipes and pipes[0] == left:
        lo = pipes.pop(0) + 1
    if pipes and pipes[-1] == right - 1:
        hi = pipes.pop()
    cells = []
    for a, b in zip([lo, *(p + 1 for p in pipes)], [*pipes, hi], strict=True):
        piece = line[a:b]
        at = a + len(piece) - len(piece.lstrip())
        text = piece.strip()
        cells.append((text, offset + at, offset + at + len(text)))
    return cells


def is_delimiter_row(line: str) -> bool:
    """The line under a Markdown table's header row: '|---|:--:|' -> True; '---' (a rule) -> False."""
    if "|" not in line or "-" not in line:
        return False
    cells = pipe_cells(line)
    return bool(cells) and all(_DELIMITER_CELL.fullmatch(text) for text, _, _ in cells)


def respace(text: str, table: Table, sep: str) -> tuple[str, Table]:
    """The lines `build_table` wrote joined by `sep` rather than a line break, every offset moved with
    its line: for a format whose rows have always been blocks of their own.

    ('a | 1\\nb | 2', rows at (0, 5), (6, 11), '\\n\\n') -> ('a | 1\\n\\nb | 2', rows at (0, 5), (7, 12))
    """
    breaks = [i for i, ch in enumerate(text) if ch == "\n"]
    extra = len(sep) - 1

    def move(at: int) -> int:
        return at + extra * bisect.bisect_left(breaks, at)

    rows = tuple(dataclasses.replace(r, start=move(r.start), end=move(r.end), cells=tuple(
        dataclasses.replace(c, start=move(c.start), end=move(c.end)) for c in r.cells)) for r in table.rows)
    header = (move(table.header[0]), move(table.header[1])) if table.header else None
    return sep.join(text.split("\n")), dataclasses.replace(
        table, start=move(table.start), end=move(table.end), rows=rows, header=header)


PROSE_WINDOW = 10_000
"""How far from a table (characters, either side) the sentences that may state its figures stand: the
paragraphs a report writes about a table sit beside it, not chapters away."""
_TABLE_SCALES = (1e3, 1e6, 1e9)  # the scales a table is printed at: thousands, millions, billions
_LINE = re.compile(r"[^\n]+")


def scaled_by_prose(text: str, tables: Sequence[Table]) -> list[Table]:
    """The tables, each one that states no scale given the one the text around it agrees on: a report that
    prints "45,007" in a table and writes "$45.0 million" of it beside the table states its table in
    thousands. A scale is taken only when every figure of the prose near the table that matches a cell (a
    scaled amount, to the prose's precision, equal to a cell of two or more digits at that scale) points to
    the same one; a table in percent, or with no such agreement, keeps no scale."""
    if all(table.scale or table.unit == "%" for table in tables):
        return list(tables)
    figures = _prose_figures(text, tables)
    at = [position for position, _ in figures]
    out = []
    for table in tables:
        if table.scale or table.unit == "%":
            out.append(table)
            continue
        # A count of shares or units is not money: "$12.6 million" of a fair value does not state the scale of
        # a column of 12,632 shares, nor "0.5 million shares" that of a column of dollars.
        kinds: dict[bool, set[float]] = {True: set(), False: set()}
        for row in table.rows:
            for cell in row.cells:
                value = parse_figure(cell.text)
                if value is not None and abs(value) >= 10:
                    kinds[_counted(table, row.label, cell)].add(abs(value))
        cells = {kind: sorted(values) for kind, values in kinds.items()}
        near = figures[bisect.bisect_left(at, table.start - PROSE_WINDOW): bisect.bisect_right(at, table.end
                                                                                                 + PROSE_WINDOW)]
        votes = {size for position, figure in near for kind in _kinds_of(text, position, figure)
                 for size in _agreeing(figure, cells[kind])}
        scale = SCALE_NAMES[next(iter(votes))] if len(votes) == 1 else ""
        out.append(dataclasses.replace(table, scale=scale) if scale else table)
    return out


_COUNTS = re.compile(r"(?i)\b(?:shares?|units?|options?|rsus?|awards?|employees|customers|subscribers)\b")


def _counted(table: Table, label: str, cell: Cell) -> bool:
    """Whether a cell counts things (shares, units) rather than money: its column or row says so, and it has no
    currency sign."""
    header = table.columns[cell.column] if cell.column < len(table.columns) else ""
    return bool(_COUNTS.search(header) or _COUNTS.search(label)) and not re.search(r"[$€£¥]", cell.text)


def _kinds_of(text: str, position: int, figure: Stated) -> tuple[bool, ...]:
    """Which cells a prose figure may state (True: counts, False: money): money only money, "0.5 million
    shares" only counts, any other figure either."""
    if figure.money:
        return (False,)
    after = text[position + len(figure.text): position + len(figure.text) + 20]
    return (True,) if _COUNTS.match(after.strip()) else (True, False)


def _prose_figures(text: str, tables: Sequence[Table]) -> list[tuple[int, Stated]]:
    """(offset, figure) of every scaled amount ("$45.0 million") the text states outside its tables."""
    out, at = [], 0
    for a, b in [*sorted((t.start, t.end) for t in tables), (len(text), len(text))]:
        for line in _LINE.finditer(text, at, max(at, a)):  # a line at a time: figures are read within a sentence
            out += [(line.start() + f.start, f) for f in stated_figures(line.group()) if f.scale and not f.unit]
        at = max(at, b)
    return out


def _agreeing(figure: Stated, cells: Sequence[float]) -> set[float]:
    """The table scales at which a cell equals the figure to the figure's printed precision: $45.0 million
    and a cell 45,007 agree at thousands; $1,887.8 million and a cell 1,887.8 at millions."""
    assert figure.scale is not None
    amount, half = abs(figure.value) * figure.scale, 0.5 * 10 ** -figure.decimals * figure.scale
    found = set()
    for size in _TABLE_SCALES:
        if size <= figure.scale:
            i = bisect.bisect_left(cells, (amount - half) / size)
            if i < len(cells) and cells[i] * size <= amount + half:
                found.add(size)
    return found
