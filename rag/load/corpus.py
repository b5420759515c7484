"""Files -> Document: one loader per format, no chunking.

Every loader returns the text that later offsets point into, so the rules here decide what a
citation can quote. Plain text and Markdown are kept exactly as decoded (never normalised), so
a quote's offsets are the file's own characters; other formats are rebuilt as blocks separated
by a blank line, with page and heading offsets recorded as the text is assembled.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import docx
import pypdf
from bs4 import BeautifulSoup, Tag
from bs4.builder import HTMLTreeBuilder
from bs4.element import NavigableString, PreformattedString
from docx.text.paragraph import Paragraph

from rag.types import Document, Section

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".txt", ".md", ".markdown", ".pdf", ".html", ".htm", ".docx"})

_SEP = "\n\n"
_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")
_SPACES = re.compile(r"\s+")
_ATX = re.compile(r" {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")
# A whole line in bold is how chat exports and notes write headings: "**Risks**", and
# also "1. **Risks**:", since a numbered bold line plays the same role there.
_BOLD = re.compile(r" {0,3}(?:\d{1,3}[.)][ \t]+)?(?:\*\*([^*]+)\*\*|__([^_]+)__):?[ \t]*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_BULLET = re.compile(r"[-*+•◦▪‣·–—][ \t]")


class LoadError(Exception):
    """A file that cannot become a Document, phrased for the person who owns the file.

    Callers print `str(error)` and move on to the next file, so the message names the
    file and says what is wrong with it: "notes/scan.pdf: no extractable text".
    """

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


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


def load_document(path: Path, root: Path) -> Document:
    """Read one file into the Document that chunk and citation offsets will point into."""
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
    text, title, starts, sections = _LOADERS[suffix](data, source)
    if not text.strip():
        raise LoadError(source, "no extractable text" + (" (scanned PDF?)" if suffix == ".pdf" else ""))
    digest = hashlib.sha256(data).hexdigest()
    return Document(
        source=source, text=text, sha256=digest, title=title, page_starts=tuple(starts), sections=tuple(sections)
    )


_Loaded = tuple[str, str | None, list[int], list[Section]]  # text, title, page_starts, sections


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


def _decode(data: bytes, source: str) -> str:
    """Bytes -> str without changing a character, so offsets stay the file's own.

    Only a byte-order mark is removed. Without one, UTF-8 is tried, then cp1252 (what legacy
    Windows editors save), then Latin-1, which accepts any byte. Since Latin-1 accepts
    anything, bytes that are not UTF-8 and decode to many control characters are taken for
    binary content (compressed or encrypted data holds few NUL bytes in a small file).
    """
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if b"\x00" in data and not utf16:
        raise LoadError(source, "not a text file (binary content)")
    for codec in ["utf-16"] if utf16 else ["utf-8-sig", "cp1252", "latin-1"]:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if codec in ("cp1252", "latin-1") and _mostly_controls(text[:65536]):
            raise LoadError(source, "not a text file (binary content, or text in an encoding other than "
                                    "UTF-8, UTF-16 or cp1252: save it as UTF-8)")
        return text
    raise LoadError(source, "not a text file (invalid UTF-16)")


def _mostly_controls(sample: str) -> bool:
    """More than 3% control characters (tab, line breaks and ESC aside): random bytes have ~10%."""
    controls = sum(1 for ch in sample if ch in _CONTROLS)
    return controls > 0.03 * len(sample)


_CONTROLS = frozenset(map(chr, [*range(0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20), *range(0x7F, 0xA0)]))


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """(offset of line start, line without its ending): 'a\\r\\nb' -> (0, 'a'), (3, 'b')."""
    return ((m.start(), m.group(1)) for m in _LINE.finditer(text) if m.group(0))


def _load_markdown(data: bytes, source: str) -> _Loaded:
    """ATX headings and whole-line bold become sections; fenced code never does."""
    text = _decode(data, source)
    sections: list[Section] = []
    fence = ""
    for start, line in _lines(text):
        marker = _FENCE.match(line)
        if marker and (not fence or marker.group(1).startswith(fence)):
            # A fence is closed by a run of the same character at least as long.
            fence = "" if fence else marker.group(1)
            continue
        match = None if fence else _ATX.fullmatch(line) or _BOLD.fullmatch(line)
        title = "".join(g for g in match.groups() if g).strip() if match else ""
        if title:
            sections.append(Section(start, title))
    return text, sections[0].title if sections else None, [], sections


def _load_plain(data: bytes, source: str) -> _Loaded:
    """Headings in plain text are guessed: a short line standing alone between blank lines.

    "Financial Picture: High Growth, High Burn" qualifies; "Strengths:" (a lead-in to a list),
    "- item" (a bullet) and a one-line paragraph ending in "." do not.
    """
    text = _decode(data, source)
    sections: list[Section] = []
    # One pass with one line of look-ahead: a list of every line would hold the file again.
    after_blank = True  # the first line stands alone at its top
    lines = _lines(text)
    current = next(lines, None)
    while current is not None:
        following = next(lines, None)
        start, line = current
        alone = after_blank and following is not None and not following[1].strip()  # end of file: no heading
        after_blank, current = not line.strip(), following
        words = line.split() if alone and len(line.strip()) <= 80 else []
        if not (words and len(words) <= 12):
            continue
        if line.rstrip()[-1] not in ".,;:!?" and not _BULLET.match(line.lstrip()) and any(map(str.isalpha, line)):
            sections.append(Section(start, " ".join(words)))
    title = sections[0].title if sections and sections[0].start == 0 else None
    return text, title, [], sections


def _load_pdf(data: bytes, source: str) -> _Loaded:
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
    ends = itertools.accumulate(len(page) + len(_SEP) for page in pages)
    page_starts = [0, *ends][: len(pages)]
    return _SEP.join(pages), title or None, page_starts, []


_HTML_DROP = ["script", "style", "noscript", "template", "head", "title"]
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# bs4's list of HTML block elements, plus those that also end a line of text.
_HTML_BLOCKS = HTMLTreeBuilder.DEFAULT_BLOCK_ELEMENTS | _HEADINGS | {"br", "td", "th", "tr"}


def _load_html(data: bytes, source: str) -> _Loaded:
    """Block elements become paragraphs, their inline text joined; h1-h6 become sections.

    The walk is iterative, as scraped pages can nest deeper than Python's recursion limit. An
    int on the stack marks the end of a block element (1 for h1-h6, else 0; the page is one).
    """
    soup = BeautifulSoup(data, "html.parser")  # given bytes, it honours <meta charset>
    title_tag = soup.find("title")
    title = " ".join(title_tag.get_text().split()) if title_tag else ""
    for tag in soup.find_all(_HTML_DROP):
        tag.decompose()
    blocks: list[tuple[str, bool]] = []  # (block text, is a heading)
    inline: list[str] = []
    heading = 0
    stack: list[object] = [0, soup]
    while stack:
        node = stack.pop()
        is_block = isinstance(node, Tag) and node.name in _HTML_BLOCKS
        if is_block or isinstance(node, int):
            blocks.append((_SPACES.sub(" ", "".join(inline)).strip(), heading > 0))
            inline.clear()
        if isinstance(node, int):
            heading -= node
        elif isinstance(node, Tag):
            if is_block:
                heading += node.name in _HEADINGS
                stack.append(int(node.name in _HEADINGS))
            stack.extend(reversed(node.contents))
        elif isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
            inline.append(str(node))  # PreformattedString: a comment, doctype or CDATA
    text, sections = _assemble(blocks)
    return text, title or (sections[0].title if sections else None), [], sections


def _load_docx(data: bytes, source: str) -> _Loaded:
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
    text, sections = _assemble(blocks)
    return text, core_title or (sections[0].title if sections else None), [], sections


def _assemble(blocks: Iterable[tuple[str, bool]]) -> tuple[str, list[Section]]:
    """Join non-empty blocks with a blank line; headings become Sections at their offset.

    [("Intro", True), ("", False), ("Body.", False)] -> ("Intro\\n\\nBody.", [(0, "Intro")])
    """
    texts: list[str] = []
    sections: list[Section] = []
    offset = 0
    for text, heading in blocks:
        if text:
            if heading:
                sections.append(Section(offset, text))
            texts.append(text)
            offset += len(text) + len(_SEP)
    return _SEP.join(texts), sections


_LOADERS: dict[str, Callable[[bytes, str], _Loaded]] = {
    ".txt": _load_plain,
    ".md": _load_markdown,
    ".markdown": _load_markdown,
    ".pdf": _load_pdf,
    ".html": _load_html,
    ".htm": _load_html,
    ".docx": _load_docx,
}
