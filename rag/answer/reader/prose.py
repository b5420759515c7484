"""The prose reader: a figure a sentence states, when the question asks for an amount no table row holds.

"What was the standard rate of corporation tax in the United Kingdom?" is answered by "... the standard
rate of corporation tax in the UK of 19.0% ...": the sentence that holds the question's line item and
period, and in it the figure whose own words are those of the line item. It states the figure as the
sentence prints it ("$2.5 million", "19.0%") and cites the sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.asked import Asked, label_terms
from rag.answer.reader.base import Read
from rag.chunk import sentence_spans
from rag.numbers import stated_figures
from rag.types import Hit

MIN_PROSE_MATCH = 0.75
"""How much of the question's line item the sentence, and the words just before the figure, must hold
(averaged) for the figure to be the one asked about."""
# A question that asks for an amount: "how much", "what was the depreciation amount", "what is the hurdle rate".
_WANTS_FIGURE = re.compile(
    r"(?i)^\s*(?:how\s+much|how\s+many|what\s+(?:was|is|were|are)\s+(?:the\s+)?(?:[\w&'’-]+[\s,]+){0,8}?"
    r"(?:amounts?|values?|rates?|numbers?|percentages?|costs?|prices?|balances?|sizes?|levels?|totals?|"
    r"expenses?|revenues?|income|fees?|charges?|payments?|proportions?|ratios?)\b)")
_NEUTRAL = frozenset(label_terms("total net amount value"))
_WINDOW = 90  # characters before a figure that say what it is


def read_prose(ask: Asked, question: str, hits: Sequence[Hit]) -> Read | None:
    """The figure of the best sentence for a question asking one amount, or None when no sentence surely
    states it (its line item and period not both there, or two figures there fit it alike)."""
    if ask.operation != "lookup" or len(ask.periods) > 1 or not _WANTS_FIGURE.search(question):
        return None
    item = set(ask.item) - _NEUTRAL
    if not item:
        return None
    best: list[tuple[float, str, int, int, int]] = []  # (score, figure, hit, start, end)
    for i, hit in enumerate(hits):
        chunk = hit.chunk
        rows = [(r.start, r.end) for t in chunk.tables for r in t.rows]
        for a, b in sentence_spans(chunk.text):
            start, end = chunk.start + a, chunk.start + b
            if any(s < end and start < e for s, e in rows):
                continue  # a table's row is read by the table reader
            sentence = chunk.text[a:b]
            if any(p not in sentence for p in ask.periods):
                continue
            held = len(item & set(label_terms(sentence))) / len(item)
            if held < MIN_PROSE_MATCH:
                continue
            for figure in stated_figures(sentence):
                window = set(label_terms(sentence[max(0, figure.start - _WINDOW): figure.start]))
                local = len(item & window) / len(item)
                best.append(((held + local) / 2, figure.text, i, start, end))
    if not best:
        return None
    best.sort(key=lambda c: -c[0])
    top = best[0]
    if top[0] < MIN_PROSE_MATCH or any(c[0] == top[0] and c[1] != top[1] for c in best[1:]):
        return None
    return Read(top[1], "span", (), None, sentences=((top[2], top[3], top[4]),))
