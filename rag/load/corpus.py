"""Corpus -> files -> Document: which files are loaded, and the loader each format goes to.

Every loader returns the text that later offsets point into, so the rules here decide what a
citation can quote. Plain text and Markdown are kept exactly as decoded (never normalised), so
a quote's offsets are the file's own characters; other formats are rebuilt as blocks separated
by a blank line, with page and heading offsets recorded as the text is assembled.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from rag.load.base import Loaded, LoadError, PageProgress
from rag.load.docx import load_docx
from rag.load.html import load_html
from rag.load.pdf import load_pdf
from rag.load.table import scaled_by_prose
from rag.load.text import load_markdown, load_plain
from rag.types import Cell, Document

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".txt", ".md", ".markdown", ".pdf", ".html", ".htm", ".docx"})

__all__ = ["SUPPORTED_SUFFIXES", "LoadError", "list_corpus", "load_document", "printable"]


def list_corpus(root: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files to load under `root` (sorted), and the ones left out with the reason why.

    Skips are returned rather than dropped so a user can see why a file they expected to be
    searchable is not. Hidden entries (".git", ".DS_Store") are ignored silently: no one expects
    them indexed. Symlinks may not lead out of the corpus, so an index never quotes a file the
    user did not put there.
    """
    if not root.is_dir():
        raise LoadError(str(root), "corpus folder not found")
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []

    def skip(path: Path, reason: str) -> None:
        skipped.append((printable(path.relative_to(root).as_posix()), reason))

    def unreadable(error: OSError) -> None:
        skip(Path(str(error.filename)), f"could not be read: {error.strerror}")

    for folder, dirnames, filenames in os.walk(root, onerror=unreadable):
        here = Path(folder)
        for name in list(dirnames):
            if name.startswith(".") or (here / name).is_symlink():
                dirnames.remove(name)
                if not name.startswith("."):
                    skip(here / name, "symlink to a folder (not followed)")
        for name in filenames:
            path = here / name
            if name.startswith("."):
                continue
            if path.is_symlink() and not _inside(path, root):
                skip(path, "symlink loop or broken link" if _dangling(path) else "symlink points outside the corpus")
            elif not path.is_file():
                skip(path, "broken link" if path.is_symlink() else "not a regular file")
            elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
                skip(path, _unsupported(path))
            else:
                files.append(path)
    files.sort(key=lambda path: path.relative_to(root).parts)
    skipped.sort(key=lambda item: Path(item[0]).parts)
    return files, skipped


def load_document(path: Path, root: Path, progress: PageProgress | None = None) -> Document:
    """Read one file into the Document that chunk and citation offsets will point into.

    `progress` hears (pages done, pages) while a PDF loads, so a 500-page filing shows movement.
    """
    try:  # absolute() on both, so "corpus" and "/work/corpus/a.md" still relate
        source = path.absolute().relative_to(root.absolute()).as_posix()
    except ValueError:
        raise LoadError(str(path), f"is not inside the corpus folder {root}") from None
    if ".." in source.split("/") or not _inside(path, root):  # "../x" or a link that leads out
        raise LoadError(printable(source), f"is not inside the corpus folder {root}")
    if not _utf8(source):  # the source is written to JSON and shown in the UI
        raise LoadError(printable(source), "file name is not valid UTF-8 (rename the file)")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(source, _unsupported(path))
    try:
        data = path.read_bytes()
    except OSError as error:
        raise LoadError(source, f"could not be read: {error.strerror}") from error
    if not data:
        raise LoadError(source, "empty file")
    loaded = load_pdf(data, source, progress) if suffix == ".pdf" else _LOADERS[suffix](data, source)
    if not loaded.text.strip():
        raise LoadError(source, "no extractable text" + (" (scanned PDF?)" if suffix == ".pdf" else ""))
    digest = hashlib.sha256(data).hexdigest()
    return _paged(Document(
        source=source, text=loaded.text, sha256=digest, title=loaded.title, page_starts=tuple(loaded.page_starts),
        sections=tuple(loaded.sections), tables=tuple(scaled_by_prose(loaded.text, loaded.tables)),
        lines=tuple(loaded.lines), warnings=tuple(loaded.warnings),
    ))


def _paged(document: Document) -> Document:
    """Every table cell with the page it is printed on, where its loader left that unset, so a cited
    figure names its page; page-less formats (Markdown, DOCX, HTML) keep None."""
    if not document.page_starts:
        return document

    def page(cell: Cell) -> Cell:
        return cell if cell.page is not None else replace(cell, page=document.page_at(cell.start))

    tables = tuple(replace(table, rows=tuple(replace(row, cells=tuple(map(page, row.cells))) for row in table.rows))
                   for table in document.tables)
    return replace(document, tables=tables)


def _inside(path: Path, root: Path) -> bool:
    """True when `path`, links followed, is `root` or below it; False for a symlink loop."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # Python 3.11 raises RuntimeError on a symlink loop
        return False


def _dangling(path: Path) -> bool:
    try:
        return not path.exists()
    except OSError:  # ELOOP
        return True


def _utf8(name: str) -> bool:
    """False for names the OS decoded with surrogate escapes (bytes that are not UTF-8)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(name: str) -> str:
    r"""A path as text that can be printed and written as UTF-8: 'caf\udce9.txt' -> 'caf\xe9.txt'."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _unsupported(path: Path) -> str:
    return f"unsupported file type '{path.suffix.lower()}'" if path.suffix else "unsupported file type (no extension)"


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks: the identity of a document version."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_LOADERS: dict[str, Callable[[bytes, str], Loaded]] = {
    ".txt": load_plain,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".html": load_html,
    ".htm": load_html,
    ".docx": load_docx,
}
