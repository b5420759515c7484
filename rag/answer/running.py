"""A document's running lines: what it prints on most of its pages ("Pfizer Inc. 2021 Form 10-K 41").

The PDF loader leaves out running headers and footers at a page's edges. A layout that prints its footer
mid-page, under the last paragraph, leaves it in the text, where it reads as a sentence that names the
company, the form and the year, so it scores well as an answer while stating nothing. Left out of the
text, such lines cost retrieval (bench/RESULTS.md); so the index keeps them, and the answerer only
declines to quote them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from rag.text import RUNNING_WORDS, line_shape
from rag.types import Chunk

SHARE = 0.5
"""A line is running when its shape is on more than this share of its document's pages: printed on most
pages, as a header or footer is, and not a column label a few tables repeat ("(in millions)" is on a
third of a filing's pages at most here)."""
MIN_PAGES = 3


def running_lines(chunks: Iterable[Chunk]) -> frozenset[str]:
    """The shapes of the lines printed on most pages of the document these chunks are cut from; only short
    lines with two words of letters (a name or a title, not a bare page number or a footnote's '(a)').

    Lines inside a table are a table's. Page-less documents (text, HTML) have none: nothing runs where there
    are no pages.
    """
    pages: defaultdict[str, set[int]] = defaultdict(set)
    every: set[int] = set()
    for chunk in chunks:
        if chunk.page is None:
            continue
        every.add(chunk.page)
        for line in re.finditer(r"[^\n]+", chunk.text):
            at = chunk.start + line.start()
            if any(table.start <= at < table.end for table in chunk.tables):
                continue  # a row a statement repeats page after page ("Net sales 14,544 14,694") is no footer
            if len(line[0].split()) > RUNNING_WORDS:
                continue
            if len(re.findall(r"[a-z]{2,}", key := line_shape(line[0]))) >= 2:
                pages[key].add(chunk.page)
    return frozenset(key for key, on in pages.items() if len(on) > SHARE * len(every) and len(on) >= MIN_PAGES)


def without_running(text: str, running: frozenset[str]) -> str:
    """The shape of `text` with its running lines taken out: what it says besides them.

    ('(b) Pfizer Inc. 2021 Form 10-K 82', {'pfizer inc. # form #-k #'}) -> '(b)'
    """
    said = line_shape(text)
    for key in running:
        said = said.replace(key, " ")
    return said.strip()
