"""The figures of a sentence and of its passages, read as an analyst reads them.

A table's cell is its row's label, its column's year (from the header of years above it, or at the
end of a caption) and the table's scale ("in millions"); a figure in prose is the words of its clause
and the scale word after it; a sentence's figure (`rag.numbers.Stated`: value, unit, scale word,
precision) is stated as a level ("was 16.8%") or as a rise or a fall ("rose 14.9%").
`rag.answer.arithmetic` checks one against the others. The printed figures, rows, scales and years are
parsed by `rag.numbers`; this module says what each figure is about.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from rag.numbers import (
    SCALES,
    Stated,
    caption_years,
    column_years,
    row_cells,
    scale_follows,
    stated_figures,
    table_unit,
)
from rag.text import stem, terms, words

# Which way a figure moved: a verb of its clause ("rose 14.9%", "cut its capex by 25.6%") or a word next to
# it ("up 14.9%", "14.9% higher", "a 14.9% increase"); an adjective further off ("the higher volume added
# $4.3 billion") says nothing of the figure.
_RISE_VERBS = frozenset(stem(w) for w in "increased increases rose rise rises risen grew grow grows expanded widened "
                                         "climbed jumped improved gained".split())
_FALL_VERBS = frozenset(stem(w) for w in "decreased decreases fell fall falls declined declines dropped reduced "
                                         "shrank narrowed cut cuts slid lowered".split())
_RISE_NEAR = _RISE_VERBS | frozenset(stem(w) for w in "up higher larger more greater above increase growth".split())
_FALL_NEAR = _FALL_VERBS | frozenset(stem(w) for w in "down lower smaller less below decrease decline "
                                                      "reduction".split())
_INCREASE, _DECREASE = _RISE_NEAR, _FALL_NEAR
# Words too common in statements to tie a figure to a sentence.
GENERIC = frozenset(stem(w) for w in "total net year years fiscal compared million billion thousand percent "
                                      "percentage point points amount figure ended end of period quarter".split()) \
    | _INCREASE | _DECREASE
# A margin is a share of sales: the sentence names the numerator's row, and the denominator by this word alone.
IMPLIED = {stem("margin"): frozenset({stem("sales"), stem("revenue"), stem("revenues")})}
# A figure stated as a level, not as a change: "to $13,411 million", "was 16.8%", "at 13.1%"; but "was 33.7%
# higher" is a change.
_LEVEL = re.compile(r"(?i)\b(?:to|at|was|were|is|are|of|reached|totaled|totalled)\s+"
                    r"(?:about\s+|approximately\s+|roughly\s+|nearly\s+|almost\s+|around\s+)?$")
_SHARE = re.compile(r"(?i)^\s+of\b")
_CHANGE_OF = re.compile(r"(?i)\b(?:increase|decrease|rise|decline|growth|drop|reduction|gain|loss|change)\s+of\s+"
                        r"(?:about\s+|approximately\s+|roughly\s+|nearly\s+)?$")
_COMPARATIVE = re.compile(r"(?i)^\s*(?:\w+\s+)?(?:higher|lower|more|less|above|below|greater|larger|smaller|up|down|"
                          r"increase|decrease|rise|drop|decline|growth)\b")

@dataclass(frozen=True)
class Figure:
    """A figure of a passage: its value (negative in parentheses), its unit ('%' or ''), its scale
    in units (1e6 for a table 'in millions'; None when unknown), the words that say what it is, and
    the year of its column when the table's header says."""

    text: str
    value: float
    unit: str
    scale: float | None
    label: frozenset[str]
    year: int | None
    line: tuple[int, int, int] | None = None  # (passage, start, end) of its line; None in a context
    cell: bool = True  # a table's cell, not a figure in prose
    change: bool = False  # prose stating it as a rise or a fall ("increased $107 million"), not as a level
    alias: frozenset[str] = frozenset()  # a row's short name in parentheses: "(PP&E)"


