"""What every loader shares: the error it raises, the shape it returns, and block assembly.

A loader turns a file's bytes into the text later offsets point into. Formats rebuilt from
structure (PDF pages, HTML and DOCX blocks) join their blocks with a blank line and record
where pages and headings start as the text is assembled.
"""

from __future__ import annotations

from collections.abc import Iterable

from rag.types import Section

SEP = "\n\n"
Loaded = tuple[str, str | None, list[int], list[Section]]  # text, title, page_starts, sections


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
    texts: list[str] = []
    sections: list[Section] = []
    offset = 0
    for text, heading in blocks:
        if text:
            if heading:
                sections.append(Section(offset, text))
            texts.append(text)
            offset += len(text) + len(SEP)
    return SEP.join(texts), sections
