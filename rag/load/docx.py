"""DOCX: paragraphs and tables in body order; Heading and Title styles become sections.

A table keeps its structure (`rag.load.table.build_table`): its header rows, row labels and their
nesting, each cell located in the text. Its rows are loaded as they always were, each a block
'cell | cell' of its own, so text indexed before reads the same.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

import docx
from docx.oxml.ns import qn
from docx.table import Table as DocxTable
from docx.table import _Cell, _Row
from docx.text.paragraph import Paragraph

from rag.load.base import SEP, Loaded, LoadError, assemble_tables
from rag.load.table import build_table, clean, is_figure, respace
from rag.types import Table

_TAB_POINTS, _SPACE_POINTS = 36.0, 4.0  # Word's default tab stop; a space in an 11-point font, near enough


def load_docx(data: bytes, source: str) -> Loaded:
    """Paragraphs and tables in body order; Heading*/Title styles are sections, and each table is a Table."""
    try:
        document = docx.Document(io.BytesIO(data))
        content = list(document.iter_inner_content())
        core_title = (document.core_properties.title or "").strip()
    except Exception as error:  # not a zip, or a zip without the Word parts
        raise LoadError(source, f"could not be read as DOCX: {error}") from error
    blocks: list[tuple[str, bool, Table | None]] = []  # (block text, is a heading, its table)
    heading = ""  # the nearest heading above
    for k, item in enumerate(content):
        if isinstance(item, Paragraph):
            text = item.text.strip()
            is_heading = _style(item).startswith(("Heading", "Title"))
            blocks.append((text, is_heading, None))
            heading = text if is_heading and text else heading
        else:
            before = next((p for p in _paragraphs(content[j] for j in range(k - 1, -1, -1)) if p.text.strip()), None)
            after = next((p for p in _paragraphs(content[j] for j in range(k + 1, len(content))) if p.text.strip()),
                         None)
            blocks.extend(_table_blocks(item, before, after, heading))
    text, sections, tables = assemble_tables(blocks)
    return Loaded(text, core_title or (sections[0].title if sections else None), sections=sections, tables=tables)


def _paragraphs(items: Iterable[object]) -> Iterator[Paragraph]:
    """The paragraphs up to the next table: a caption or an introducing line is next to its table."""
    for item in items:
        if not isinstance(item, Paragraph):
            return
        yield item


def _style(paragraph: Paragraph) -> str:
    return (paragraph.style.name if paragraph.style is not None else None) or ""


def _table_blocks(table: DocxTable, before: Paragraph | None, after: Paragraph | None,
                  heading: str) -> list[tuple[str, bool, Table | None]]:
    """The table as one block (its rows a blank line apart, as DOCX rows have always been loaded), titled by
    its caption (a Caption-styled paragraph just above it, or just below) or else by the nearest heading; the
    paragraph just above may state its scale ("Amounts in thousands")."""
    caption = next((p.text.strip() for p in (before, after) if p is not None and "caption" in _style(p).lower()),
                   "")
    context = before.text.strip() if before is not None and not _style(before).startswith(("Heading", "Title")) \
        else ""
    grid, indents, marked = _grid(table)
    built = build_table(grid, title=caption or heading, context=context, marked_headers=marked, indents=indents)
    if built is None:
        return []
    text, structure = respace(*built, SEP)
    return [(text, False, structure)]


def _grid(table: DocxTable) -> tuple[list[list[str]], list[int], int]:
    """The table's cell texts row by row, one per grid column, each row's label indent (points), and how
    many leading rows Word repeats as header rows ("Repeat as header row" marks them).

    python-docx gives a merged cell once per grid column it spans and, merged down, once per row. Across
    columns its text is kept in the first column only: an empty cell after a header cell is how
    `merge_headers` reads a span, and Word prints the text once. Down rows it is repeated, since a label or
    a header names every row it spans ("Segment" over two header rows must not leave the second blank,
    which would read as the column to its left), unless it is a figure: a figure is stated once, and
    repeating it would double it in a sum.
    """
    grid: list[list[str]] = []
    indents: list[int] = []
    marked, leading = 0, True
    above: list[object] = []  # the cell element at each grid column of the row above
    for row in table.rows:
        cells: list[_Cell | None] = [None] * row.grid_cols_before + list(row.cells) + [None] * row.grid_cols_after
        texts: list[str] = []
        elements: list[object] = []
        for j, cell in enumerate(cells):
            element = cell._tc if cell is not None else None
            text = cell.text if cell is not None else ""
            if element is not None and j and elements[j - 1] is element:
                text = ""  # spanned across: once, in its first column
            elif element is not None and j < len(above) and above[j] is element and is_figure(clean(text)):
                text = ""  # a figure merged down rows is stated once
            texts.append(text)
            elements.append(element)
        above = elements
        grid.append(texts)
        indents.append(round(_indent(cells[0])) if cells else 0)
        leading = leading and _repeated_header(row)
        marked += leading
    return grid, indents, marked


def _indent(cell: _Cell | None) -> float:
    """How far a row's label is set in, in points: its paragraph's left indent (direct or from its style)
    and any tabs or spaces typed before it. 'Total' indented 0.25" -> 18.0."""
    if cell is None or not cell.paragraphs:
        return 0.0
    paragraph = cell.paragraphs[0]
    left = paragraph.paragraph_format.left_indent
    if left is None and paragraph.style is not None:
        left = paragraph.style.paragraph_format.left_indent
    typed = paragraph.text[: len(paragraph.text) - len(paragraph.text.lstrip(" \t"))]
    return (left.pt if left is not None else 0.0) + typed.count("\t") * _TAB_POINTS + typed.count(" ") * _SPACE_POINTS


def _repeated_header(row: _Row) -> bool:
    """Word's 'Repeat as header row at the top of each page' (<w:tblHeader/>): the format marking a header."""
    properties = row._tr.trPr
    flag = properties.find(qn("w:tblHeader")) if properties is not None else None
    return flag is not None and flag.get(qn("w:val"), "true") not in ("false", "0", "off")
