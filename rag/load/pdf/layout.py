"""Pages of lines -> one clean text, with its tables, headings and page map.

Pure functions over `extract.Line`s, so each rule is testable on hand-made lines:
- cleaning: control characters out, PDFium's line-end hyphen marks resolved;
- running headers and footers (the same line at the top or bottom of many pages, page
  numbers) and bare page numbers are left out of the text altogether, so no chunk holds them
  and every offset still maps to a page through `page_starts`;
- prose lines of a paragraph are joined with a space (a line break ends a sentence for the
  chunker), hyphenation at a line end is joined;
- table rows stay one per line, label with its figures, and each table gets a caption (its
  title and column headers) that travels with every chunk cut from it, and its structure
  (rows, located figures, column names, parents: see `tables`);
- headings come from numbering (PART I, Item 7., Note 12) and type (larger or bold lines
  standing alone) and become section paths: "Item 8 › Consolidated Statement of Cash Flows".
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rag.load.base import SEP
from rag.load.pdf.extract import Line, Page
from rag.load.pdf.tables import FIGURE, NOISE, PERIOD_WORDS, Pending, pending_table, structure
from rag.text import RUNNING_WORDS, is_years, line_shape
from rag.types import PageLine, Section, Table

PATH_SEP = " › "
# PDFium marks a hyphen it found at a line end with U+FFFE (sometimes U+0002).
_HYPHEN_MARK = "\ufffe\x02"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u00ad\ufeff\uffff]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f]+")
_PAGE_NUMBER = re.compile(r"(?i)^[-–—\s]*(?:page\s+)?(?:\d{1,4}|[ivxlc]{1,7})(?:\s+of\s+\d{1,4})?[-–—\s]*$")
_BULLET = re.compile(r"^(?:[•·▪●◦■□➢✓\-–*]|\(?[a-z0-9]{1,2}\)|\d{1,2}\.)\s")
_PART = re.compile(r"^PART\s+[IV]{1,4}\b", re.I)
_ITEM = re.compile(r"^ITEM\s+\d{1,2}[A-C]?\b", re.I)
_NOTE = re.compile(r"^NOTE\s+\d{1,2}[A-Z]?\b\s*[.:—–-]?", re.I)


@dataclass(frozen=True)
class Laid:
    text: str
    page_starts: list[int]
    sections: list[Section]
    tables: list[Table]
    lines: list[PageLine]
    warnings: list[str]


def clean(text: str) -> str:
    """Line text without control characters and with single spaces; PDFium's line-end
    hyphen mark becomes a hyphen (whether it stays is decided when lines are joined).

    'Net\\x00 sales\\u00a0\\u00a0up' -> 'Net sales up'
    """
    for mark in _HYPHEN_MARK:
        text = text.replace(mark, "-")
    return _SPACES.sub(" ", _CONTROL.sub("", text)).strip()


def clean_map(text: str) -> tuple[str, list[int]]:
    """`clean(text)`, and for each of its characters the index in `text` it was read from, to find a
    character of the loaded text on its page again. 'a\x00  b' -> ('a b', [0, 2, 4])"""
    out: list[str] = []
    source: list[int] = []
    for i, ch in enumerate(text):
        ch = "-" if ch in _HYPHEN_MARK else ch
        if _CONTROL.match(ch):
            continue
        if _SPACES.match(ch):
            if out and out[-1] == " ":
                continue
            ch = " "
        out.append(ch)
        source.append(i)
    first = next((k for k, ch in enumerate(out) if not ch.isspace()), len(out))
    last = next((k + 1 for k in range(len(out) - 1, -1, -1) if not out[k].isspace()), first)
    return "".join(out[first:last]), source[first:last]


def figures(text: str) -> int:
    """How many figures end the line: 'Inventories (509) (387) 57' -> 3; 'In 2018 we grew' -> 0."""
    count = 0
    for token in reversed(text.split()):
        if token in NOISE:
            continue
        if not FIGURE.match(token):
            break
        count += 1
    return count


def is_row(text: str) -> bool:
    """A table row: a label (or nothing) followed by at least two figures, not a header of years."""
    return figures(text) >= 2 and not is_years(text)


def running_lines(pages: Sequence[Page], band: float = 0.12, edge: int = 3) -> set[tuple[int, int]]:
    """(page, line index) of running headers and footers and of bare page numbers.

    A candidate is one of the first or last `edge` lines of a page, lying in the top or bottom
    `band` of it and short (a running line is a name, a title, a page number). It is running
    when lines of its shape (digits ignored, so "Page 7" and "Page 8" match) are candidates on
    at least a fifth of the pages (and three of them).
    """
    candidates: list[tuple[int, int, str]] = []
    for p, page in enumerate(pages):
        n = len(page.lines)
        for i, line in enumerate(page.lines):
            if edge <= i < n - edge:
                continue
            top = line.y1 >= page.height * (1 - band)
            bottom = line.y0 <= page.height * band
            text = clean(line.text)
            short = len(text.split()) <= RUNNING_WORDS
            if (i in (0, n - 1) and _PAGE_NUMBER.match(text)) or ((top or bottom) and short):
                # A page's first or last line that is a bare number is its page number wherever
                # it sits (pages printed from HTML end mid-page).
                candidates.append((p, i, line_shape(text)))
    seen = Counter(key for _, key in {(p, key) for p, _, key in candidates})
    need = max(3, len(pages) // 5)
    return {(p, i) for p, i, key in candidates if seen[key] >= need or _PAGE_NUMBER.match(key.replace("#", "1"))}


def _vocabulary(pages: Sequence[Page]) -> tuple[set[str], set[str]]:
    words: set[str] = set()
    compounds: set[str] = set()
    for page in pages:
        for line in page.lines:
            lowered = line.text.lower()
            words.update(re.findall(r"[a-z]+", lowered))
            compounds.update(re.findall(r"[a-z]+-[a-z]+", lowered))
    return words, compounds


def _dehyphenate(left: str, right: str, words: set[str], compounds: set[str]) -> bool:
    """Join 'signifi-' + 'cant' without the hyphen? Yes unless the document writes the
    compound with one ('fourth-quarter') and never as one word."""
    a = re.search(r"([A-Za-z]+)-$", left)
    b = re.match(r"[a-z]+", right)
    if a is None or b is None:
        return False
    joined, compound = (a.group(1) + b.group()).lower(), f"{a.group(1)}-{b.group()}".lower()
    return joined in words or compound not in compounds


@dataclass
class _Item:
    """A kept line while the page text is assembled."""

    line: Line
    text: str
    row: bool
    years: bool
    start: int = 0
    end: int = 0


def _pitch(items: list[_Item]) -> float:
    """The page's usual baseline-to-baseline distance between lines of one paragraph."""
    pitches = sorted(a.line.y0 - b.line.y0 for a, b in itertools.pairwise(items)
                     if 0 < a.line.y0 - b.line.y0 < 3 * max(a.line.size, 1.0))
    return pitches[len(pitches) // 2] if pitches else 0.0


def _joiner(prev: _Item, item: _Item, in_table: bool, right_edge: float, pitch: float = 0.0) -> str:
    """What goes between two lines of a page: '' (hyphen joined), ' ' (same paragraph), '\\n'."""
    a, b = prev.line, item.line
    if in_table:
        # A label wrapped onto a second line, or figures set on the label's last line.
        label_only = figures(prev.text) == 0 and not prev.years
        if label_only and (figures(item.text) == len(item.text.split()) or item.text[:1].islower()):
            return " "
        return "\n"
    if prev.row or item.row or prev.years or item.years or _BULLET.match(item.text):
        return "\n"
    size = max(a.size, b.size, 1.0)
    step = a.y0 - b.y0
    if b.y1 > a.y1 + 1 or step > max(1.3 * pitch, 1.2 * size) + 0.5 or abs(a.size - b.size) > 1.0 or a.bold != b.bold:
        return "\n"
    if a.x1 < right_edge - 0.15 * max(right_edge - a.x0, 1.0) and prev.text[-1:] in '.:;!?"”)':
        return "\n"
    return " "


def _tables(items: list[_Item]) -> list[tuple[int, int, int]]:
    """(caption start, first row, last row) indices of each table on a page.

    Rows within three lines of each other form one table; short label lines between them
    ("Cash Flows from Investing Activities") belong to it. The caption is the run of short
    lines just above the first row: title lines, then the column headers (years, "ended").
    """
    rows = [i for i, it in enumerate(items) if it.row]
    groups: list[list[int]] = []
    for i in rows:
        if groups and i - groups[-1][-1] <= 3 and all(_short(items[j].text) for j in range(groups[-1][-1] + 1, i)):
            groups[-1].append(i)
        else:
            groups.append([i])
    out = []
    floor = 0
    for group in groups:
        first, last = group[0], group[-1]
        if len(group) < 2 and not any(items[j].years for j in range(max(floor, first - 4), first)):
            continue  # one figure-bearing line in prose ("2018 2017" in a sentence) is not a table
        top = first
        while top > floor and first - top < 5 and _short(items[top - 1].text) and not items[top - 1].row:
            top -= 1
        out.append((top, first, last))
        floor = last + 1
    return out


def _short(text: str) -> bool:
    """Could be a caption or a label line, not prose: few words, no sentence end."""
    words = len(text.split())
    return words <= 14 and not (text[-1:] in '.!?"”' and words > 6)


def _header_at(items: list[_Item], top: int, first: int) -> int:
    """Index of the first column-header line (years, "Three months ended") above the first row."""
    return next((j for j in range(top, first) if items[j].years or PERIOD_WORDS.search(items[j].text)), first)


def _caption(items: list[_Item], top: int, first: int) -> str:
    """Title and column headers, down to the last header line: 'Consolidated Statement of Cash
    Flows · Years ended December 31 · (Millions) 2018 2017 2016'. Sub-headings below the
    headers ('Cash Flows from Operating Activities') name one part only and stay out."""
    headers = [j for j in range(top, first) if items[j].years or PERIOD_WORDS.search(items[j].text)]
    last = headers[-1] if headers else first - 1
    return " · ".join(items[j].text for j in range(top, last + 1))[:300]


def _alone(items: list[_Item], j: int, right_edge: float, pitch: float) -> bool:
    """A line that is a paragraph of its own: not joined to the line before or after."""
    before = j == 0 or _joiner(items[j - 1], items[j], False, right_edge, pitch) != " "
    return before and (j + 1 == len(items) or _joiner(items[j], items[j + 1], False, right_edge, pitch) != " ")


def _table_title(items: list[_Item], top: int, first: int, body: float) -> tuple[int, str] | None:
    """The caption line just above the column headers that is styled as a heading."""
    for j in range(_header_at(items, top, first) - 1, top - 1, -1):
        heading = _heading(items[j], body, False)
        if heading is not None:
            return heading
    return None


def _heading(item: _Item, body: float, toc_page: bool) -> tuple[int, str] | None:
    level = _heading_level(item, body, toc_page)
    return None if level is None else (level, _title(item.text))


def _heading_level(item: _Item, body: float, toc_page: bool) -> int | None:
    """0 PART, 1 Item, 2 Note or larger type, 3 bold at body size; None for a body line."""
    text = item.text
    words = text.split()
    if item.row or item.years or len(words) > 14 or len(text) > 120 or not text[:1].isalnum():
        return None
    if text[:1].islower() or toc_page:
        return None
    if _PART.match(text):
        return 0
    if _ITEM.match(text):
        return 1
    if _NOTE.match(text) and len(words) >= 2:
        return 2
    if text[-1:] in ".,;" or figures(text) or not re.search(r"[A-Za-z]{3}", text):
        return None
    if item.line.size >= body * 1.15:
        return 2
    if item.line.bold:
        return 3
    return None


def layout(pages: Sequence[Page]) -> Laid:
    """Assemble the document text: pages joined by a blank line, paragraphs by a line break."""
    running = running_lines(pages)
    words, compounds = _vocabulary(pages)
    sizes = Counter(round(line.size * 2) / 2 for page in pages for line in page.lines for _ in range(len(line.text)))
    body = sizes.most_common(1)[0][0] if sizes else 10.0
    parts: list[str] = []
    page_starts: list[int] = []
    sections: list[Section] = []
    tables: list[Table] = []
    page_lines: list[PageLine] = []
    warnings: list[str] = []
    blank: list[int] = []
    path: list[tuple[int, str]] = []
    offset = 0
    carried: str | None = None  # the caption of a table running off the previous page
    pending: list[Pending] = []  # tables whose structure is read once the text is whole
    for p, page in enumerate(pages):
        if page.error:
            warnings.append(f"page {page.number}: {page.error}; the rest of the document is indexed")
        items = [_Item(line, t, is_row(t), is_years(t))
                 for i, line in enumerate(page.lines) if (p, i) not in running and (t := clean(line.text))]
        if parts and items:
            parts.append(SEP)
            offset += len(SEP)
        page_starts.append(offset)
        if not items:
            if not page.error:
                blank.append(page.number)
            continue
        spans = _tables(items)
        in_table = [False] * len(items)
        for top, _, last in spans:
            for j in range(top, last + 1):
                in_table[j] = True
        toc = sum(bool(_ITEM.match(it.text)) for it in items) >= 4
        right_edge = sorted(it.line.x1 for it in items)[int(0.9 * (len(items) - 1))]
        pitch = _pitch(items)
        for j, item in enumerate(items):
            text = item.text
            if j:
                prev = items[j - 1]
                glue = _joiner(prev, item, in_table[j] and in_table[j - 1], right_edge, pitch)
                if glue == " " and prev.text.endswith("-") and _dehyphenate(prev.text, text, words, compounds):
                    parts[-1] = parts[-1][:-1]  # the hyphen leaves; the previous line's span shrinks by one
                    page_lines[-1] = _shrunk(page_lines[-1])
                    offset -= 1
                    glue = ""
                elif glue == " " and prev.text.endswith("-"):
                    glue = ""
                parts.append(glue)
                offset += len(glue)
            item.start, item.end = offset, offset + len(text)
            parts.append(text)
            page_lines.append(PageLine(page.number, item.start, item.end, item.line.first_char, item.line.last_char))
            offset = item.end
        for top, first, last in spans:
            caption = _caption(items, top, first)
            continued = not caption and top == 0 and bool(carried)
            if continued:
                caption = carried or ""
            pending.append(pending_table(items, top, first, last, len(tables), page.number, continued))
            tables.append(Table(items[top].start, items[last].end, caption))
            carried = caption or None
        if not spans or spans[-1][2] < len(items) - 3:
            carried = None
        # A statement's title ("Consolidated Statement of Cash Flows") is a heading for the whole
        # table, caption included; any other heading stands alone between paragraphs.
        titled = {top: _table_title(items, top, first, body) for top, first, _ in spans}
        inside = {j for top, _, last in spans for j in range(top, last + 1)}
        for j, item in enumerate(items):
            if j in titled:
                heading = titled[j]
            elif j in inside or not _alone(items, j, right_edge, pitch):
                continue
            else:
                heading = _heading(item, body, toc)
            if heading is None:
                continue
            level, title = heading
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, title))
            sections.append(Section(item.start, PATH_SEP.join(t for _, t in path)))
    if blank and len(blank) < len(pages):
        shown = ", ".join(map(str, blank[:10])) + (", …" if len(blank) > 10 else "")
        plural = "s" if len(blank) > 1 else ""
        warnings.append(f"page{plural} {shown}: no text could be read (damaged, scanned or image-only; not indexed)")
    text = "".join(parts)
    for job in pending:
        table = tables[job.index]
        previous = tables[job.index - 1] if job.continued and job.index else None
        title = job.title or (previous.title if previous else "") or _section_title(sections, table.start)
        body_start = max(job.header_start, text.rfind("\n", 0, job.body_start) + 1)
        tables[job.index] = structure(text, table, header_start=job.header_start, body_start=body_start,
                                      where=job.where, title=title, page=job.page, previous=previous)
    return Laid(text, page_starts, sections, tables, page_lines, warnings)


def _section_title(sections: list[Section], offset: int) -> str:
    """The nearest heading above `offset`, its last part: 'Item 7A › Market Risk' -> 'Market Risk'. (One at
    the table's start is a line of its caption, which may be a column heading set in bold.)"""
    title = next((s.title for s in reversed(sections) if s.start < offset), "")
    return title.split(PATH_SEP)[-1]


def _title(text: str, limit: int = 80) -> str:
    text = text.rstrip(" .:")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _shrunk(line: PageLine) -> PageLine:
    return PageLine(line.page, line.start, line.end - 1, line.first_char, max(line.first_char, line.last_char - 1))
