"""A PDF table's lines -> its structure: rows, their figures located in the text, column headers, parents.

The layout keeps a statement as lines of the loaded text, "Inventories (509) (387) 57" under "(Millions)
2018 2017 2016", and finds where each table's caption, headers and rows lie. Read here, without changing a
character of that text: each row's figures from the right of its line ("$" and "%" printed apart belong to
their figure), its column by counting from the right, less the columns its line stops short of ("93 %
92 %" under a "% Change" it lacks; `columns` places rows with gaps between figures by their position);
column names from the header lines (a line of years, a period spanning all columns, "Three Months Ended
... Six Months Ended ..." split into its groups); a row's parents from how far it is set in, a bold label
without figures standing above the rows beside it; the scale and unit from the caption and the cells.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from rag.load.pdf.extract import Line
from rag.load.table import located_table
from rag.numbers import periods_named, scale_of
from rag.text import is_years
from rag.types import Cell, Table, TableRow

FIGURE = re.compile(r"^[(\[]?[-–—+]?[$€£]?[(\[]?[-–—+]?\d[\d,]*(?:\.\d+)?[)\]]?%?[)\]]?\*?$|^[-–—]+$|^n/?[ma]$", re.I)
NOISE = frozenset({"$", "%", "€", "£", ")", "(", "pts", "bps", "x", "pt", "bp"})
PERIOD_WORDS = re.compile(
    r"(?i)\b(?:19[89]\d|20[0-4]\d|ended|months|quarter|weeks|fiscal|december|june|september|march|"
    r"in (?:millions|billions|thousands)|\$ in|dollars|change|as of|Q[1-4]|full[- ]year|year[- ]to[- ]date|ytd|"
    r"three|six|nine|twelve)\b"
)
_BEFORE = frozenset({"$", "€", "£", "("})  # printed apart before a figure: "$ 5,363"
_YEAR = re.compile(r"^(?:FY|fy)?'?(?:19[89]\d|20[0-4]\d)\*?,?$|^\d{1,2}/\d{1,2}/(?:\d\d)?\d\d$")  # or a date
_TOKEN = re.compile(r"\S+")
_ENDING_DATE = re.compile(r"(?i)\b(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+)?"
                          r"(?:19|20)\d\d$")
_PERIOD = re.compile(r"(?i)\b(?:ended|ending|weeks|months|quarters?|years?|as of|at)\b")  # heads all it spans
_INDENT_STEP = 2.5  # points: label starts closer than this are set in alike


@dataclass(frozen=True)
class Where:
    """Where a line of the table starts on its page and how it is set."""

    x0: float
    x1: float
    bold: bool


class Item(Protocol):
    """A kept line of the page, as the layout holds it: its text, where it starts in the text, its setting."""

    line: Line
    text: str
    row: bool
    years: bool
    start: int


@dataclass(frozen=True)
class Pending:
    """What the page says of a table, for reading its structure once the text is whole."""

    index: int
    page: int
    header_start: int
    body_start: int
    where: dict[int, Where]
    title: str
    continued: bool


def pending_table(items: Sequence[Item], top: int, first: int, last: int, index: int, page: int,
                  continued: bool) -> Pending:
    """Where a table's header lines and rows begin, and its title: the caption lines above the headers.

    The header lines are those of the caption from the first period line ("Years ended December 31",
    "(Millions) 2018 2017") to the last, and the lines just above them set over the figure columns (right
    of the middle of the table: "3M Company Shareholders"); sub-headings under the headers are rows.
    """
    heads = [j for j in range(top, first) if items[j].years or PERIOD_WORDS.search(items[j].text)]
    h0, h1 = (heads[0], heads[-1]) if heads else (first, first - 1)
    left = min(items[j].line.x0 for j in range(first, last + 1))
    middle = left + 0.5 * (max(items[j].line.x1 for j in range(first, last + 1)) - left)
    while h0 > top and items[h0 - 1].line.x0 > middle:
        h0 -= 1
    where = {it.start: Where(it.line.x0, it.line.x1, it.line.bold) for it in items[top:last + 1]}
    header_start = items[h0].start if h0 <= h1 else items[first].start
    body_start = items[h1 + 1].start if h0 <= h1 else items[first].start
    # A caption line starting in lower case is the end of a sentence above ("banking fees."), no title.
    title = " · ".join(items[j].text for j in range(top, h0) if not items[j].text[:1].islower())
    title = title or _title_above(items, top)
    return Pending(index, page, header_start, body_start, where, title, continued)


def _title_above(items: Sequence[Item], top: int) -> str:
    """A bold line just above a table whose caption holds only headers: 'Consolidated Statement of Changes in
    Equity' over 'Years Ended December 31' over the column headings. Prose above ends the search."""
    for item in reversed(items[max(0, top - 3):top]):
        words = len(item.text.split())
        if item.row or words > 14 or (item.text[-1:] in '.!?"”' and words > 6):
            break
        if item.line.bold and not item.years and not PERIOD_WORDS.search(item.text):
            return item.text
    return ""


