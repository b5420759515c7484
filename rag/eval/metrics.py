"""Metric functions: plain functions of plain values, each testable against a hand-worked table."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from rag.answer.cite import answer_sentences
from rag.answer.verify import lexical_check
from rag.text import contains_whole


def normalize(text: str) -> str:
    """Case, white space, '$' and thousands separators: 'The $1,500  Bn' -> 'the 1500 bn'."""
    text = text.lower().replace("$", "").replace("–", "-").replace("—", "-")
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    return " ".join(text.split())


def contains_all(text: str, facts: Sequence[str]) -> bool:
    """True when every fact occurs in the text, as whole words, after normalising both.

    Whole words so that a wrong figure does not pass for a right one: '$14 billion' does
    not contain '$4 billion', and '5.15' does not contain '5.1'.
    """
    haystack = normalize(text)
    return all(contains_whole(haystack, normalize(f)) for f in facts)


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1: 'the big cat' vs 'a big cat' -> 1.0 (articles and punctuation dropped)."""
    def toks(s: str) -> list[str]:
        s = re.sub(r"\b(a|an|the)\b", " ", re.sub(r"[^\w\s]", " ", normalize(s)))
        return s.split()

    p, r = toks(prediction), toks(reference)
    common = sum((Counter(p) & Counter(r)).values())
    if not p or not r or not common:
        return float(p == r)
    precision, recall = common / len(p), common / len(r)
    return 2 * precision * recall / (precision + recall)


def reciprocal_rank(retrieved_sources: Sequence[str], gold: Sequence[str]) -> float:
    """['b', 'a'] with gold ['a'] -> 0.5."""
    for rank, source in enumerate(retrieved_sources, start=1):
        if source in gold:
            return 1.0 / rank
    return 0.0


Span = tuple[str, int | None, int | None]  # (source, first page, last page) of a passage or quote


def page_hit(spans: Sequence[Span], sources: Sequence[str], pages: Sequence[int]) -> bool:
    """A span from a listed source that lies on, or runs onto, an evidence page.

    A passage can start at the foot of one page and end on the next, so the whole span counts:
    [("a.pdf", 4, 5)], ["a.pdf"], [5] -> True; [("b.pdf", 5, 5)], ["a.pdf"], [5] -> False;
    [("a.pdf", None, None)] (no pages known) -> False.
    """
    wanted = set(pages)
    return any(source in sources and first is not None and not wanted.isdisjoint(range(first, (last or first) + 1))
               for source, first, last in spans)


def prf(true_pos: int, predicted: int, actual: int) -> tuple[float, float, float]:
    """Precision, recall, F1 from counts; 0 where undefined."""
    precision = true_pos / predicted if predicted else 0.0
    recall = true_pos / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: ([1, 2, 3, 4], 0.5) -> 2."""
    if not values:
        return 0.0
    ordered = sorted(values)
    # round() first: 0.07 * 100 is 7.000000000000001 in floating point, and ceil would give rank 8.
    return ordered[max(0, math.ceil(round(q * len(ordered), 9)) - 1)]


def plain_text(text: str) -> str:
    """The answer's words, for scoring against a reference: no bullets, no [n] markers.

    '- A rose. [1]\\n- B fell. [2][3]' -> 'A rose. B fell.'
    """
    return " ".join(claim for claim, _ in answer_sentences(text))


def supported(claim: str, passages: Sequence[str]) -> bool:
    """A claim is supported when the cited passages, together, contain it verbatim
    (extractive answers), or pass the lexical check the generative verifier uses: all its
    numbers and capitalised names, and at least `rag.answer.verify.MIN_OVERLAP` (75%) of its content words."""
    if normalize(claim) in normalize(" ".join(passages)):
        return True
    return lexical_check(claim, passages).supported


def citation_scores(claims: list[tuple[str, list[int]]], quotes: dict[int, str]) -> tuple[float, float]:
    """ALCE citation recall and precision (Gao et al. 2023).

    Recall: share of claims supported by the union of their citations. Precision: share of
    citations that matter: the claim is supported and the citation either supports it alone
    or the others do not support it without it.
    """
    if not claims:
        return 0.0, 0.0
    supported_claims, precise, total = 0, 0, 0
    for claim, ids in claims:
        passages = [quotes[i] for i in ids if i in quotes]
        ok = bool(passages) and supported(claim, passages)
        supported_claims += ok
        for i in ids:
            total += 1
            if ok and i in quotes:
                alone = supported(claim, [quotes[i]])
                rest = [quotes[j] for j in ids if j != i and j in quotes]
                precise += alone or not (rest and supported(claim, rest))
    return supported_claims / len(claims), (precise / total if total else 0.0)
