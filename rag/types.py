"""Typed records that flow one way through the pipeline.

load -> Document -> chunk -> Chunk -> index -> Hit -> answer -> Answer (with Citations).
Every record carries its provenance (source path relative to the corpus root and exact
character offsets into the loaded document text), so that any quote shown to a user can
be checked against the document it claims to come from.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Section:
    """A heading and the character offset where its section starts."""

    start: int
    title: str


@dataclass(frozen=True)
class Table:
    """A table's span of the text, and its caption: the title and column headers (the years)
    that every chunk cut from it carries, since a row's figures mean nothing without them."""

    start: int
    end: int
    caption: str


@dataclass(frozen=True)
class PageLine:
    """Where a line of loaded PDF text sits on its page, for drawing a quote on the page image.

    `text[start:end]` was read from the page's characters `first_char..last_char` (pdfium's
    indices, inclusive); the two run side by side up to the few characters cleaning removed.
    """

    page: int  # 1-based
    start: int
    end: int
    first_char: int
    last_char: int


@dataclass(frozen=True)
class Profile:
    """What a document is, read from its first pages and its name: 3M Company · 10-K · FY2018."""

    title: str | None = None
    company: str | None = None
    ticker: str | None = None
    form: str | None = None
    period: str | None = None

    def label(self) -> str:
        """'3M Company · 10-K · FY2018'; the title when nothing else is known."""
        parts = [p for p in (self.company, self.form, self.period) if p]
        return " · ".join(parts) if parts else (self.title or "")


@dataclass(frozen=True)
class Document:
    """A loaded file: its text, and where pages and sections start inside that text.

    `page_starts[i]` is the offset where page i+1 begins (empty for formats without
    pages). Section titles are paths ("Item 8 › Consolidated Statements of Cash Flows").
    For .txt and .md the text is the file's decoded content unchanged, so offsets into it
    are offsets into the file's characters.
    """

    source: str
    text: str
    sha256: str
    title: str | None = None
    page_starts: tuple[int, ...] = ()
    sections: tuple[Section, ...] = ()
    tables: tuple[Table, ...] = ()
    lines: tuple[PageLine, ...] = ()
    profile: Profile | None = None
    # What loading could not read, for the person who owns the file: "page 7: damaged (...)".
    warnings: tuple[str, ...] = ()

    def page_at(self, offset: int) -> int | None:
        """1-based page number holding `offset`, or None for page-less formats."""
        if not self.page_starts:
            return None
        page = 1
        for i, start in enumerate(self.page_starts):
            if start <= offset:
                page = i + 1
            else:
                break
        return page

    def table_at(self, offset: int) -> Table | None:
        """The table whose span holds `offset`, if any (tables are in text order, disjoint)."""
        i = bisect.bisect_right(self.tables, offset, key=lambda table: table.start) - 1
        return self.tables[i] if i >= 0 and offset < self.tables[i].end else None

    def section_at(self, offset: int) -> str | None:
        """Title of the last heading at or before `offset`."""
        title = None
        for section in self.sections:
            if section.start <= offset:
                title = section.title
            else:
                break
        return title


@dataclass(frozen=True)
class Chunk:
    """A contiguous span of a document: `document.text[start:end] == text`."""

    id: str
    source: str
    text: str
    start: int
    end: int
    page: int | None = None
    section: str | None = None
    # Indexed with the text but never quoted: the caption of the table the chunk was cut from.
    context: str = ""

    @property
    def indexed_text(self) -> str:
        """What is embedded and BM25-indexed: the context, then the quotable text."""
        return f"{self.context}\n{self.text}" if self.context else self.text


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the ranks that produced it."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    sparse_rank: int | None = None
    # The question's terms that named this chunk's document when it was routed to ("jnj" for Johnson &
    # Johnson's release): evidence that the passage is about what the question names, though it never says so.
    named: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Citation:
    """A verbatim quote located in a document; `id` is the n of the answer's [n]."""

    id: int
    source: str
    page: int | None
    start: int
    end: int
    quote: str
    section: str | None = None


@dataclass(frozen=True)
class Sentence:
    """One sentence of an answer, with the citations it rests on and its support."""

    text: str
    citations: tuple[int, ...]
    supported: bool
    score: float
    # Each figure it computes and how: '63%: 14.2 / 22.4 = 63.39%'.
    derivations: tuple[str, ...] = ()
    # Why it was not verified: "no citation", "wrong figure" or "unsupported", and the check's words.
    reason: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    abstained: bool
    mode: Literal["extractive", "generative"]
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...]
    sentences: tuple[Sentence, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    note: str | None = None
    # The chat model that wrote a generative answer ("openai:gpt-4o-mini", "local:REPO/FILE").
    model: str | None = None
    # The evidence signals the abstention decision was taken on (coverage, similarity).
    signals: dict[str, float] = field(default_factory=dict)