def figure_spans(line: str) -> list[tuple[int, int]]:
    """The spans of the figures ending a line, left to right, each with the signs printed apart from it.

    'Net income $ 5,363 $ 4,869' -> [(11, 18), (19, 26)]; 'Margin 12.5 % 11.0 %' -> [(7, 13), (14, 20)];
    'Dividends (Note 8) (2,678)' -> [(19, 26)] ('8)' opens no parenthesis: it is the label's);
    'Balance at December 31, 2015 $ 39' -> [(29, 33)] (a year or a date is the label's)
    """
    spans: list[list[int]] = []
    after: int | None = None  # the end of a sign printed after the figure to its left ("%")
    for match in reversed(list(_TOKEN.finditer(line))):
        token = match.group()
        if token in _BEFORE and spans and spans[-1][0] > match.start() and not line[match.end():spans[-1][0]].strip():
            spans[-1][0] = match.start()
            continue
        if token in NOISE:
            after = after if after is not None else match.end()
            continue
        if not FIGURE.match(token) or token.count("(") != token.count(")") or token.endswith(",") \
                or _YEAR.match(token):
            break  # a label's "Note 8)", "December 31," or "2015"
        spans.append([match.start(), after if after is not None else match.end()])
        after = None
    return [(a, b) for a, b in reversed(spans)]


