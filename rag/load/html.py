"""HTML: block elements become paragraphs, h1-h6 become sections."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag
from bs4.builder import HTMLTreeBuilder
from bs4.element import NavigableString, PreformattedString

from rag.load.base import Loaded, assemble

_SPACES = re.compile(r"\s+")
_HTML_DROP = ["script", "style", "noscript", "template", "head", "title"]
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# bs4's list of HTML block elements, plus those that also end a line of text.
_HTML_BLOCKS = HTMLTreeBuilder.DEFAULT_BLOCK_ELEMENTS | _HEADINGS | {"br", "td", "th", "tr"}


def load_html(data: bytes, source: str) -> Loaded:
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
    text, sections = assemble(blocks)
    return Loaded(text, title or (sections[0].title if sections else None), sections=sections)
