"""Citations: the one parser of [n] markers, and the one numbering of cited spans.

Both answerers write "claim [n]" and the evaluation and the UI read it back, so there is one
definition of what a marker is; both answerers number the spans they cite in order of first
use, so [1] is always the first passage the answer leans on.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rag.types import Chunk, Citation

# "[1]", "[1][3]", "[1, 3]": the citation markers written after a claim.
MARKER = r"\[\d+(?:\s*,\s*\d+)*\]"
_BEFORE_PUNCTUATION = re.compile(r"\s*" + MARKER + r"(?:\s*" + MARKER + r")*\s*(?=[.,;:!?])")
_ANYWHERE = re.compile(r"\s*" + MARKER)
_ONE = re.compile(r"\[(\d+)\]")
_BULLET = re.compile(r"^\s*[-*•]\s+")


def split_markers(sentence: str) -> tuple[str, list[int]]:
    """'Revenue rose [1][3].' -> ('Revenue rose.', [1, 3]); 'A [1, 2].' -> ('A.', [1, 2]).

    Only the markers go: the claim's own text, spacing included, is kept as written, so a
    quoted claim still matches its passage verbatim.
    """
    ids = [int(n) for group in re.findall(MARKER, sentence) for n in re.findall(r"\d+", group)]
    text = _ANYWHERE.sub("", _BEFORE_PUNCTUATION.sub("", sentence))
    return text.strip(), ids


# Lines an answerer writes of its own and labels as such: the calculation a question asks for and a
# result computed from quoted figures. They are checked as arithmetic, not as quotes, so they are no claim.
CALCULATION = "Calculation:"
COMPUTED = "Computed:"
NOTES = (CALCULATION, COMPUTED)


def answer_sentences(text: str) -> list[tuple[str, list[int]]]:
    """An answer's lines as claims with their markers, list bullets and labelled notes dropped.

    '- A rose. [1]\\n- B fell. [2][3]\\nCalculation: x = a / b.' -> [('A rose.', [1]), ('B fell.', [2, 3])]
    """
    out = []
    for line in text.splitlines():
        line = _BULLET.sub("", line).strip()
        if line and not line.startswith(NOTES):
            out.append(split_markers(line))
    return out


def link_markers(text: str, link: Callable[[int, str], str]) -> str:
    """Each single [n] replaced by link(n, '[n]'): how the UI turns markers into links."""
    return _ONE.sub(lambda m: link(int(m.group(1)), m.group(0)), text)


class Numbering:
    """Cited spans numbered 1, 2, ... in order of first use; citing a span again reuses its number."""

    def __init__(self) -> None:
        self.citations: list[Citation] = []
        self._ids: dict[tuple[str, int, int], int] = {}

    def number(self, chunk: Chunk, start: int, end: int) -> int:
        """The number of document span [start, end) of `chunk`'s document (offsets into the document)."""
        key = (chunk.source, start, end)
        if key not in self._ids:
            self._ids[key] = len(self._ids) + 1
            quote = chunk.quote(start, end)
            self.citations.append(Citation(self._ids[key], chunk.source, chunk.page, start, end, quote, chunk.section))
        return self._ids[key]
