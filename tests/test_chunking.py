"""Chunking: exact offsets, sentence boundaries, token limits, overlap and sections."""

from __future__ import annotations

import dataclasses
import itertools
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rag.chunk import chunk_document, sentence_spans
from rag.embed.hashing import HashingEmbedder
from rag.types import Cell, Chunk, Document, Section, Table, TableRow

count = HashingEmbedder().count_tokens


def doc_of(text: str, sections: tuple[Section, ...] = ()) -> Document:
    return Document(source="doc.txt", text=text, sha256="0" * 64, sections=sections)


def tokens(text: str) -> int:
    return count([text])[0]


# ---------------------------------------------------------------- sentence_spans

@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("", []),
        ("   \n\n  ", []),
        ("One. Two.", ["One.", "Two."]),
        ("Risks:\n- High debt. Low cash.", ["Risks:", "High debt.", "Low cash."]),
        ("The U.S. Army grew. Costs rose.", ["The U.S. Army grew.", "Costs rose."]),
        ("Tools, e.g. Python, are free. Others cost money.", ["Tools, e.g. Python, are free.", "Others cost money."]),
        ("Guidance is $5.15 billion. It rose.", ["Guidance is $5.15 billion.", "It rose."]),
        ("Growth was 26.6%. Margins fell.", ["Growth was 26.6%.", "Margins fell."]),
        ("It costs $5. $6 is more.", ["It costs $5.", "$6 is more."]),
        ("Dr. Smith arrived. He sat.", ["Dr. Smith arrived.", "He sat."]),
        ("J. Smith wrote it. Fine.", ["J. Smith wrote it.", "Fine."]),
        ("It ended in 2024. 2025 was bigger.", ["It ended in 2024.", "2025 was bigger."]),
        ("the end. and more text", ["the end. and more text"]),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ("Is it? Yes! Really.", ["Is it?", "Yes!", "Really."]),
        ("  • First point\n  • Second point", ["First point", "Second point"]),
        ("- dash item\n* star item\n– en dash item", ["dash item", "star item", "en dash item"]),
        ("1. First item\n2) Second item\na) Third item", ["First item", "Second item", "Third item"]),
        ("Heading\n\nBody text here.", ["Heading", "Body text here."]),
        ("One.\r\nTwo.", ["One.", "Two."]),
        ("  Padded sentence.   ", ["Padded sentence."]),
        ("Café prices rose… Später fiel es.", ["Café prices rose…", "Später fiel es."]),
    ],
)
def test_sentence_spans(text: str, sentences: list[str]) -> None:
    assert [text[a:b] for a, b in sentence_spans(text)] == sentences


# ---------------------------------------------------------------- property: offsets, coverage, limits

_PIECES = st.sampled_from(
    [" ", " ", " ", "\n", "\n\n", "• ", "- ", "* ", "1. ", ". ", "! ", "? ", ", ", "; ", "—", "…", "$5.15",
     "U.S.", "e.g.", "Mr.", '"', "(", ")", "é", "日本語", "Ünïcödé", "\t", "\r\n"]
)
_WORDS = st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N"]), min_size=1, max_size=12)
_TEXT = st.lists(st.one_of(_PIECES, _WORDS, _WORDS), max_size=300).map("".join)
# Document-shaped text: lines of short sentences, some of them bullets or numbered items.
_SENTENCE = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(_WORDS, min_size=1, max_size=6),
    st.sampled_from([".", "!", "?", ":", "", "…", " $5.15.", " U.S."]),
)
_LINE = st.builds(
    lambda marker, sentences: marker + " ".join(sentences),
    st.sampled_from(["", "", "• ", "- ", "* ", "  • ", "1. ", "12) ", "b) "]),
    st.lists(_SENTENCE.map(str.capitalize), min_size=1, max_size=4),
)
_DOC_TEXT = st.lists(_LINE, max_size=25).flatmap(
    lambda lines: st.lists(st.sampled_from(["\n", "\n\n", "\r\n"]), min_size=len(lines), max_size=len(lines)).map(
        lambda breaks: "".join(line + brk for line, brk in zip(lines, breaks, strict=True))
    )
)


def _check_chunks(doc: Document, chunks: list[Chunk], max_tokens: int) -> None:
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
        assert c.text and c.text == c.text.strip()
        size = tokens(c.text)
        if size > max_tokens:  # allowed only for a single word longer than the limit
            words = c.text.split()
            assert len(words) == 1 and tokens(words[0]) > max_tokens, (size, c.text)
    covered = [False] * len(doc.text)
    for c in chunks:
        covered[c.start : c.end] = [True] * (c.end - c.start)
    for a, b in sentence_spans(doc.text):
        missing = [i for i in range(a, b) if not covered[i] and not doc.text[i].isspace()]
        assert not missing, f"sentence {doc.text[a:b]!r} not covered at {missing[:5]}"


