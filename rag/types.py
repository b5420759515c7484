"""Typed records that flow one way through the pipeline.

load -> Document -> chunk -> Chunk -> index -> Hit -> answer -> Answer (with Citations).
Every record carries its provenance (source path relative to the corpus root and exact
character offsets into the loaded document text), so that any quote shown to a user can
be checked against the document it claims to come from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Section:
    """A heading and the character offset where its section starts."""

    start: int
    title: str


@dataclass(frozen=True)
class Document:
    """A loaded file: its text, and where pages and sections start inside that text.

    `page_starts[i]` is the offset where page i+1 begins (empty for formats without
    pages). For .txt and .md the text is the file's decoded content unchanged, so
    offsets into it are offsets into the file's characters.
    """

    source: str
    text: str
    sha256: str
    title: str | None = None
    page_starts: tuple[int, ...] = ()
    sections: tuple[Section, ...] = ()

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


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the ranks that produced it."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    sparse_rank: int | None = None


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
    # The evidence signals the abstention decision was taken on (coverage, similarity).
    signals: dict[str, float] = field(default_factory=dict)
