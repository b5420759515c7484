"""What every loader shares: the error it raises, the shape it returns, and block assembly.

A loader turns a file's bytes into the text later offsets point into. Formats rebuilt from
structure (PDF pages, HTML and DOCX blocks) join their blocks with a blank line and record
where pages, headings and tables start as the text is assembled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rag.load.table import shift
from rag.types import PageLine, Section, Table

SEP = "\n\n"
PageProgress = Callable[[int, int], None]  # (pages done, pages in the file)


@dataclass
class Loaded:
    """What a loader read: the text offsets point into, and what is known about its layout."""

    text: str
    title: str | None = None
    page_starts: list[int] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    lines: list[PageLine] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class LoadError(Exception):
    """A file that cannot become a Document, phrased for the person who owns the file.

    Callers print `str(error)` and move on to the next file, so the message names the
    file and says what is wrong with it: "notes/scan.pdf: no extractable text".
    """

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


def assemble(blocks: Iterable[tuple[str, bool]]) -> tuple[str, list[Section]]:
    """Join non-empty blocks with a blank line; headings become Sections at their offset.

    [("Intro", True), ("", False), ("Body.", False)] -> ("Intro\\n\\nBody.", [(0, "Intro")])
    """
    text, sections, _ = assemble_tables((text, heading, None) for text, heading in blocks)
    return text, sections


def assemble_tables(blocks: Iterable[tuple[str, bool, Table | None]]) -> tuple[str, list[Section], list[Table]]:
    """`assemble`, with tables: a block that is a table carries its Table, offsets relative to the block's
    text, and gets it back shifted to where the block lands.

    [("Intro", True, None), ("a | 1", False, Table(0, 5, ...))]
        -> ("Intro\\n\\na | 1", [(0, "Intro")], [Table(7, 12, ...)])
    """
    texts: list[str] = []
    sections: list[Section] = []
    tables: list[Table] = []
    offset = 0
    for text, heading, table in blocks:
        if text:
            if heading:
                sections.append(Section(offset, text))
            if table is not None:
                tables.append(shift(table, offset))
            texts.append(text)
            offset += len(text) + len(SEP)
    return SEP.join(texts), sections, tables