def structure(text: str, table: Table, *, header_start: int, body_start: int, where: Mapping[int, Where],
              title: str, page: int, previous: Table | None = None) -> Table:
    """`table` (its span and caption as the layout found them) with its rows, columns, parents, scale and unit.

    `text[header_start:body_start]` holds the header lines and `text[body_start:table.end]` the rows; `where`
    maps the offset of each line's start to how it is set. `previous` is the table this one continues from
    the page before (its caption carried over): its column names hold when the columns agree.
    """
    heads = _lines(text, header_start, body_start)
    # A caption line ending in figures is a row ("Notes due 2023 (3.2%) 2,550 2,550"), and so is all below it.
    split = next((k for k, (_, line) in enumerate(heads) if len(figure_spans(line)) >= 2), len(heads))
    if split < len(heads):
        body_start, heads = heads[split][0], heads[:split]
    lines = _lines(text, body_start, table.end)
    found = {start: figure_spans(line) for start, line in lines}
    counts = Counter(len(spans) for spans in found.values() if len(spans) >= 2)
    width = max((n for n, seen in counts.items() if seen >= 2), default=max(counts, default=0))
    if not width:
        width = max((len(spans) for spans in found.values()), default=0)
    rows: list[TableRow] = []
    depths: list[float] = []
    levels = _levels([where[s].x0 for s, _ in lines if s in where])
    starts = sorted(s for s in where if body_start <= s < table.end)
    frame = _Frame(min(where[s].x0 for s in starts), max(where[s].x1 for s in starts), width) \
        if starts and width else None
    for start, line in lines:
        spans = [] if is_years(line) else found[start][-width:] if width else []
        label = line[: spans[0][0]] if spans else line
        # Figures fill the columns from the right, less those the line stops short of ("93 % 92 %" with no
        # "% Change"): its last piece ends where its last figure's column does.
        short = width - len(spans)
        if spans and short and frame is not None:
            last = where[starts[bisect.bisect_right(starts, start + len(line) - 1) - 1]]
            short -= min(short, frame.columns_right_of(last.x1))
        cells = tuple(Cell(line[a:b], start + a, start + b, short + k, page) for k, (a, b) in enumerate(spans))
        rows.append(TableRow(label.strip().rstrip(":").strip(), start, start + len(line), cells))
        set_in = where.get(start)
        level = levels.get(set_in.x0, 0) if set_in else 0
        depths.append(2 * level - (1 if set_in and set_in.bold and not cells else 0))
    header = [["", *values] for start, line in heads for values in _spread(line, width, where.get(start), frame)]
    # Placed word by word: a header row naming one column names only it (no colspan to guess).
    columns = [" ".join(_distinct(row[i + 1] for row in header)) for i in range(width)]
    if width >= 2 and not columns[0] and all(columns[1:]):
        # "Years Ended December 1, 2017" set on the caption's line, the later columns' dates below it: the
        # date that ends the line above the headers heads the first column, when no other column's does.
        above = text[text.rfind("\n", 0, max(0, header_start - 1)) + 1: header_start].strip()
        first = _ENDING_DATE.search(above)
        if first and not set(periods_named(first.group())) & {y for c in columns[1:] for y in periods_named(c)}:
            columns[0] = first.group()
    span = (header_start, heads[-1][0] + len(heads[-1][1].rstrip())) if heads else None
    built = located_table(header, rows, title=title, context=table.caption, indents=depths, caption=table.caption,
                          start=table.start, end=table.end, header_span=span, columns=columns)
    if previous is not None and not header and len(previous.columns) == width:
        return replace(built, columns=previous.columns, scale=built.scale or previous.scale,
                       unit=built.unit or previous.unit)
    return built


def _distinct(parts: Iterable[str]) -> list[str]:
    """Header words top to bottom, no blanks or repeats: ['Years ended', '', '2018'] -> ['Years ended', '2018']."""
    out: list[str] = []
    for part in parts:
        if part and (not out or out[-1] != part):
            out.append(part)
    return out


def _lines(text: str, start: int, end: int) -> list[tuple[int, str]]:
    """(offset, line) of the non-blank lines of text[start:end]."""
    out, at = [], start
    for line in text[start:end].split("\n"):
        if line.strip():
            out.append((at, line))
        at += len(line) + 1
    return out


def _levels(xs: Sequence[float]) -> dict[float, int]:
    """How far in each label starts, as a level: starts within a few points of each other are one level.

    [56.8, 66.4, 57.0, 71.2] -> {56.8: 0, 57.0: 0, 66.4: 1, 71.2: 2}
    """
    levels: dict[float, int] = {}
    level, last = -1, None
    for x in sorted(set(xs)):
        if last is None or x - last > _INDENT_STEP:
            level += 1
        levels[x], last = level, x
    return levels


def _shape(token: str) -> str:
    return re.sub(r"\d", "#", token.lower())


def _alike(groups: list[list[str]]) -> bool:
    """Groups of words that head columns alike: 'December 31, 2018' and 'December 31, 2017'; 'Three Months
    Ended June 30,' and 'Six Months Ended June 30,' (two words in three in the same place, all of one or two)."""
    same = sum(len({_shape(g[p]) for g in groups}) == 1 for p in range(len(groups[0])))
    return 3 * same >= 2 * len(groups[0]) if len(groups[0]) > 2 else same == len(groups[0])


