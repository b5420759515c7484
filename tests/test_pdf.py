"""The PDF loader on real PDFs: made here with fpdf2, and pages of a public 10-K in tests/data.

What matters downstream: offsets are honest (a chunk is the loaded text at its offsets, on the
right page), running headers never reach a chunk, a statement row stays whole with its
column headers, headings become section paths, and a bad page costs only that page.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pypdf
import pytest
from fpdf import FPDF

from rag.chunk import chunk_document
from rag.embed.hashing import HashingEmbedder
from rag.ingest import ingest
from rag.load.corpus import load_document
from rag.load.pdf.extract import Line, Page
from rag.load.pdf.layout import clean, figures, is_row, layout, running_lines
from rag.packs.finance import PACK
from rag.store.folder.store import FolderStore

DATA = Path(__file__).resolve().parent / "data"
BODY = ("Revenue grew in every segment this year, and the company expects the same next year because "
        "demand for its widgets keeps rising across all regions.")


def words(texts: Sequence[str]) -> list[int]:
    return [len(t.split()) for t in texts]


def report(pages: list[list[tuple[str, str, float]]], header: str | None = None, footer: bool = False) -> bytes:
    """A letter-size PDF; each page a list of (text, style, size) lines set top to bottom.

    A text wider than the page wraps onto further lines, as a paragraph does in a filing.
    """
    pdf = FPDF(unit="pt", format="letter")
    pdf.set_auto_page_break(False)
    pdf.set_margins(72, 72, 72)
    for number, lines in enumerate(pages, 1):
        pdf.add_page()
        if header:
            pdf.set_font("Helvetica", size=8)
            pdf.text(72, 40, header)
        pdf.set_xy(72, 80)
        for text, style, size in lines:
            pdf.set_font("Helvetica", style=style, size=size)
            pdf.multi_cell(468, size * 1.25, text)
            pdf.ln(size * 0.6)
        if footer:
            pdf.set_font("Helvetica", size=9)
            pdf.text(300, 760, str(number))
    return bytes(pdf.output())


def table_pdf(rows: int = 12) -> bytes:
    """A cash-flow statement: title, a header of years, rows of label and three figures."""
    pdf = FPDF(unit="pt", format="letter")
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=12)
    pdf.set_xy(72, 72)
    pdf.cell(468, 16, "Consolidated Statement of Cash Flows", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    pdf.cell(468, 14, "Years ended December 31", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", style="B", size=9)
    for cell, width in (("(Millions)", 288), ("2022", 60), ("2021", 60), ("2020", 60)):
        pdf.cell(width, 14, cell, align="L" if width > 100 else "R")
    pdf.ln(14)
    pdf.set_font("Helvetica", size=9)
    for i in range(rows):
        label = "Purchases of property, plant and equipment (PP&E)" if i == rows // 2 else f"Line item number {i}"
        values = ("(1,749)", "(1,603)", "(1,501)") if i == rows // 2 else (f"{100 + i}", f"({200 + i})", f"{300 + i}")
        pdf.cell(288, 13, label)
        for value in values:
            pdf.cell(60, 13, value, align="R")
        pdf.ln(13)
    return bytes(pdf.output())


def save(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_offsets_round_trip_and_pages_are_right(tmp_path: Path) -> None:
    pages = [[(f"Page {n} opens here. " + BODY, "", 11)] for n in (1, 2, 3)]
    path = save(tmp_path, "r.pdf", report(pages))
    doc = load_document(path, tmp_path)
    chunks = chunk_document(doc, words, max_tokens=20, overlap_tokens=4)
    assert chunks
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        opened = re.findall(r"Page (\d) opens", doc.text[: chunk.start + 1] + "Page 1 opens" * (chunk.start == 0))
        assert chunk.page == int(opened[-1])  # the page whose text the chunk starts in
    for n in (1, 2, 3):
        assert doc.page_at(doc.text.index(f"Page {n} opens")) == n
    # A wrapped paragraph is one line of text, so the chunker sees whole sentences.
    assert "\n" not in doc.text[: doc.page_starts[1]].strip()
    assert not re.search(r"[\x00-\x08\x0b-\x1f]", doc.text)


def test_running_header_and_page_numbers_are_left_out(tmp_path: Path) -> None:
    pages = [[(f"Body of page {n}. " + BODY, "", 11)] for n in range(1, 6)]
    path = save(tmp_path, "h.pdf", report(pages, header="ACME Widgets Inc. | 2023 Annual Report", footer=True))
    doc = load_document(path, tmp_path)
    assert "Annual Report" not in doc.text
    assert not re.search(r"(?m)^\d+$", doc.text)
    for n in range(1, 6):  # pages still map: each page's body starts its page
        assert doc.text[doc.page_starts[n - 1] :].startswith(f"Body of page {n}.")


def test_a_header_on_too_few_pages_is_kept(tmp_path: Path) -> None:
    pages = [[("Quarterly letter to shareholders", "B", 14), (BODY, "", 11)]] + [[(BODY, "", 11)]] * 4
    doc = load_document(save(tmp_path, "l.pdf", report(pages)), tmp_path)
    assert "Quarterly letter to shareholders" in doc.text


def test_table_rows_stay_whole_with_their_column_headers(tmp_path: Path) -> None:
    doc = load_document(save(tmp_path, "cf.pdf", table_pdf(rows=30)), tmp_path)
    row = "Purchases of property, plant and equipment (PP&E) (1,749) (1,603) (1,501)"
    assert row in doc.text.splitlines()
    assert len(doc.tables) == 1
    caption = doc.tables[0].caption
    assert "Consolidated Statement of Cash Flows" in caption and "2022 2021 2020" in caption
    chunks = chunk_document(doc, words, max_tokens=60, overlap_tokens=10)
    in_table = [c for c in chunks if doc.tables[0].start <= c.start < doc.tables[0].end]
    assert len(in_table) >= 3  # the table is cut, so later chunks need the caption
    for chunk in in_table:
        assert chunk.text == doc.text[chunk.start : chunk.end]
        for line in chunk.text.splitlines():  # never cut mid-row
            assert line in doc.text.splitlines()
        assert chunk.context == ("" if chunk.start == doc.tables[0].start else caption)
        assert chunk.section == "Consolidated Statement of Cash Flows"
    holding = next(c for c in chunks if row in c.text)
    assert "2022" in holding.indexed_text and row in holding.indexed_text


def test_headings_become_section_paths(tmp_path: Path) -> None:
    pages = [[
        ("Item 7. Management's Discussion and Analysis", "B", 14), (BODY, "", 11),
        ("Liquidity and Capital Resources", "B", 11), ("Cash on hand was ample. " + BODY, "", 11),
        ("Note 12 - Income Taxes", "B", 12), ("The effective tax rate fell. " + BODY, "", 11),
    ]]
    doc = load_document(save(tmp_path, "k.pdf", report(pages)), tmp_path)
    chunks = chunk_document(doc, words, max_tokens=200, overlap_tokens=0)

    def section(phrase: str) -> str | None:
        return next(c.section for c in chunks if phrase in c.text)

    assert section("Revenue grew") == "Item 7. Management's Discussion and Analysis"
    assert section("Cash on hand") == "Item 7. Management's Discussion and Analysis › Liquidity and Capital Resources"
    # A Note outranks a bold sub-heading: it replaces it rather than nesting under it.
    assert section("effective tax rate") == "Item 7. Management's Discussion and Analysis › Note 12 - Income Taxes"


def _corrupt_page(data: bytes, page: int) -> bytes:
    """The PDF with the content stream of `page` (0-based) overwritten by bytes that do not inflate."""
    ref = pypdf.PdfReader(io.BytesIO(data)).pages[page].get("/Contents").indirect_reference
    at = data.index(b"stream", data.index(f"\n{ref.idnum} 0 obj".encode())) + len(b"stream\n")
    return data[:at] + b"\xff" * 24 + data[at + 24 :]


def test_a_damaged_page_is_reported_and_the_rest_indexed(tmp_path: Path) -> None:
    pages = [[(f"Page {n} says {word}. " + BODY, "", 11)] for n, word in ((1, "alpha"), (2, "bravo"), (3, "charlie"))]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    save(corpus, "d.pdf", _corrupt_page(report(pages), 1))
    doc = load_document(corpus / "d.pdf", corpus)
    assert "alpha" in doc.text and "charlie" in doc.text and "bravo" not in doc.text
    assert any(w.startswith("page 2:") for w in doc.warnings)
    assert doc.page_at(doc.text.index("charlie")) == 3
    result = ingest(corpus, FolderStore(tmp_path / "index"), HashingEmbedder())
    assert result.added == 1 and not result.failed
    assert [w["path"] for w in result.warnings] == ["d.pdf"] and "page 2" in result.warnings[0]["warning"]
    index = FolderStore(tmp_path / "index").open()
    indexed = " ".join(c.text for c in index.chunks_for("d.pdf"))
    assert "alpha" in indexed and "charlie" in indexed and "bravo" not in indexed


def test_progress_is_reported_per_page(tmp_path: Path) -> None:
    path = save(tmp_path, "p.pdf", report([[(BODY, "", 11)]] * 4))
    seen: list[tuple[int, int]] = []
    load_document(path, tmp_path, lambda done, total: seen.append((done, total)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_public_10k_pages(tmp_path: Path) -> None:
    """Five pages of 3M's 2018 10-K: cover, Item 8, and the cash-flow statement (page 4 here, 60 there)."""
    doc = load_document(DATA / "3M_2018_10K_excerpt.pdf", DATA)
    assert doc.profile is None  # a loader reads text; what the document is, is a domain pack's to say
    assert "Table of Contents" not in doc.text  # the running link atop every page
    row = "Purchases of property, plant and equipment (PP&E) (1,577) (1,373) (1,420)"
    assert row in doc.text.splitlines()
    assert doc.page_at(doc.text.index(row)) == 4
    table = doc.table_at(doc.text.index(row))
    assert table is not None and "Consolidated Statement of Cash Flows" in table.caption
    assert "(Millions) 2018 2017 2016" in table.caption
    assert doc.section_at(doc.text.index(row)) == (
        "Item 8. Financial Statements and Supplementary Data › Consolidated Statement of Cash Flows")
    # Every chunk is embedded with what the document is and where the chunk sits in it.
    filing = replace(doc, profile=PACK.recognise(doc))  # as ingest profiles it with the finance pack
    holding = next(c for c in chunk_document(filing, words) if row in c.text)
    assert holding.context.startswith("3M Company · 10-K · FY2018\nItem 8. Financial Statements and Supplementary "
                                      "Data › Consolidated Statement of Cash Flows")
    assert holding.indexed_text.endswith(holding.text) and "FY2018" not in holding.text
    # A label wrapped onto a second line is joined with its figures.
    assert "Proceeds from sale of businesses, net of cash sold 846 1,065 142" in doc.text.splitlines()
    for line in doc.lines:
        assert 0 <= line.start < line.end <= len(doc.text) and line.first_char <= line.last_char


