"""Sentence-aware, token-aware chunking with exact character offsets.

Chunks are packed from whole sentences and measured in the embedding model's own
tokenizer, so the embedder never silently truncates a chunk. Every chunk is a span of the
document: `doc.text[chunk.start:chunk.end] == chunk.text`, which is what lets a citation
point at the exact characters it quotes.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import re
from collections.abc import Callable, Sequence

from rag.config import CHUNK_OVERLAP, CHUNK_TOKENS
from rag.types import Chunk, Document, Table

TokenCounter = Callable[[Sequence[str]], list[int]]

# A list marker at the start of a line: "•", "-", "*", "1.", "2)", "a)".
_BULLET = re.compile(r"[ \t]*(?:[•·\-*–]|\d{1,3}[.)]|[a-z][)])[ \t]+")
# End of a sentence: terminal punctuation, closing quotes/brackets, then white space.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]*]*\s+")
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st inc corp ltd co vs etc e.g i.e fig no approx est dept "
    "jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k".split()
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text`, list markers and edge space excluded.

    Each line break ends a sentence (bullets and headings are lines of their own).
    'Risks:\\n- High debt. Low cash.' -> [(0, 6), (9, 19), (20, 29)]
    """
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        start, end = line.start(), line.end()
        marker = _BULLET.match(text, start, end)
        if marker:
            start = marker.end()
        cursor = start
        for boundary in _BOUNDARY.finditer(text, start, end):
            if _is_abbreviation(text, cursor, boundary.start()):
                continue
            nxt = boundary.end()
            if nxt < end and not (text[nxt].isupper() or text[nxt].isdigit() or text[nxt] in "\"'“‘([$*"):
                continue
            _append_stripped(text, cursor, boundary.end(), spans)
            cursor = boundary.end()
        _append_stripped(text, cursor, end, spans)
    return spans


def _is_abbreviation(text: str, start: int, dot: int) -> bool:
    """True when the word ending at `dot` is an abbreviation or an initial ('U.S.', 'J.')."""
    word = re.search(r"[\w.]+$", text[start:dot])
    if word is None:
        return False
    token = word.group().lower()
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def _append_stripped(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def _split_long(text: str, span: tuple[int, int], count: TokenCounter, limit: int) -> list[tuple[int, int]]:
    """Cut a sentence longer than `limit` tokens at word boundaries.

    WordPiece-style tokenizers split on white space first, so a span's token count is the
    sum of its words' counts; no piece exceeds `limit` unless a single word does.
    """
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text[span[0] : span[1]])]
    sizes = count([text[span[0] + a : span[0] + b] for a, b in words])
    pieces: list[tuple[int, int]] = []
    piece_start, prev_end, used = words[0][0], words[0][1], 0
    for (a, b), size in zip(words, sizes, strict=True):
        if used and used + size > limit:
            pieces.append((span[0] + piece_start, span[0] + prev_end))
            piece_start, used = a, 0
        used += size
        prev_end = b
    pieces.append((span[0] + piece_start, span[0] + prev_end))
    return pieces