@dataclass(frozen=True)
class _Frame:
    """Where a table's rows lie across the page: figure columns fill about its right half, equally wide."""

    left: float
    right: float
    width: int

    @property
    def figures(self) -> float:  # where the figure columns start, about
        return (self.left + self.right) / 2

    @property
    def column(self) -> float:  # how wide a figure column is, about
        return (self.right - self.figures) / self.width

    def columns_right_of(self, x1: float) -> int:
        """How many columns a line ending at `x1` stops short of: its headings head the columns left of them."""
        return max(0, round((self.right - x1) / self.column)) if self.column > 0 else 0


def _spread(line: str, width: int, at: Where | None = None, frame: _Frame | None = None) -> list[list[str]]:
    """A header line as the header rows it gives the `width` value columns: [] when it cannot be placed.
    `at` and `frame`, where known, say where the line and the table's rows lie on the page.

    ('(Millions) 2018 2017 2016', 3) -> [['2018', '2017', '2016']];
    ('Years ended December 31', 3) -> [['Years ended December 31'] * 3];
    ('Three Months Ended June 30, Six Months Ended June 30,', 4) -> [['Three Months Ended June 30,'] * 2 +
    ['Six Months Ended June 30,'] * 2]; ('Years ended December 31 2018 2017', 2) -> [['Years ended December
    31'] * 2, ['2018', '2017']]; ('Sales Margin', 2) -> [] (no way to tell which word heads which column);
    ('2022 2021 2020', 4), ending a column short of the rows -> [['2022', '2021', '2020', '']]
    """
    tokens = line.split()
    if not width or not tokens:
        return []
    for k in [d for d in range(width, 1, -1) if width % d == 0]:
        for g in range(1, len(tokens) // k + 1):
            tail, rest = tokens[len(tokens) - k * g:], tokens[: len(tokens) - k * g]
            groups = [tail[i * g:(i + 1) * g] for i in range(k)]
            if not _alike(groups) or (g == 1 and rest and _shape(rest[-1]) == _shape(tail[0])):
                continue  # ... 2022 | 2021 2020: a run of years cut short is no split
            values = [" ".join(groups[i // (width // k)]) for i in range(width)]
            # Two header lines read as one: "Adverse impact Positive impact" over "earnings earnings".
            return [*(_spread(" ".join(rest), width, at, frame) if rest else []), values]
    scale = re.match(r"\(.*?\)\s*", line)  # "(Dollars in millions) Total Capital Earnings": a word a column
    if scale and scale_of(scale.group()) and len(line[scale.end():].split()) == width:
        return [line[scale.end():].split()]
    years = [i for i, t in enumerate(tokens) if _YEAR.match(t)]
    if years:
        starts = [*years, years[-1] + 1] if years[-1] + 1 < len(tokens) else years  # "2018 2017 % change"
        groups = [tokens[a:b] for a, b in zip(starts, [*starts[1:], len(tokens)], strict=True)]
        short = width - len(groups)
        if short < 0 or (short and (at is None or frame is None)):
            return []
        first = short - min(short, frame.columns_right_of(at.x1)) if short and frame and at else 0
        values = [""] * first + [" ".join(g) for g in groups] + [""] * (short - first)
        return [*_spanning(" ".join(tokens[: years[0]]), width, None, None), values]
    return _spanning(line, width, at, frame)


def _spanning(text: str, width: int, at: Where | None, frame: _Frame | None) -> list[list[str]]:
    """A period heading over every column ('Years ended December 31'); a heading set narrow over the last
    figures ('% Change') over the last column alone; a scale, a label column's heading ('(Millions)') or a
    sentence heads none."""
    text = text.strip()
    if not text or not PERIOD_WORDS.search(text) or scale_of(text) or len(text.split()) > 8:
        return []
    if at is not None and frame is not None and at.x0 >= frame.figures and at.x1 - at.x0 < 1.5 * frame.column \
            and not _PERIOD.search(text):
        return [[""] * (width - 1) + [text]] if frame.columns_right_of(at.x1) == 0 else []
    return [[text] * width]