def line(text: str, y: float, x0: float = 72, x1: float = 540, size: float = 10, bold: bool = False,
         page: int = 1) -> Line:
    return Line(page, text, 0, len(text) - 1, x0, y, x1, y + size * 0.7, size, bold)


def test_hyphenation_at_a_line_end_is_joined() -> None:
    lines = [line("The results were signifi-", 700), line("cant this year, and the fourth-", 688),
             line("quarter was strong; see fourth-quarter figures.", 676, x1=400)]
    text = layout([Page(1, 612, 792, lines)]).text
    assert text == ("The results were significant this year, and the fourth-quarter was strong; "
                    "see fourth-quarter figures.")


def test_paragraphs_break_at_gaps_and_bullets() -> None:
    lines = [line("First paragraph ends here.", 700, x1=300), line("Second paragraph starts", 670),
             line("and goes on.", 658, x1=200), line("• A bullet point", 646, x1=200)]
    assert layout([Page(1, 612, 792, lines)]).text == (
        "First paragraph ends here.\nSecond paragraph starts and goes on.\n• A bullet point")


@pytest.mark.parametrize(("raw", "cleaned"), [
    ("Net\x00 sales\u00a0\u00a0up", "Net sales up"),
    ("fourth\ufffequarter", "fourth-quarter"),
    ("  Total\t\t1,234  ", "Total 1,234"),
])
def test_clean(raw: str, cleaned: str) -> None:
    assert clean(raw) == cleaned


@pytest.mark.parametrize(("text", "count", "row"), [
    ("Inventories (509) (387) 57", 3, True),
    ("Net income $ 5,363 $ 4,869 $ 5,058", 3, True),
    ("Operating margin 21.0 % 22.3 %", 2, True),
    ("Other — net 9 (6) (4)", 3, True),
    ("(Millions) 2018 2017 2016", 3, False),  # a header of years, not a row
    ("In 2018 sales grew by 5%", 1, False),
    ("Cash Flows from Operating Activities", 0, False),
])
def test_figures_and_rows(text: str, count: int, row: bool) -> None:
    assert figures(text) == count
    assert is_row(text) is row


def test_running_lines_need_repetition() -> None:
    pages = [Page(n, 612, 792, [line("ACME Corp", 770, page=n), line(f"Body {n}.", 400, page=n),
                                line(str(n), 20, page=n)]) for n in range(1, 7)]
    assert running_lines(pages) == {(p, i) for p in range(6) for i in (0, 2)}
    assert running_lines(pages[:2]) == {(0, 2), (1, 2)}  # a page number is running on any page
