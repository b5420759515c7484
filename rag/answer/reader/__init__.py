"""The reader: the short answer a document gives, named by where it stands.

The sentence-picker finds passages by the words they share with a question; it does not read a table.
The reader does (`table`): a cell with its row, its column and its unit, one step computed over cells,
the period a comparison picks, a count; a figure a sentence of prose states (`prose`) when the
question asks for an amount the tables do not hold; and what a sentence says a thing is or includes
(`span`) when the question asks that. It declines when nothing surely answers: a wrong
cell, stated with confidence and a citation, is worse than no short answer at all.

Pure functions over `Hit`s: every value it states is a cell's text, a span of a sentence, a column
header, or a derivation over cells, and it says which spans it read so they can be cited.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from rag.answer.asked import asked
from rag.answer.calculation import asked_calculation
from rag.answer.reader.base import Read
from rag.answer.reader.caption import read_caption
from rag.answer.reader.prose import held, read_prose
from rag.answer.reader.rows import row_match
from rag.answer.reader.span import read_span
from rag.answer.reader.statements import read_statements
from rag.answer.reader.table import read_tables
from rag.packs import NO_LEXICON, Lexicon
from rag.types import Answer, Chunk, Citation, Hit, ShortAnswer

__all__ = ["Read", "attach_short", "header_of", "read", "row_match", "with_short"]


def read(question: str, hits: Sequence[Hit], lexicon: Lexicon = NO_LEXICON) -> Read | None:
    """The short answer the retrieved passages give to the question, or None when none surely does: a
    table's when one holds the line item asked for (unless a sentence stating a figure of it holds more of the
    line item than the cell's row, column and title do), else a figure a sentence states, else the span a
    sentence says of the thing asked about; what a table shows, for a question about the table itself; none for
    a "why".
    `lexicon` is what the domain packs the documents switched on know of the question's words."""
    ask = asked(question)
    if ask.why:
        return None
    caption = read_caption(question, hits)
    if caption is not None:
        return caption
    metric = asked_calculation(question)
    if metric is not None and metric.operator != "change":
        # A metric the question defines or names is computed from its operands' rows, or not at all: the
        # table reader's own steps would compute something else.
        return read_statements(question, hits, lexicon)
    if ask.operation == "percent_of" and ask.pair is None:
        # "What was the percentage of gross margin in 2018?": no two sides to divide; a percentage the table
        # or a sentence states of the line item is the one asked.
        stated = dataclasses.replace(ask, operation="lookup")
        for found in (read_tables(stated, question, hits), read_prose(stated, question, hits)):
            if found is not None and found.kind in ("cell", "span") and found.value.rstrip(" )").endswith("%"):
                return found
    table = read_tables(ask, question, hits)
    if table is not None and (table.kind == "cell" or ask.operation in ("change", "percent_change")):
        # A cell (or a change computed over cells) whose row, column and title hold less of the line item asked
        # than a sentence that states a figure of it: the sentence names it ("the depreciation amount" is not
        # "Accumulated depreciation").
        prose = read_prose(ask, question, hits)
        item = set(ask.item)
        if prose is not None and held(item, _sentence(prose, hits)) > held(item, _cell_words(table)):
            return prose
    return (table or read_statements(question, hits, lexicon)
            or read_prose(ask, question, hits) or read_span(ask, question, hits))


def _sentence(found: Read, hits: Sequence[Hit]) -> str:
    return " ".join(hits[i].chunk.quote(a, b) for i, a, b in found.sentences)


def _cell_words(found: Read) -> str:
    table = found.table
    return " ".join(p for p in (found.row, found.column, table.title if table else "") if p)


def header_of(chunk: Chunk, start: int, end: int) -> str | None:
    """The column headers of the table whose row [start, end) is, as one line ('2019 | 2018 | 2017'), shown
    above a quoted row so its figures can be told apart; None for a quote that is not a table row."""
    for table in chunk.tables:
        if any(r.start <= start and end <= r.end for r in table.rows) and any(table.columns):
            return table.header_line()
    return None


def with_short(answer: Answer, found: Read) -> Answer:
    """The answer with the reader's short answer, cited at the citations that quote the spans it read."""
    if answer.abstained:
        return answer
    spans = {(start, end) for _, start, end in found.cited()}
    cited = tuple(c.id for c in answer.citations if (c.start, c.end) in spans)
    if not cited:
        return answer  # what the answer cannot cite, it does not state
    first = next(c for c in answer.citations if c.id == cited[0])
    unit, scale = (found.table.unit, found.table.scale) if found.table is not None else ("", "")
    short = ShortAnswer(found.label(), found.value, found.kind, cited, found.row, found.column,  # type: ignore[arg-type]
                        unit, scale, found.derivation, found.items, first.source, first.page)
    return dataclasses.replace(answer, short=short)


def attach_short(answer: Answer, question: str, hits: Sequence[Hit], lexicon: Lexicon = NO_LEXICON) -> Answer:
    """A generated answer with the reader's short answer over the same passages, its rows cited after the
    answer's own citations: the figure a table gives, stated beside what the model wrote, so a reader can
    hold one against the other."""
    if answer.abstained or answer.short is not None:
        return answer
    found = read(question, hits, lexicon)
    if found is None:
        return answer
    citations = list(answer.citations)
    for i, start, end in found.cited():
        chunk = hits[i].chunk
        if not any((c.source, c.start, c.end) == (chunk.source, start, end) for c in citations):
            quote = chunk.quote(start, end)
            citations.append(Citation(len(citations) + 1, chunk.source, chunk.page, start, end, quote,
                                      chunk.section, header_of(chunk, start, end)))
    return with_short(dataclasses.replace(answer, citations=tuple(citations)), found)