def passage_figures(passage: str, context: str = "", index: int = 0) -> list[Figure]:
    """The figures of passage number `index`: table cells with their row's label, their column's year and
    the table's scale; figures in prose with the words of their clause and the scale word after them."""
    out: list[Figure] = []
    header: list[int] = []
    unit: str | None = None
    # The context names the document and the table; only its caption's scale and years are read from it.
    lines: list[tuple[str, tuple[int, int, int] | None]] = [
        (c, None) for c in context.splitlines() if column_years(c) or table_unit(c) or caption_years(c)]
    offset = 0
    for text in passage.split("\n"):
        lines.append((text, (index, offset, offset + len(text))))
        offset += len(text) + 1
    for line, where in lines:
        unit = table_unit(line) or unit
        heading = caption_years(line) or column_years(line)
        if heading:
            header = heading
            continue
        label, cells = row_cells(line)
        if cells and re.search(r"[A-Za-z]{2}", label) and not _prose(label):
            head = _HEAD.split(label, maxsplit=1)[0]
            alias = frozenset(terms(" ".join(_ALIAS.findall(label)))) - GENERIC
            words = frozenset(terms(head)) - GENERIC
            scale = None if "per share" in label.lower() else SCALES.get(unit or "")
            years: list[int | None] = list(header) if len(header) == len(cells) else [None] * len(cells)
            for (token, value), year in zip(cells, years, strict=True):
                pct = token.endswith("%") or f"{token} %" in line  # "Gross margin 32.1 % 35.4 %"
                out.append(Figure(token, value, "%" if pct else "", None if pct else scale, words, year, where,
                                  alias=alias))
            continue
        if where is not None:
            out.extend(_prose_figures(line, where))
    return out


def _prose(label: str) -> bool:
    """A sentence that happens to end in a figure, not a row label: it has a verb's full stop inside."""
    return len(label.split()) > 14 or ". " in label


# What a row is, before what it includes: "Purchases of property and equipment, including internal-use software".
_HEAD = re.compile(r"(?i),?\s+(?:including|excluding|net of|less)\b|\s*\(")
_ALIAS = re.compile(r"\(([A-Z][A-Za-z&.\-]{1,12})\)")


def _prose_figures(line: str, where: tuple[int, int, int]) -> Iterator[Figure]:
    for s in stated_figures(line):
        before = terms(line[max(0, s.start - 90): s.start])[-8:]
        after = terms(line[s.start + len(s.text): s.start + len(s.text) + 40])[:3]
        percent = s.unit in ("%", "pp")
        scale = s.scale
        if scale is None and s.money and not scale_follows(line, s.start + len(s.text)):
            scale = 1.0  # "$4,200,000,000" is dollars; in "$2.9 to $3.4 billion" the scale comes after
        yield Figure(s.text, s.value, "%" if percent else "", None if percent else scale,
                     frozenset(before + after) - GENERIC, None, where, cell=False,
                     change=direction(line, s) != 0 and not level(line, s))


def direction(sentence: str, stated: Stated) -> int:
    """+1 if the figure is stated as a rise, -1 as a fall, 0 if neither.

    ('Capex rose 14.9% in 2018.', 14.9%) -> 1; ('The higher volume added $4.3 billion.', $4.3 billion) -> 0
    """
    end = stated.start + len(stated.text)
    clause = re.split(r"[,;:(]", sentence[: stated.start])[-1]
    for word in reversed(words(clause)):
        if stem(word) in _RISE_VERBS or stem(word) in _FALL_VERBS:
            return 1 if stem(word) in _RISE_VERBS else -1
    near = {stem(w) for w in words(sentence[: stated.start])[-1:] + words(sentence[end:])[:2]}
    up, down = bool(near & _RISE_NEAR), bool(near & _FALL_NEAR)
    return 0 if up == down else (1 if up else -1)


def level(text: str, stated: Stated) -> bool:
    """Whether the figure is stated as a level, not as a change: "made up 69.6% of revenues" is a share
    whatever the verb; "was 16.8%" or "to $13,411 million" a level, unless "higher" follows."""
    before, after = text[: stated.start], text[stated.start + len(stated.text):]
    if _CHANGE_OF.search(before):
        return False  # "an increase of $107 million"
    return _SHARE.match(after) is not None or (_LEVEL.search(before) is not None and not _COMPARATIVE.match(after))
