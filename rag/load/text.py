"""Plain text and Markdown: kept exactly as decoded, so a quote's offsets are the file's own characters."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

from rag.load.base import Loaded, LoadError
from rag.types import Section

_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")
_ATX = re.compile(r" {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")
# A whole line in bold is how chat exports and notes write headings: "**Risks**", and
# also "1. **Risks**:", since a numbered bold line plays the same role there.
_BOLD = re.compile(r" {0,3}(?:\d{1,3}[.)][ \t]+)?(?:\*\*([^*]+)\*\*|__([^_]+)__):?[ \t]*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_BULLET = re.compile(r"[-*+•◦▪‣·–—][ \t]")


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


def load_markdown(data: bytes, source: str) -> Loaded:
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
    return Loaded(text, sections[0].title if sections else None, sections=sections)


def load_plain(data: bytes, source: str) -> Loaded:
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
    return Loaded(text, title, sections=sections)
