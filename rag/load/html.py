"""HTML: block elements become paragraphs, h1-h6 become sections, data tables keep their structure."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag
from bs4.builder import HTMLTreeBuilder
from bs4.element import NavigableString, PreformattedString

from rag.load.base import Loaded, assemble_tables
from rag.load.table import build_table, stacked
from rag.numbers import scale_of
from rag.types import Table

_SPACES = re.compile(r"\s+")
_HTML_DROP = ["script", "style", "noscript", "template", "head", "title"]
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# bs4's list of HTML block elements, plus those that also end a line of text.
_HTML_BLOCKS = HTMLTreeBuilder.DEFAULT_BLOCK_ELEMENTS | _HEADINGS | {"br", "td", "th", "tr"}
# A sentence that introduces the table after it ("The table below presents net sales (in millions):").
_INTRODUCES = re.compile(r"(?i):\s*$|\b(?:table|below|following)\b")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")
# A scale declared for counts, not amounts: "(shares in thousands, except per share data)".
_COUNTED = re.compile(r"(?i)\b(?:shares|units|employees|customers|subscribers|options)\s+(?:are\s+)?in\s+"
                      r"(?:thousands|millions|billions)\b")
_MAX_SPAN = 1000  # a colspan/rowspan larger than this is a broken page, not a table


def load_html(data: bytes, source: str) -> Loaded:
    """Block elements become paragraphs, their inline text joined; h1-h6 become sections; a data table
    (one with no table inside it) becomes one line per row with its structure (`rag.load.table`).

    The walk is iterative, as scraped pages can nest deeper than Python's recursion limit. An
    int on the stack marks the end of a block element (1 for h1-h6, else 0; the page is one).
    """
    soup = BeautifulSoup(data, "html.parser")  # given bytes, it honours <meta charset>
    title_tag = soup.find("title")
    title = " ".join(title_tag.get_text().split()) if title_tag else ""
    for tag in soup.find_all(_HTML_DROP):
        tag.decompose()
    blocks: list[tuple[str, bool, Table | None]] = []  # (block text, is a heading, its table)
    inline: list[str] = []
    heading = 0
    stack: list[object] = [0, soup]
    while stack:
        node = stack.pop()
        is_table = isinstance(node, Tag) and node.name == "table" and node.find("table") is None
        is_block = isinstance(node, Tag) and (node.name in _HTML_BLOCKS or is_table)
        if is_block or isinstance(node, int):
            blocks.append((_SPACES.sub(" ", "".join(inline)).strip(), heading > 0, None))
            inline.clear()
        if isinstance(node, int):
            heading -= node
        elif is_table:
            assert isinstance(node, Tag)
            for built in _tables(node, blocks):
                blocks.append((built[0], False, built[1]))
        elif isinstance(node, Tag):
            if is_block:
                heading += node.name in _HEADINGS
                stack.append(int(node.name in _HEADINGS))
            stack.extend(reversed(node.contents))
        elif isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
            inline.append(str(node))  # PreformattedString: a comment, doctype or CDATA
    text, sections, tables = assemble_tables(blocks)
    return Loaded(text, title or (sections[0].title if sections else None), sections=sections, tables=tables)


def _tables(tag: Tag, before: list[tuple[str, bool, Table | None]]) -> list[tuple[str, Table]]:
    """A <table> as a grid (colspan and rowspan cells keep their text in their first slot, so a header
    spanning three year columns is spread over them by `merge_headers`), with its title: the <caption>,
    else the heading or the sentence that introduces it just before. Tables stacked in one grid come out as
    one table each (`stacked`), under the same title."""
    grid: list[list[str]] = []
    pending: dict[tuple[int, int], str] = {}  # (row, column) taken by a rowspan from above
    marked, body_seen = 0, False
    for r, tr in enumerate(tag.find_all("tr")):
        row: list[str] = []
        col = 0
        cells = tr.find_all(["td", "th"], recursive=False)
        for cell in cells:
            while (r, col) in pending:
                row.append(pending.pop((r, col)))
                col += 1
            text = " ".join(cell.get_text(" ").split())
            span, down = _span(cell.get("colspan")), _span(cell.get("rowspan"))
            for j in range(span):
                row.append(text if j == 0 else "")
                for i in range(1, down):
                    pending[(r + i, col + j)] = ""
            col += span
        while (r, col) in pending:
            row.append(pending.pop((r, col)))
            col += 1
        in_head = tr.find_parent("thead") is not None
        headed = bool(cells) and all(c.name == "th" for c in cells[1:] or cells)
        if not body_seen and (in_head or headed) and any(row):
            marked = r + 1
        elif any(row):
            body_seen = True
        grid.append(row)
    caption_tag = tag.find("caption")
    caption = " ".join(caption_tag.get_text(" ").split()) if caption_tag else ""
    previous = next((b for b in reversed(before) if b[0]), None)
    intro = ""
    if previous is not None and previous[2] is None:
        last = _SENTENCE_END.split(previous[0])[-1]
        if previous[1]:
            intro = previous[0]
        elif _INTRODUCES.search(last):
            intro = last
    # The scale a table's figures are in is often stated once above it, by its introducing sentence or by a
    # note's heading ("(in thousands, except per share data)"): the nearest statement of one above it counts.
    # A sentence that introduces a table ("were as follows (amounts in millions):") speaks for it however
    # far above it stands, up to the table before it.
    since = [b[0] for b in before if b[0]]
    for k in range(len(before) - 1, -1, -1):
        if before[k][2] is not None:
            since = [b[0] for b in before[k + 1:] if b[0]]
            break
    introducing = (sentence for block in reversed(since) for sentence in reversed(_SENTENCE_END.split(block))
                   if _INTRODUCES.search(sentence))
    above = [b[0] for b in before if b[0] and b[2] is None]
    scale = next((s for s in map(_amounts_scale, introducing) if s), "") or \
        next((s for s in map(_amounts_scale, reversed(above)) if s), "")
    built = (build_table(block, title=caption or intro, context=intro, marked_headers=marked if n == 0 else 0,
                         scale=scale) for n, block in enumerate(stacked(grid)))
    return [b for b in built if b is not None]


def _amounts_scale(text: str) -> str:
    """The scale a text declares for amounts: '(in thousands, except per share data)' -> 'thousand'; a scale
    declared for something else ("shares in thousands") is not the amounts' scale."""
    return scale_of(_COUNTED.sub(" ", text))


def _span(value: object) -> int:
    """A colspan/rowspan attribute as a count: '3' -> 3; missing, '0' or 'x' -> 1."""
    try:
        return max(1, min(_MAX_SPAN, int(str(value)))) if value is not None else 1
    except ValueError:
        return 1