def chunk_document(
    doc: Document, count: TokenCounter, max_tokens: int = CHUNK_TOKENS, overlap_tokens: int = CHUNK_OVERLAP
) -> list[Chunk]:
    """Pack whole sentences into chunks of at most `max_tokens`, repeating trailing
    sentences of up to `overlap_tokens` at the start of the next chunk.

    A new section (heading) always starts a new chunk, so a chunk's section label is true
    for all of its text.
    """
    if max_tokens < 1 or overlap_tokens < 0 or overlap_tokens >= max_tokens:
        raise ValueError("chunk settings need 0 <= overlap < max_tokens")
    spans = _whole_rows(sentence_spans(doc.text), doc)
    if not spans:
        return []
    sizes = count([doc.text[a:b] for a, b in spans])
    units: list[tuple[int, int, int]] = []
    for span, size in zip(spans, sizes, strict=True):
        if size > max_tokens:
            pieces = _split_long(doc.text, span, count, max_tokens)
            units.extend((a, b, s) for (a, b), s in zip(pieces, count([doc.text[a:b] for a, b in pieces]), strict=True))
        else:
            units.append((span[0], span[1], size))
    # A chunk spanning two lines also holds the list marker between them ("\n- ", "\n2. "):
    # charge each unit for the text since the previous one, so markers count toward the limit.
    gaps = count([doc.text[prev[1] : unit[0]] for prev, unit in itertools.pairwise(units)])
    units = units[:1] + [(a, b, s + g) for (a, b, s), g in zip(units[1:], gaps, strict=True)]

    # A new chunk at every heading and at both ends of every table, so a chunk's section and
    # caption are true for all of its text; a table chunk leaves room for its caption, which is
    # embedded with it.
    breaks = sorted({s.start for s in doc.sections} | {t.start for t in doc.tables} | {t.end for t in doc.tables})
    captions = count([t.caption for t in doc.tables])
    room = {t.start: max_tokens - n - 1 for t, n in zip(doc.tables, captions, strict=True)}
    groups: list[list[tuple[int, int, int]]] = []
    current: list[tuple[int, int, int]] = []
    limit = max_tokens
    for unit in units:
        at_break = bool(current) and _any_between(breaks, current[-1][1], unit[0])
        if current and (at_break or sum(u[2] for u in current) + unit[2] > limit):
            groups.append(current)
            current = [] if at_break else _overlap(current, overlap_tokens, limit - unit[2])
        if not current:
            table = doc.table_at(unit[0])
            limit = max(room.get(table.start, max_tokens), max_tokens // 2) if table else max_tokens
        current.append(unit)
    groups.append(current)
    return [_make_chunk(doc, group[0][0], group[-1][1]) for group in groups]


def _whole_rows(spans: list[tuple[int, int]], doc: Document) -> list[tuple[int, int]]:
    """Sentence spans with every line of a table merged into one, so no chunk cuts a row.

    A row such as 'Inc. 2018 (1,577) (1,373)' can look like two sentences to the splitter.
    """
    if not doc.tables:
        return spans
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and doc.table_at(start) is not None and "\n" not in doc.text[merged[-1][1] : start] \
                and doc.table_at(start) == doc.table_at(merged[-1][0]):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _any_between(points: list[int], low: int, high: int) -> bool:
    """Is some point in [low, high]? ([3, 9], 4, 9) -> True. A binary search, as a long
    document has thousands of headings and hundreds of thousands of sentences."""
    i = bisect.bisect_left(points, low)
    return i < len(points) and points[i] <= high


def _overlap(units: list[tuple[int, int, int]], budget: int, room: int) -> list[tuple[int, int, int]]:
    """The trailing units that fit in both the overlap budget and the room left."""
    kept: list[tuple[int, int, int]] = []
    used = 0
    for unit in reversed(units[1:]):
        if used + unit[2] > min(budget, room):
            break
        kept.insert(0, unit)
        used += unit[2]
    return kept


def context_of(doc: Document, start: int, end: int, section: str | None) -> str:
    """What a chunk is embedded and BM25-indexed with, besides its text, and never quoted.

    The document's profile and the chunk's section path tell apart passages that read alike in
    twenty filings ("Purchases of property, plant and equipment (1,577)" is 3M's, FY2018, in
    Item 8 › Consolidated Statement of Cash Flows); a chunk cut from inside a table adds the
    table's caption (the first chunk of a table holds it already).
    -> '3M Company · 10-K · FY2018\nItem 8 › Consolidated Statement of Cash Flows\n(Millions) 2018 2017'
    """
    table = doc.table_at(start)
    # A profile is what a domain pack read from the document's own text (rag.packs): a filing's.
    known = doc.profile is not None
    text = doc.text[start:end]
    # Both only for a filing: in an article, a note or a page, a heading is text like any other, and
    # measured on the shipped articles, embedding it with every chunk changed what was retrieved for the worse.
    parts = [doc.profile.label() if known and doc.profile else "",
             section if known and section and section not in text else "",  # a heading the chunk opens with
             table.caption if table is not None and table.start < start else ""]
    return "\n".join(p for p in parts if p)


def tables_in(doc: Document, start: int, end: int) -> tuple[Table, ...]:
    """The document's tables that [start, end) overlaps, each with only the rows inside the span.

    Each keeps its title, column headers, header span, scale and unit, also when the header lines
    are in an earlier chunk: a chunk cut from the middle of a table is read on its own, and its
    figures mean nothing without them. Tables are in text order and disjoint, so a binary search
    finds the first one; a filing has hundreds of tables and thousands of chunks.
    """
    first = max(bisect.bisect_right(doc.tables, start, key=lambda table: table.start) - 1, 0)
    return tuple(table.within(start, end) for table in itertools.takewhile(
        lambda table: table.start < end, doc.tables[first:]) if table.end > start)


def _make_chunk(doc: Document, start: int, end: int) -> Chunk:
    text = doc.text[start:end]
    digest = hashlib.sha256(f"{doc.source}\0{doc.sha256}\0{start}\0{end}".encode()).hexdigest()
    section = doc.section_at(start)
    return Chunk(
        id=digest[:16],
        source=doc.source,
        text=text,
        start=start,
        end=end,
        page=doc.page_at(start),
        section=section,
        context=context_of(doc, start, end, section),
        tables=tables_in(doc, start, end),
    )
