"""PDF: the text layer of each page, pages joined by a blank line."""

from __future__ import annotations

import io
import itertools

import pypdf

from rag.load.base import SEP, Loaded, LoadError


def load_pdf(data: bytes, source: str) -> Loaded:
    """Pages joined by a blank line, with page_starts mapping any offset to its page.

    No sections: PDFs carry no heading markup (bookmarks point at pages, not text).
    """
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        # Many PDFs are "encrypted" only to restrict printing, with an empty password.
        locked = reader.is_encrypted and not reader.decrypt("")
        pages = [] if locked else [page.extract_text() or "" for page in reader.pages]
        title = "" if locked or not reader.metadata else (reader.metadata.title or "").strip()
    except pypdf.errors.DependencyError as error:  # AES needs the cryptography package
        raise LoadError(source, f"encrypted PDF ({error})") from error
    except Exception as error:  # a damaged file fails in many ways deep inside pypdf
        raise LoadError(source, f"could not be read as PDF: {error}") from error
    if locked:
        raise LoadError(source, "encrypted PDF")
    ends = itertools.accumulate(len(page) + len(SEP) for page in pages)
    page_starts = [0, *ends][: len(pages)]
    return SEP.join(pages), title or None, page_starts, []
