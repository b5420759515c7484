"""Plain text and Markdown: kept exactly as decoded, so a quote's offsets are the file's own characters.

A Markdown pipe table is found in place: its Table's cells point at their text in the file's own lines.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from rag.load.base import Loaded, LoadError
from rag.load.table import is_delimiter_row, is_figure, located_table, pipe_cells
from rag.types import Cell, Section, Table, TableRow

_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")
_ATX = re.compile(r" {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")
# A whole line in bold is how chat exports and notes write headings: "**Risks**", and
# also "1. **Risks**:", since a numbered bold line plays the same role there.
_BOLD = re.compile(r" {0,3}(?:\d{1,3}[.)][ \t]+)?(?:\*\*([^*]+)\*\*|__([^_]+)__):?[ \t]*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_BULLET = re.compile(r"[-*+•◦▪‣·–—][ \t]")


def _decode(data: bytes, source: str) -> str:
    """Bytes -> str without changing a character, so offsets stay the file's own.

    Only a byte-order mark is removed. Without one, UTF-8 is tried, then cp1252 (what legacy
    Windows editors save), then Latin-1, which accepts any byte. Since Latin-1 accepts
    anything, bytes that are not UTF-8 and decode to many control characters are taken for
    binary content (compressed or encrypted data holds few NUL bytes in a small file).
    """
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if b"\x00" in data and not utf16:
        raise LoadError(source, "not a text file (binary content)")
    for codec in ["utf-16"] if utf16 else ["utf-8-sig", "cp1252", "latin-1"]:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if codec in ("cp1252", "latin-1") and _mostly_controls(text[:65536]):
            raise LoadError(source, "not a text file (binary content, or text in an encoding other than "
                                    "UTF-8, UTF-16 or cp1252: save it as UTF-8)")
        return text
    raise LoadError(source, "not a text file (invalid UTF-16)")


def _mostly_controls(sample: str) -> bool:
    """More than 3% control characters (tab, line breaks and ESC aside): random bytes have ~10%."""
    controls = sum(1 for ch in sample if ch in _CONTROLS)
    return controls > 0.03 * len(sample)


_CONTROLS = frozenset(map(chr, [*range(0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20), *range(0x7F, 0xA0)]))


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """(offset of line start, line without its ending): 'a\\r\\nb' -> (0, 'a'), (3, 'b')."""
    return ((m.start(), m.group(1)) for m in _LINE.finditer(text) if m.group(0))


def load_markdown(data: bytes, source: str) -> Loaded:
    """ATX headings and whole-line bold become sections, pipe tables Tables; fenced code becomes neither."""
    text = _decode(data, source)
    sections: list[Section] = []
    lines: list[tuple[int, str, bool]] = []  # (offset, line, inside fenced code)
    fence = ""
    for start, line in _lines(text):
        marker = _FENCE.match(line)
        if marker and (not fence or marker.group(1).startswith(fence)):
            # A fence is closed by a run of the same character at least as long.
            fence = "" if fence else marker.group(1)
            lines.append((start, line, True))
            continue
        lines.append((start, line, bool(fence)))
        match = None if fence else _ATX.fullmatch(line) or _BOLD.fullmatch(line)
        title = "".join(g for g in match.groups() if g).strip() if match else ""
        if title:
            sections.append(Section(start, title))
    tables = _pipe_tables(lines, sections)
    return Loaded(text, sections[0].title if sections else None, sections=sections, tables=tables)


def _pipe_tables(lines: Sequence[tuple[int, str, bool]], sections: Sequence[Section]) -> list[Table]:
    """The pipe tables, found where the file has them: a row of cells over a delimiter row ('|---|--:|')
    with as many cells, then the rows up to the first line without a pipe (GitHub's tables)."""
    tables: list[Table] = []
    i = 0
    while i + 1 < len(lines):
        (_, line, code), (_, below, code_below) = lines[i], lines[i + 1]
        if code or code_below or not _table_line(line) or not is_delimiter_row(below) \
                or len(pipe_cells(line)) != len(pipe_cells(below)):
            i += 1
            continue
        end = i + 2
        while end < len(lines) and not lines[end][2] and _table_line(lines[end][1]):
            end += 1
        tables.append(_pipe_table(lines, i, end, sections))
        i = end
    return tables


def _table_line(line: str) -> bool:
    """A line that can be a table row: a pipe in it, and not indented code or a quote."""
    return "|" in line and not line.startswith("    ") and not line.lstrip().startswith(">") and bool(line.strip())


def _pipe_table(lines: Sequence[tuple[int, str, bool]], top: int, end: int, sections: Sequence[Section]) -> Table:
    """The Table of lines[top:end]: header row, delimiter row, body rows. Cells point at their text in the
    file, inside any emphasis ('**1,234**' -> '1,234'); a leading row with no label and no figure under the
    header row is more header ('| | 2023 | 2022 |' under '| | Years ended | |'), as converted tables have it."""
    width = len(pipe_cells(lines[top][1]))
    rows = [_Row(start + len(line) - len(line.lstrip()), start + len(line.rstrip()), pipe_cells(line, start)[:width])
            for start, line, _ in [lines[top], *lines[top + 2:end]]]
    rows = rows[:1] + [r for r in rows[1:] if any(text for text, _, _ in r.cells)]
    figures = any(is_figure(_plain(text)) for r in rows[1:] for text, _, _ in r.cells[1:])
    heads = 1
    while heads < len(rows) and figures and not rows[heads].cells[0][0] \
            and not any(is_figure(_plain(text)) for text, _, _ in rows[heads].cells[1:]):
        heads += 1
    body = [TableRow(_plain(r.cells[0][0]).rstrip(":").strip(), r.start, r.end, tuple(
        Cell(*_inside(*cell), column=j) for j, cell in enumerate(r.cells[1:]) if cell[0])) for r in rows[heads:]]
    start = lines[top][0]
    title = _caption(lines, top, end) or next((s.title for s in reversed(sections) if s.start < start), "")
    return located_table([[_plain(text) for text, _, _ in r.cells] for r in rows[:heads]], body, title=title,
                         context=_introduction(lines, top), header_span=(rows[0].start, rows[heads - 1].end),
                         indents=[_label_indent(r.cells[0][0]) for r in rows[heads:]])


class _Row(NamedTuple):
    """A table line: where its text starts and ends, and its cells (text, start, end) as the file has them."""

    start: int
    end: int
    cells: list[tuple[str, int, int]]


def load_plain(data: bytes, source: str) -> Loaded:
    """Headings in plain text are guessed: a short line standing alone between blank lines.

    "Financial Picture: High Growth, High Burn" qualifies; "Strengths:" (a lead-in to a list),
    "- item" (a bullet) and a one-line paragraph ending in "." do not.
    """
    text = _decode(data, source)
    sections: list[Section] = []
    # One pass with one line of look-ahead: a list of every line would hold the file again.
    after_blank = True  # the first line stands alone at its top
    lines = _lines(text)
    current = next(lines, None)
    while current is not None:
        following = next(lines, None)
        start, line = current
        alone = after_blank and following is not None and not following[1].strip()  # end of file: no heading
        after_blank, current = not line.strip(), following
        words = line.split() if alone and len(line.strip()) <= 80 else []
        if not (words and len(words) <= 12):
            continue
        if line.rstrip()[-1] not in ".,;:!?" and not _BULLET.match(line.lstrip()) and any(map(str.isalpha, line)):
            sections.append(Section(start, " ".join(words)))
    title = sections[0].title if sections and sections[0].start == 0 else None
    return Loaded(text, title, sections=sections)


_NBSP = re.compile(r"(?i)&(?:nbsp|ensp|emsp|#160|#xa0);")
_WRAP = re.compile(r"(\*\*|__|\*|_|`)(\S(?:.*\S)?)\1", re.S)
_CAPTION = re.compile(r"(?i)\s*(?:[*_]{1,2})?(?:table|exhibit)\b|\s*([*_]{1,2})\S.*\S\1\s*$")
_BELOW = re.compile(r"(?i)\s*(?:table)?:\s+\S")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")


def _label_indent(label: str) -> int:
    """How deep a label is set: '&nbsp;&nbsp;Total' -> 2. Markdown drops the spaces around a cell's text,
    so tables that indent a row do it with non-breaking spaces written as entities."""
    count, at = 0, 0
    while match := _NBSP.match(label, at):
        count, at = count + 1, match.end()
        at += len(label[at:]) - len(label[at:].lstrip())
    return count


def _inside(text: str, start: int, end: int) -> tuple[str, int, int]:
    """A cell's text and span without the emphasis around it: ('**1,234**', 10, 19) -> ('1,234', 12, 17)."""
    while match := _WRAP.fullmatch(text):
        k = len(match.group(1))
        text, start, end = match.group(2), start + k, end - k
    return text, start, end


def _plain(text: str) -> str:
    """A label or header as it reads: '**Total** &nbsp;' -> 'Total'; 'A \\| B' -> 'A | B'."""
    text = " ".join(_NBSP.sub(" ", text).replace("\\|", "|").split())
    return _inside(text, 0, len(text))[0]


def _above(lines: Sequence[tuple[int, str, bool]], k: int, count: int = 2) -> list[str]:
    """Up to `count` non-blank lines from lines[k] upwards, nearest first, each past at most one blank line;
    they stop at code, a table row or the top of the file."""
    out: list[str] = []
    while len(out) < count:
        if k >= 0 and not lines[k][1].strip():
            k -= 1
        if k < 0 or lines[k][2] or not lines[k][1].strip() or _table_line(lines[k][1]):
            break
        out.append(lines[k][1].strip())
        k -= 1
    return out


def _caption(lines: Sequence[tuple[int, str, bool]], top: int, end: int) -> str:
    """The table's caption: a line just above it that names a table ('Table 2: Net sales (in millions)') or is
    all emphasis ('*Net sales by segment*'), or a Pandoc caption just below it ('Table: Net sales')."""
    above = _above(lines, top - 1, 1)
    if above and len(above[0].split()) <= 25 and _CAPTION.match(above[0]):
        return _plain(above[0].lstrip("#").strip())
    k = end + (end < len(lines) and not lines[end][1].strip())
    below = lines[k][1] if k < len(lines) and not lines[k][2] else ""
    return _plain(below.split(":", 1)[1]) if _BELOW.match(below) else ""


def _introduction(lines: Sequence[tuple[int, str, bool]], top: int) -> str:
    """What leads into the table and may state its scale: the last sentence of each of the two lines above
    it ('Net sales were as follows (in millions):' above a caption line)."""
    return " ".join(_SENTENCE.split(line)[-1] for line in reversed(_above(lines, top - 1)))