@settings(max_examples=300, deadline=None)
@given(text=_DOC_TEXT | _TEXT | st.text(max_size=400), limits=st.sampled_from([(8, 0), (12, 4), (30, 10), (200, 40)]))
@example(text="High debt now\n- Low cash reserves", limits=(6, 0))  # the marker "-" is inside the chunk
def test_chunks_are_exact_spans_that_cover_every_sentence(text: str, limits: tuple[int, int]) -> None:
    max_tokens, overlap = limits
    doc = doc_of(text)
    _check_chunks(doc, chunk_document(doc, count, max_tokens, overlap), max_tokens)


@settings(max_examples=100, deadline=None)
@given(text=_DOC_TEXT | _TEXT, pick=st.integers(min_value=0, max_value=10_000))
def test_property_holds_with_sections(text: str, pick: int) -> None:
    # Loaders put headings at line starts; 0 stands for "one section only".
    line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
    cut = line_starts[pick % len(line_starts)]
    doc = doc_of(text, (Section(0, "First"), Section(cut, "Second")) if cut else (Section(0, "Only"),))
    chunks = chunk_document(doc, count, 16, 6)
    _check_chunks(doc, chunks, 16)
    for c in chunks:
        assert not (c.start < cut < c.end) or cut == 0, "a chunk straddles a section start"
        assert c.section == ("Second" if cut and c.start >= cut else "First" if cut else "Only")


# ---------------------------------------------------------------- packing behaviour

def _sentences(n: int) -> str:
    return " ".join(f"Sentence number {i} has exactly eight tokens here." for i in range(n))


def test_consecutive_chunks_of_one_section_overlap_by_whole_sentences() -> None:
    doc = doc_of(_sentences(12))  # 9 tokens each (8 words + the period)
    chunks = chunk_document(doc, count, max_tokens=30, overlap_tokens=10)
    assert len(chunks) >= 4
    sentence_starts = {a for a, _ in sentence_spans(doc.text)}
    sentence_ends = {b for _, b in sentence_spans(doc.text)}
    for prev, nxt in itertools.pairwise(chunks):
        assert prev.start < nxt.start < prev.end, "the next chunk repeats the tail of the previous one"
        assert nxt.start in sentence_starts and prev.end in sentence_ends
        shared = doc.text[nxt.start : prev.end]
        assert 0 < tokens(shared) <= 10


def test_zero_overlap_means_disjoint_chunks() -> None:
    doc = doc_of(_sentences(12))
    chunks = chunk_document(doc, count, max_tokens=30, overlap_tokens=0)
    assert len(chunks) >= 4
    for prev, nxt in itertools.pairwise(chunks):
        assert prev.end < nxt.start


def test_new_section_starts_new_chunk_without_overlap() -> None:
    first = "Intro sentence one. Intro sentence two.\n\n"
    text = first + "Risks\n\nDebt is high. Cash is low."
    heading = len(first)
    doc = doc_of(text, (Section(0, "Intro"), Section(heading, "Risks")))
    chunks = chunk_document(doc, count, max_tokens=200, overlap_tokens=40)  # everything would fit in one
    assert [c.text for c in chunks] == [
        "Intro sentence one. Intro sentence two.",
        "Risks\n\nDebt is high. Cash is low.",
    ]
    assert [c.section for c in chunks] == ["Intro", "Risks"]
    assert chunks[1].start == heading


def test_long_sentence_is_split_at_word_boundaries() -> None:
    words = [f"word{i}" for i in range(100)]
    text = " ".join(words) + "."
    doc = doc_of(text)
    chunks = chunk_document(doc, count, max_tokens=20, overlap_tokens=5)
    assert len(chunks) >= 5
    assert all(tokens(c.text) <= 20 for c in chunks)
    for c in chunks:  # never cuts inside a word
        assert c.start == 0 or text[c.start - 1] == " "
        assert c.end == len(text) or text[c.end] == " "
    assert " ".join(c.text for c in chunks) == text, "pieces of one sentence do not repeat or drop words"


def test_word_longer_than_the_limit_is_its_own_chunk() -> None:
    giant = "-".join(["x"] * 30)  # one white-space word of 59 hashing tokens
    text = f"Short start. {giant} Short end."
    chunks = chunk_document(doc_of(text), count, max_tokens=10, overlap_tokens=2)
    assert giant in [c.text for c in chunks]
    assert [c.text for c in chunks if c.text != giant] == ["Short start.", "Short end."]


