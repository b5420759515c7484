"""Figures of a sparse row placed under their columns by where they sit on the page.

`tables` reads a row's figures from the right of its line and counts its columns from the right, less those
the line stops short of. That holds for a full row and for one missing its last columns, not for a row
missing columns between others, as a statement of changes in equity has them ("Net income 5,058 5,050 8"
under six columns: Total, ..., Retained Earnings, ..., Noncontrolling Interest). For such rows PDFium says
where each figure's last character ends, and a figure belongs to the column whose figures end nearest it
in the table's full rows. Only tables with such rows are looked at: a few calls per figure.
"""

from __future__ import annotations

import bisect
import itertools
import statistics
from collections.abc import Callable, Sequence
from dataclasses import replace

import pypdfium2 as pdfium

from rag.load.pdf.layout import clean_map
from rag.types import Cell, PageLine, Table, TableRow

Right = Callable[[Cell], float]  # where on its page a cell's last character ends


def place_columns(pdf: pdfium.PdfDocument, text: str, tables: Sequence[Table],
                  lines: Sequence[PageLine]) -> list[Table]:
    """The tables with each sparse row's figures under the column whose full rows' figures end nearest; a
    table whose positions cannot be read (a damaged page, a line PDFium reads differently) stays as it is."""
    starts = [line.start for line in lines]
    opened: dict[int, tuple[pdfium.PdfPage, pdfium.PdfTextPage]] = {}
    read: dict[int, list[int] | None] = {}  # line -> the page character each of its characters was read from

    def right(cell: Cell) -> float:
        k = bisect.bisect_right(starts, cell.start) - 1
        line = lines[k]
        if not line.start <= cell.start < cell.end <= line.end:
            raise LookupError("a cell outside its line")
        if line.page not in opened:
            page = pdf[line.page - 1]
            opened[line.page] = (page, page.get_textpage())
        textpage = opened[line.page][1]
        if k not in read:
            cleaned, source = clean_map(textpage.get_text_range(line.first_char, line.last_char - line.first_char + 1))
            read[k] = source if cleaned == text[line.start:line.end] else None
        chars = read[k]
        if chars is None:
            raise LookupError("the line reads differently")
        return float(textpage.get_charbox(line.first_char + chars[cell.end - 1 - line.start])[2])

    out: list[Table] = []
    try:
        for table in tables:
            try:
                out.append(_placed(table, right))
            except (pdfium.PdfiumError, LookupError, IndexError):
                out.append(table)
    finally:
        for page, textpage in opened.values():
            textpage.close()
            page.close()
    return out


def _placed(table: Table, right: Right) -> Table:
    width = len(table.columns)
    if not any(0 < len(r.cells) < width for r in table.rows):
        return table
    ends: list[list[float]] = [[] for _ in range(width)]
    for row in table.rows:
        if len(row.cells) == width:
            for cell in row.cells:
                ends[cell.column].append(right(cell))
    if any(not e for e in ends):
        return table  # no full row shows where every column ends
    edges = [statistics.median(e) for e in ends]
    return replace(table, rows=tuple(_row(row, edges, right) if 0 < len(row.cells) < width else row
                                     for row in table.rows))


def _row(row: TableRow, edges: Sequence[float], right: Right) -> TableRow:
    """The row with each figure under the column ending nearest it, when they stay in order; else as it was.

    Column ends [323, 362, 401, 438, 490, 541], figures ending at [323, 401] -> columns [0, 2]
    """
    columns = [min(range(len(edges)), key=lambda j: abs(edges[j] - right(cell))) for cell in row.cells]
    if any(a >= b for a, b in itertools.pairwise(columns)):
        return row
    return replace(row, cells=tuple(replace(c, column=j) for c, j in zip(row.cells, columns, strict=True)))
