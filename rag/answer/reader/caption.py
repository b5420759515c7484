"""What a table shows, for a question about the table itself: "What does the table show?".

A report introduces each table with a sentence that says what it holds: "The table below shows the
carrying amounts and estimated fair values of our debt:", "Aggregate emoluments of the Directors were as
follows:". The short answer is that sentence less its words of presenting ("the table below shows", "were
as follows", a scale in parentheses), verbatim, citing it. A question that does not say which of several
tables it means, where their sentences fit it alike, gets none.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.asked import label_terms
from rag.answer.reader.base import Read
from rag.answer.reader.prose import prose_sentences
from rag.types import Hit

# "What does the table show?", "What financial information does the table present?", "What charges does the
# table summarize for the fiscal 2019 program?"; not the years or rows of a table, which the table reader lists.
_ABOUT_TABLE = re.compile(r"(?i)^\s*what\b(?![^?]*\b(?:years?|periods?)\b)[^?]*\b(?:does|do|did)\s+"
                          r"the\s+(?:[\w-]+\s+){0,3}?table\s+(?:[\w-]+\s+){0,3}?(?:show|represent|present|illustrate|depict|summari[sz]e|provide|"
                          r"display|detail|list|reflect|contain|describe)")
# How a sentence presents the table it introduces: its opening ("The following table sets forth", "Below is")
# and its close ("is shown below", "were as follows", "consisted of the following", "(in thousands)", ":").
_OPENING = re.compile(r"(?i)^\s*(?:(?:the|this)\s+)?(?:following\s+)?(?:table|schedule|chart)\s+(?:below\s+|above\s+)?"
                      r"(?:shows|presents|sets\s+(?:forth|out)|summari[sz]es|provides|details|reflects|represents|"
                      r"illustrates|includes|lists|contains|outlines|discloses|displays|describes)[\s,]+|"
                      r"^\s*(?:below|the\s+following)\s+(?:is|are)\s+")
_CLOSE = re.compile(r"(?i)(?:\s+(?:is|are|was|were)\s+(?:(?:shown|presented|set\s+(?:out|forth)|summari[sz]ed|provided|"
                    r"detailed|disclosed|listed|analy[sz]ed|reconciled)\s+)?(?:below|as\s+follows|in\s+the\s+(?:following\s+)?"
                    r"table(?:\s+below)?)|\s+consist(?:s|ed)?\s+of\s+the\s+following|\s+(?:in|by)\s+the\s+following\s+"
                    r"table|\s*\((?:[^()]*\b(?:thousands?|millions?|billions?|except)\b[^()]*)\))?\s*[:.]?\s*$")
# A sentence that introduces a table: it points to what follows, or leads into it with a colon ("the table
# above" points back).
_INTRODUCES = re.compile(r"(?i)\b(?:below|as\s+follows|following)\b|:\s*$")
# The words of asking about a table, which name none of them.
_FRAME = frozenset(label_terms("what which does do did the table below above show shows represent present illustrate "
                               "depict summarize summarise provide display detail list reflect contain describe "
                               "about us information financial data"))
_NEAR = 600  # characters before a table within which its introducing sentence stands


def asks_about_table(question: str) -> bool:
    """Whether the question asks what a table shows ("What does the table show?"), which no line item names:
    the answer step then takes the reader's answer where the coverage of words has nothing to weigh."""
    return _ABOUT_TABLE.search(question) is not None


def read_caption(question: str, hits: Sequence[Hit]) -> Read | None:
    """The span of the sentence introducing the table the question is about, less its words of presenting;
    None when no table has one, or several do and the question's own words do not pick one."""
    if not asks_about_table(question):
        return None
    asked_words = set(label_terms(question)) - _FRAME
    # The introducing sentence may be the end of the passage before the table's (a chunk ends where a table
    # begins): every hit's sentences, placed in their document.
    sentences = [(hits[i].chunk.source, hits[i].chunk.start + a, hits[i].chunk.start + b, i, a, b)
                 for i, a, b in prose_sentences(hits)
                 if _INTRODUCES.search(hits[i].chunk.text[a:b])]
    found: dict[str, tuple[int, tuple[int, int, int]]] = {}
    for hit in hits:
        for table in hit.chunk.tables:
            before = [s for s in sentences if s[0] == hit.chunk.source and s[2] <= table.start
                      and table.start - s[2] <= _NEAR]
            if not before:
                continue
            _, start, end, i, a, b = max(before, key=lambda s: s[2])
            span = _trimmed(hits[i].chunk.text, a, b)
            if span is None:
                continue
            text = hits[i].chunk.text[span[0]:span[1]]
            fit = len(asked_words & set(label_terms(text)))
            found.setdefault(text, (fit, (i, start, end)))
    if not found:
        return None
    ranked = sorted(found.items(), key=lambda kv: -kv[1][0])
    if len(ranked) > 1 and ranked[1][1][0] == ranked[0][1][0]:
        return None  # two tables the question fits alike: which one it means is a guess
    text, (_, where) = ranked[0]
    return Read(text, "span", (), None, sentences=(where,))


def _trimmed(text: str, a: int, b: int) -> tuple[int, int] | None:
    """[start, end) of the sentence text[a:b] less its opening and close of presenting, or None when nothing
    is left."""
    sentence = text[a:b]
    opening = _OPENING.search(sentence)
    start = opening.end() if opening else len(sentence) - len(sentence.lstrip())
    close = _CLOSE.search(sentence, start)
    end = close.start() if close else len(sentence.rstrip())
    if end - start < 3:
        return None
    return a + start, a + end