def test_chunk_metadata_comes_from_the_document() -> None:
    text = "Page one text.\n\nPage two text."
    doc = Document("a/b.pdf", text, "f" * 64, page_starts=(0, 16), sections=(Section(0, "Top"),))
    chunks = chunk_document(doc, count, max_tokens=4, overlap_tokens=0)
    assert [(c.text, c.page, c.section, c.source) for c in chunks] == [
        ("Page one text.", 1, "Top", "a/b.pdf"),
        ("Page two text.", 2, "Top", "a/b.pdf"),
    ]
    assert len({c.id for c in chunks}) == 2


def test_chunk_ids_are_stable_and_depend_on_content() -> None:
    a = chunk_document(doc_of(_sentences(6)), count, 30, 10)
    b = chunk_document(doc_of(_sentences(6)), count, 30, 10)
    changed = chunk_document(Document("doc.txt", _sentences(6), "1" * 64), count, 30, 10)
    assert [c.id for c in a] == [c.id for c in b]
    assert not {c.id for c in a} & {c.id for c in changed}


@pytest.mark.parametrize(("max_tokens", "overlap"), [(0, 0), (10, 10), (10, 11), (10, -1)])
def test_invalid_settings_are_rejected(max_tokens: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="overlap"):
        chunk_document(doc_of("Some text."), count, max_tokens, overlap)


def test_empty_document_has_no_chunks() -> None:
    assert chunk_document(doc_of(" \n\t\n"), count) == []


def test_hashing_token_count_is_additive_over_words() -> None:
    """The long-sentence splitter relies on this; the fake must honour it like WordPiece does."""
    text = "Debt, e.g. $5.15 — rose 26.6%!"
    assert tokens(text) == sum(tokens(w) for w in re.findall(r"\S+", text))


# ---------------------------------------------------------------- tables


def _cash_flow_table(before: str) -> tuple[str, Table]:
    """The text of a two-column table after `before`, and its structure as a loader gives it: a header
    line, then rows of cells each at its exact span, on page 2, some under the label row above them."""
    title, header = "Cash flows (in millions of $)", "Item | 2022 | 2021"
    text, rows = f"{before}{title}\n{header}\n", []
    for i in range(12):
        parent = "Capital expenditures:" if i % 4 == 0 else None
        if parent:
            text += parent + "\n"
        label = f"Segment {i} spending rose"
        line_start = len(text)
        text += f"{label} | "
        first = (len(text), f"({1000 + i:,})")
        text += f"{first[1]} | "
        second = (len(text), f"({900 + i:,})")
        text += f"{second[1]}\n"
        cells = tuple(Cell(value, at, at + len(value), column, page=2)
                      for column, (at, value) in enumerate((first, second)))
        rows.append(TableRow(label, line_start, len(text) - 1, cells, ("Capital expenditures",)))
    header_start = len(before) + len(title) + 1
    table = Table(len(before), len(text) - 1, f"{title} {header}", title, ("2022", "2021"), tuple(rows),
                  "million", "$", (header_start, header_start + len(header)))
    return text + "\nAfter the table. It ends here.", table


def test_a_chunk_cut_from_a_table_carries_its_rows_and_the_headers() -> None:
    text, table = _cash_flow_table("Intro text. It comes first.\n\n")
    doc = Document("a.pdf", text, "0" * 64, page_starts=(0,), tables=(table,))
    chunks = chunk_document(doc, count, max_tokens=40, overlap_tokens=8)
    inside = [c for c in chunks if c.start < table.end and table.start < c.end]
    assert len(inside) >= 3, "the table is cut into several chunks"
    for chunk in chunks:
        if chunk not in inside:
            assert chunk.tables == ()
            continue
        [held] = chunk.tables
        assert held.rows == tuple(r for r in table.rows if chunk.start <= r.start and r.end <= chunk.end)
        assert all(doc.text[c.start : c.end] == c.text and c.page == 2 for r in held.rows for c in r.cells)
        # The headers, also in chunks whose text starts below the header line.
        assert dataclasses.replace(held, rows=()) == dataclasses.replace(table, rows=())
    assert any(c.start > table.header[1] and c.tables[0].rows for c in inside)  # type: ignore[index]
    assert {r for c in inside for r in c.tables[0].rows} == set(table.rows), "every row reaches a chunk"


def test_table_structure_changes_nothing_else_about_the_chunks() -> None:
    """Ids, texts, offsets and contexts are those of the same table known only by its span and caption."""
    text, table = _cash_flow_table("Intro text. It comes first.\n\n")
    bare = Table(table.start, table.end, table.caption)
    made = [chunk_document(Document("a.pdf", text, "0" * 64, tables=(t,)), count, 40, 8) for t in (table, bare)]
    structured, plain = ([dataclasses.replace(c, tables=()) for c in chunks] for chunks in made)
    assert structured == plain and len(plain) > 3
