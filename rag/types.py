"""Typed records that flow one way through the pipeline.

load -> Document -> chunk -> Chunk -> index -> Hit -> answer -> Answer (with Citations).
Every record carries its provenance (source path relative to the corpus root and exact
character offsets into the loaded document text), so that any quote shown to a user can
be checked against the document it claims to come from.
"""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal


@dataclass(frozen=True)
class Section:
    """A heading and the character offset where its section starts."""

    start: int
    title: str


@dataclass(frozen=True)
class Cell:
    """One value of a table row: as printed ("$ (1,577)", "12.5%", "Director") and where it sits in
    the loaded text (`text[start:end] == cell.text`), under column `column` of its table, on `page`."""

    text: str
    start: int
    end: int
    column: int
    page: int | None = None


@dataclass(frozen=True)
class TableRow:
    """A row: its label, the labels of the rows it sits under ("Capital expenditures" over an
    indented "Total"), the span of its line in the loaded text, and its value cells."""

    label: str
    start: int
    end: int
    cells: tuple[Cell, ...] = ()
    parents: tuple[str, ...] = ()

    def name(self) -> str:
        """'Capital expenditures, Total': the label under its parents, as a reader names the row."""
        return ", ".join([*self.parents, self.label])

    def cell(self, column: int) -> Cell | None:
        return next((c for c in self.cells if c.column == column), None)


@dataclass(frozen=True)
class Table:
    """A table's span of the text, its caption, and what a reader needs to name each figure.

    The caption (title and column headers) is what every chunk cut from the table carries, since
    a row's figures mean nothing without them. `columns[i]` is the merged header of value column i
    ("Years ended December 31 2022": several header rows joined top to bottom), `header` the
    span of the header lines in the text (shown above any row quoted from the table), `scale`
    the multiplier its figures are stated in ("thousand", "million", "billion" or "") and `unit`
    the currency or "%" it states for all of them.
    """

    start: int
    end: int
    caption: str
    title: str = ""
    columns: tuple[str, ...] = ()
    rows: tuple[TableRow, ...] = ()
    scale: str = ""
    unit: str = ""
    header: tuple[int, int] | None = None

    def header_line(self) -> str:
        """'2019 | 2018 | 2017': the column headers as one line, for showing above a quoted row."""
        return " | ".join(self.columns)

    def rows_between(self, start: int, end: int) -> tuple[TableRow, ...]:
        """The rows whose line lies inside [start, end): those a chunk or a quote holds."""
        return tuple(r for r in self.rows if r.start >= start and r.end <= end)

    def within(self, start: int, end: int) -> Table:
        """This table as a chunk spanning [start, end) holds it: the same headers, only its rows."""
        return replace(self, rows=self.rows_between(start, end))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Table:
        """The inverse of `to_json` (tuples from JSON lists, rows and cells from objects)."""
        rows = tuple(TableRow(r["label"], r["start"], r["end"], tuple(Cell(**c) for c in r.get("cells", ())),
                              tuple(r.get("parents", ()))) for r in data.get("rows", ()))
        header = data.get("header")
        return cls(data["start"], data["end"], data.get("caption", ""), data.get("title", ""),
                   tuple(data.get("columns", ())), rows, data.get("scale", ""), data.get("unit", ""),
                   tuple(header) if header else None)  # type: ignore[arg-type]


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
    """What a document is, as the domain pack that recognised it read it from the document's own text:
    3M Company · 10-K · FY2018 (`pack` names the pack; see rag/packs)."""

    title: str | None = None
    company: str | None = None
    ticker: str | None = None
    form: str | None = None
    period: str | None = None
    pack: str | None = None

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
    # The structure of the tables the chunk holds (only their rows inside it): what the reader reads.
    tables: tuple[Table, ...] = ()

    @property
    def indexed_text(self) -> str:
        """What is embedded and BM25-indexed: the context, then the quotable text."""
        return f"{self.context}\n{self.text}" if self.context else self.text

    def quote(self, start: int, end: int) -> str:
        """The document's text [start, end) (document offsets) as this chunk holds it: a sentence or a row."""
        return self.text[start - self.start : end - self.start]

    def to_json(self) -> dict[str, Any]:
        """A JSON object of plain values; `tables` only when there are any, so table-less chunks read as before."""
        out = {k: v for k, v in asdict(self).items() if k != "tables"}
        if self.tables:
            out["tables"] = [t.to_json() for t in self.tables]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Chunk:
        tables = tuple(Table.from_json(t) for t in data.get("tables") or ())
        return cls(**{k: v for k, v in data.items() if k != "tables"}, tables=tables)


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
    # The store's handle for the chunk (`Index.chunk`), when it came from a store: its neighbours are found by it.
    key: int | None = None


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
    # The column headers of the table the quote is a row of ("2022 | 2021 | 2020"), shown above it.
    header: str | None = None


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
class ShortAnswer:
    """The answer in a few words, above the quotes: a cell with its labels, a span, a list of spans,
    a count, the item a comparison picks, or one computed step over cited cells.

    `text` is what is shown ("$1,222 million (Capital expenditures, Total, 2022)"); `value` the
    answer alone ("$1,222 million"), which evaluation scores; every part of it is a cited cell or
    span, or `derivation` over them ("(44.1 - 56.7) / 56.7 = -22.22%").
    """

    text: str
    value: str
    kind: Literal["cell", "span", "spans", "count", "compare", "computed"]
    citations: tuple[int, ...] = ()
    row: str | None = None
    column: str | None = None
    unit: str = ""
    scale: str = ""
    derivation: str | None = None
    items: tuple[str, ...] = ()
    source: str | None = None
    page: int | None = None


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
    # The answer in a few words, read from the cited cells and spans; None for an explanation or no answer.
    short: ShortAnswer | None = None
