"""DOCX: paragraphs and table rows in body order; Heading and Title styles become sections."""

from __future__ import annotations

import io

import docx
from docx.text.paragraph import Paragraph

from rag.load.base import Loaded, LoadError, assemble


def load_docx(data: bytes, source: str) -> Loaded:
    """Paragraphs and table rows ('cell | cell') in body order; Heading*/Title styles are sections."""
    try:
        document = docx.Document(io.BytesIO(data))
        content = list(document.iter_inner_content())
        core_title = (document.core_properties.title or "").strip()
    except Exception as error:  # not a zip, or a zip without the Word parts
        raise LoadError(source, f"could not be read as DOCX: {error}") from error
    blocks: list[tuple[str, bool]] = []  # (block text, is a heading)
    for item in content:
        if isinstance(item, Paragraph):
            style = item.style.name if item.style is not None else None
            blocks.append((item.text.strip(), (style or "").startswith(("Heading", "Title"))))
            continue
        for row in item.rows:
            # python-docx repeats a merged cell once per grid column it spans.
            texts = (" ".join(cell.text.split()) for cell in {cell._tc: cell for cell in row.cells}.values())
            blocks.append((" | ".join(text for text in texts if text), False))
    text, sections = assemble(blocks)
    return Loaded(text, core_title or (sections[0].title if sections else None), sections=sections)
