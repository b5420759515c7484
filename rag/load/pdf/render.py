"""A cited PDF passage drawn on its page: the page as an image, the quote marked in yellow.

A quote read as text loses what a reader checks first in a filing: which table, which column,
which footnote it came from. The loader records, for every line of text, the PDFium characters
it was read from (`PageLine`), so the quote's offsets lead back to boxes on the page. This is
the only module outside the loader that opens PDFs, and it never raises on a bad file: a
citation without its picture is still a citation.
"""

from __future__ import annotations

import ctypes
import io
from collections.abc import Sequence
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as raw
from PIL import Image, ImageDraw

from rag.types import PageLine

Box = tuple[float, float, float, float]  # left, bottom, right, top in PDF points

HIGHLIGHT = (255, 214, 0, 110)  # translucent yellow: the printed text stays legible under it
PAD = 1.5  # points around the glyph boxes, so the mark covers ascenders and descenders


def char_at(line: PageLine, offset: int) -> int:
    """The PDFium character index that text offset `offset` of `line` was read from.

    Cleaning removed a few characters, so the two run side by side only roughly; a
    proportional map stays within a character or two. Line(start=10, end=20, chars 100..109):
    15 -> 105; 30 -> 109 (clipped).
    """
    span = line.last_char - line.first_char + 1
    char = line.first_char + round((offset - line.start) * span / max(1, line.end - line.start))
    return min(max(char, line.first_char), line.last_char)


def highlight_boxes(textpage: pdfium.PdfTextPage, lines: Sequence[PageLine], start: int, end: int) -> list[Box]:
    """One box per line of the page's `lines` that overlaps text span [start, end): the union
    of the glyph boxes of the overlapped characters."""
    last = textpage.count_chars() - 1
    boxes: list[Box] = []
    for line in lines:
        if line.end <= start or line.start >= end or last < 0:
            continue
        first = min(char_at(line, max(start, line.start)), last)
        final = min(max(first, char_at(line, min(end, line.end) - 1)), last)
        glyphs = [textpage.get_charbox(i) for i in range(first, final + 1)]
        glyphs = [g for g in glyphs if g[2] > g[0] and g[3] > g[1]]  # spaces PDFium made up have no box
        if glyphs:
            boxes.append((min(g[0] for g in glyphs), min(g[1] for g in glyphs),
                          max(g[2] for g in glyphs), max(g[3] for g in glyphs)))
    return boxes


def render_quote(path: Path, lines: Sequence[PageLine], start: int, end: int,
                 scale: float = 1.4) -> tuple[int, bytes] | None:
    """(page number, PNG) of the page where the quote [start, end) begins, the quote highlighted.

    None when the document has no line positions (not a PDF, or nothing read) or none of its
    lines holds the quote, and when the file cannot be rendered (damaged, changed, gone).
    """
    overlapping = [line for line in lines if line.start < end and line.end > start]
    if not overlapping:
        return None
    number = min(overlapping, key=lambda line: line.start).page
    on_page = [line for line in lines if line.page == number]
    try:
        pdf = pdfium.PdfDocument(path)
    except (pdfium.PdfiumError, OSError):
        return None
    try:
        page = pdf[number - 1]
        try:
            textpage = page.get_textpage()
            try:
                boxes = highlight_boxes(textpage, on_page, start, end)
            finally:
                textpage.close()
            image = page.render(scale=scale).to_pil().convert("RGBA")
            rects = [_to_pixels(page, image.size, box) for box in boxes]
        finally:
            page.close()
    except (pdfium.PdfiumError, IndexError, ValueError):
        return None
    finally:
        pdf.close()
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for rect in rects:
        draw.rectangle(rect, fill=HIGHLIGHT)
    png = io.BytesIO()
    Image.alpha_composite(image, overlay).convert("RGB").save(png, format="PNG", optimize=True)
    return number, png.getvalue()


def _to_pixels(page: pdfium.PdfPage, size: tuple[int, int], box: Box) -> tuple[int, int, int, int]:
    """A box in PDF points (origin bottom-left) as (x0, y0, x1, y1) pixels of the rendered image.

    PDFium maps it, so a page's crop box and /Rotate are honoured as the renderer honoured them.
    """
    left, bottom, right, top = box[0] - PAD, box[1] - PAD, box[2] + PAD, box[3] + PAD
    xs, ys = [], []
    for px, py in ((left, bottom), (right, top)):
        x, y = ctypes.c_int(), ctypes.c_int()
        raw.FPDF_PageToDevice(page, 0, 0, size[0], size[1], 0, px, py, x, y)
        xs.append(x.value)
        ys.append(y.value)
    return min(xs), min(ys), max(xs), max(ys)
