"""A PDF citation drawn on its page: the quote's offsets lead back to the right glyphs.

The PDFs are made here with fpdf2, so where each line sits on the page is known; the rendered
PNG is then read back and the highlight (the only yellow on the page) must lie over the quoted
line and nowhere else.
"""

from __future__ import annotations

import io
from pathlib import Path

from fpdf import FPDF
from PIL import Image

from rag.load.corpus import load_document
from rag.load.pdf.render import char_at, render_quote
from rag.types import PageLine

SCALE = 1.4
LINES = ["Revenue rose nine percent in fiscal 2022.", "Operating margin narrowed to eleven percent.",
         "Capital spending reached one billion dollars."]


def three_line_pdf(pages: int = 1) -> bytes:
    """Letter pages with three lines set at y = 100, 200, 300 points from the top, left edge 72."""
    pdf = FPDF(unit="pt", format="letter")
    pdf.set_font("Helvetica", size=14)
    for number in range(1, pages + 1):
        pdf.add_page()
        for i, text in enumerate(LINES):
            pdf.text(72, 100 * (i + 1), f"{text} Page {number}.")
    return bytes(pdf.output())


def yellow_box(png: bytes) -> tuple[int, int, int, int] | None:
    """The bounding box, in pixels, of the highlight: warm pixels with little blue, never black text on white."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = image.size
    pixels = image.load()
    hits = [(x, y) for y in range(0, height, 2) for x in range(0, width, 2)
            if (p := pixels[x, y])[0] > 180 and p[1] > 140 and p[2] < 150]
    if not hits:
        return None
    xs, ys = [x for x, _ in hits], [y for _, y in hits]
    return min(xs), min(ys), max(xs), max(ys)


def test_char_at_maps_offsets_proportionally_and_clips() -> None:
    line = PageLine(page=1, start=10, end=20, first_char=100, last_char=109)
    assert [char_at(line, o) for o in (10, 15, 19, 30, 0)] == [100, 105, 109, 109, 100]


def test_the_quote_is_highlighted_over_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "r.pdf"
    path.write_bytes(three_line_pdf(pages=2))
    doc = load_document(path, tmp_path)
    quote = "Operating margin narrowed to eleven percent."
    start = doc.text.index(quote, doc.page_starts[1])  # the copy on page 2

    shown = render_quote(path, doc.lines, start, start + len(quote), scale=SCALE)

    assert shown is not None
    page, png = shown
    assert page == 2 and png[:8] == b"\x89PNG\r\n\x1a\n"
    box = yellow_box(png)
    assert box is not None
    x0, y0, x1, y1 = (v / SCALE for v in box)  # back to points from the page's top-left corner
    # The line's baseline is 200 pt from the top; 14 pt type rises about 10 pt above it.
    assert 180 < y0 < 200 < y1 < 210
    assert 65 < x0 < 80 and x1 > 300  # from the left margin across the quoted words
    # The neighbouring lines, 100 pt above and below, are not marked.
    assert y1 - y0 < 40


def test_a_short_quote_marks_only_its_words(tmp_path: Path) -> None:
    path = tmp_path / "r.pdf"
    path.write_bytes(three_line_pdf())
    doc = load_document(path, tmp_path)
    line = "Capital spending reached one billion dollars."
    quote = "one billion dollars"
    start = doc.text.index(line) + line.index(quote)
    whole = yellow_box(render_quote(path, doc.lines, doc.text.index(line), doc.text.index(line) + len(line))[1])
    part = yellow_box(render_quote(path, doc.lines, start, start + len(quote))[1])
    assert whole is not None and part is not None
    assert part[0] > whole[0] + 50 and abs(part[2] - whole[2]) < 15  # starts mid-line, ends where the line ends


def test_no_picture_without_lines_or_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "r.pdf"
    path.write_bytes(three_line_pdf())
    doc = load_document(path, tmp_path)
    assert render_quote(path, [], 0, 10) is None  # a text file's document has no line positions
    assert render_quote(path, doc.lines, len(doc.text) + 5, len(doc.text) + 9) is None  # past the text
    path.write_bytes(b"%PDF-1.4 this is no longer a PDF")
    assert render_quote(path, doc.lines, 0, 10) is None  # changed under the index: no picture, no error
    path.unlink()
    assert render_quote(path, doc.lines, 0, 10) is None
