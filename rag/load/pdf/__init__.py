"""PDF: text read with PDFium, laid out into paragraphs, table rows and sections.

See `extract` (PDFium -> positioned lines), `layout` (lines -> text, tables, headings,
running headers left out), `tables` (a table's rows, figures, columns and parents), `columns`
(figures of rows with gaps placed by position) and `render`
(a page image with a quote highlighted). Scanned pages (no text layer), images and charts are not read.
"""

from __future__ import annotations

from dataclasses import replace

from rag.load.base import Loaded, LoadError, PageProgress
from rag.load.pdf.columns import place_columns
from rag.load.pdf.extract import open_pdf, pages, title_of
from rag.load.pdf.layout import layout

__all__ = ["load_pdf"]


def load_pdf(data: bytes, source: str, progress: PageProgress | None = None) -> Loaded:
    """The document's text with page starts, sections and tables.

    A page PDFium cannot read is reported in `warnings` (file and page) and left out; the
    rest of the document is still indexed.
    """
    pdf = open_pdf(data, source)
    try:
        try:
            title = title_of(pdf)
            read = list(pages(pdf, progress))
        except Exception as error:  # a damaged file fails in many ways deep inside PDFium
            raise LoadError(source, f"could not be read as PDF: {error}") from error
        laid = layout(read)
        # Figures of rows with gaps, placed by where they sit on the page while the file is open.
        laid = replace(laid, tables=place_columns(pdf, laid.text, laid.tables, laid.lines))
    finally:
        pdf.close()
    return Loaded(laid.text, title, laid.page_starts, laid.sections, laid.tables, laid.lines,
                  warnings=laid.warnings)
