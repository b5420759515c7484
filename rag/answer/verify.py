"""Deterministic support checks: does a passage back a claim?

Used twice with one definition: to verify each sentence an LLM generates before it is
shown, and to score citation precision and recall in `rag eval`. A claim is supported
by passages when they contain it verbatim, or when they contain every number and name in
it and enough of its other content words; with an embedder, the claim must also be close
in meaning to a span of the passages (a sentence, or a run of its clauses) that agrees
with it in negation, which catches "same words, other meaning".
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer import arithmetic
from rag.answer.arithmetic import Derivation
from rag.chunk import sentence_spans
from rag.embed.base import Embedder
from rag.text import contains_whole, is_number, names, terms

# Calibrated on the 96 hand-labelled claims in tests/eval/claims.jsonl by bench/calibrate_verifier.py
# with the default (int8) embedding backend: precision 1.0 (no unsupported claim accepted), recall
# 0.64 of the 50 supported ones.
MIN_OVERLAP = 0.75
MIN_SIMILARITY = 0.87
# For a claim that computes a figure, calibrated the same way on the 89 computed claims written from
# financebench-public's pages: there the arithmetic check decides (no wrong one of 43 has a derivation) and
# a computed sentence restates no sentence of its passage, so the cosine bound sits in the gap below the
# lowest right one: precision 1.0 on every kind of wrong claim, recall 0.80 of the 46 right ones.
MIN_COMPUTED_SIMILARITY = 0.2

# Capitalised only because they open a sentence; not names.
_OPENERS = frozenset(terms("however additionally furthermore overall despite meanwhile moreover finally first "
                           "second third thus therefore similarly specifically notably instead yet still "
                           "together in summary according"))


def _normalize(text: str) -> str:
    return " ".join(text.lower().replace("$", "").split())


def _contains(passage: str, claim: str) -> bool:
    """Whole-word containment after normalisation, so a figure cannot match part of another.

    ('capex of $20 billion', 'capex of $2') -> False; ('$14.2 billion', '$14') -> False
    """
    needle = _normalize(claim).rstrip(".!?;:, ")
    if not needle:
        return False
    return contains_whole(_normalize(passage), needle)


@dataclass(frozen=True)
class Check:
    supported: bool
    overlap: float
    similarity: float | None
    reason: str = ""
    # Per passage, its sentence closest in meaning to the claim: (start, end, cosine).
    closest: tuple[tuple[int, int, float] | None, ...] = ()
    # How each figure the claim computes follows from the passages' figures.
    derivations: tuple[Derivation, ...] = ()
    # Whether it is the claim's figures that are not supported (printed elsewhere, at another scale or
    # period, or no step of arithmetic over the passages' figures), as against its names, words or meaning.
    wrong_figure: bool = False


def lexical_check(claim: str, passages: Sequence[str], min_overlap: float = MIN_OVERLAP,
                  derived: frozenset[str] = frozenset()) -> Check:
    """Numbers and names must all appear (or, for `derived` numbers, follow from them); then the share of
    content terms found.

    ('CoreWeave guided $20 billion', ['CoreWeave guided capex of $20 billion']) -> supported
    ('CoreWeave guided $25 billion', [...same...]) -> unsupported: number 25 not in passage
    """
    joined = " ".join(passages)
    if _contains(joined, claim):
        return Check(True, 1.0, None, "verbatim")
    claim_terms = set(terms(claim))
    if not claim_terms:
        return Check(False, 0.0, None, "no content words")
    have = set(terms(joined)) | derived
    missing, numbers = _missing_required(claim, have)
    if missing:
        return Check(False, 0.0, None, missing, wrong_figure=numbers)
    overlap = len(claim_terms & have) / len(claim_terms)
    ok = overlap >= min_overlap
    return Check(ok, round(overlap, 4), None, "" if ok else f"only {overlap:.0%} of its words are in the passage")


# Grammatical negation. Embeddings barely register "not", so a claim must agree in
# polarity with the passage span it is matched to: "X does not reduce risk" is not backed
# by "X reduces risk", nor "Y still holds a right" by "Y no longer holds a right".
_NEGATION = re.compile(r"\b(?:not|no|never|none|neither|nor|without|cannot)\b|n[’']t\b", re.I)
# Where a sentence divides into clauses: punctuation, or before a conjunction.
_CLAUSE_CUT = re.compile(r"[,;:—–()]+\s*|\s(?=(?:but|though|although|while|whereas|and|with|because|where|which)\s)")
_MAX_CLAUSES = 4


def negated(text: str) -> bool:
    """Odd number of negations: 'not without risks' -> False; 'no longer holds' -> True."""
    return len(_NEGATION.findall(text)) % 2 == 1


def clause_spans(text: str, sentence: tuple[int, int]) -> list[tuple[int, int]]:
    """The sentence, and each run of up to four of its clauses with at least three words.

    A generated sentence often restates one clause of a long source sentence; compared
    with the whole sentence, its cosine is diluted by the clauses it does not restate.
    'A rose, and B fell sharply today.' -> [(0, 33), (8, 33)]
    """
    a, b = sentence
    cuts = [a, *(m.end() for m in _CLAUSE_CUT.finditer(text, a, b)), b]
    pieces = [(x, y) for x, y in itertools.pairwise(cuts) if text[x:y].strip(" ,;:—–()")]
    out = {sentence}
    for i in range(len(pieces)):
        for j in range(i, min(i + _MAX_CLAUSES, len(pieces))):
            start, end = pieces[i][0], pieces[j][1]
            while end > start and text[end - 1] in " ,;:—–()":
                end -= 1
            if len(text[start:end].split()) >= 3:
                out.add((start, end))
    return sorted(out)


def _missing_required(claim: str, have: set[str]) -> tuple[str, bool]:
    """Why the claim's numbers or names are not all in `have` (stemmed terms), '' if they are; and
    whether it is numbers that are missing."""
    missing_numbers = sorted(t for t in terms(claim) if is_number(t) and t not in have)
    if missing_numbers:
        return f"numbers not in the passage: {', '.join(dict.fromkeys(missing_numbers))}", True
    missing_names = sorted(names(claim, sentence_initial=True) - have - _OPENERS)
    if missing_names:
        return f"names not in the passage: {', '.join(missing_names)}", False
    return "", False


def closest_sentences(claim: str, passages: Sequence[str], embedder: Embedder
                      ) -> list[tuple[int, int, float] | None]:
    """For each passage, its sentence holding the span nearest the claim in meaning, and that cosine.

    Spans are whole sentences and runs of their clauses; only spans that agree with the
    claim in negation count, so a passage whose matching clause has the other polarity
    gives None. One model call for all passages.
    ('Revenue rose.', ['Costs fell. Revenue grew.']) -> [(12, 24, 0.9...)]
    """
    polarity = negated(claim)
    spans = [(i, sentence, span) for i, p in enumerate(passages) for sentence in sentence_spans(p)
             for span in clause_spans(p, sentence) if negated(p[span[0]:span[1]]) == polarity]
    out: list[tuple[int, int, float] | None] = [None] * len(passages)
    if not spans:
        return out
    vectors = embedder.embed_documents([claim] + [passages[i][a:b] for i, _, (a, b) in spans])
    for (i, (a, b), _), vector in zip(spans, vectors[1:], strict=True):
        sim = float(vector @ vectors[0])
        best = out[i]
        if best is None or sim > best[2]:
            out[i] = (a, b, sim)
    return out


def verify(claim: str, passages: Sequence[str], embedder: Embedder, *, contexts: Sequence[str] = (),
           min_overlap: float = MIN_OVERLAP, min_similarity: float = MIN_SIMILARITY,
           min_computed_similarity: float = MIN_COMPUTED_SIMILARITY) -> Check:
    """The claim's figures (printed in the passages or one step of arithmetic over theirs), the lexical
    check on the passages together, then meaning: unless the claim is quoted verbatim, some sentence of
    the passages must be within `min_similarity` cosine of it (`min_computed_similarity` for a claim
    that computes a figure, which restates no sentence of its passages).

    `contexts` are what each passage is (document, section, table caption): their names, years and
    scales count, but nothing is cited from them. The model is asked only when the lexical check
    passes; the result records each passage's closest sentence so a citation can point at it. With
    several passages, the claim's numbers and names must be in the ones close to it in meaning: a
    figure from one passage stitched onto a sentence that matches another is not supported.
    """
    figures = arithmetic.check(claim, passages, contexts)
    if not figures.ok:
        return Check(False, 0.0, None, figures.reason, derivations=figures.derivations, wrong_figure=True)
    derived = frozenset(t for d in figures.derivations for t in terms(d.number) if is_number(t))
    lexical = lexical_check(claim, [*passages, *contexts], min_overlap, derived)
    if not lexical.supported:
        return lexical
    closest = tuple(closest_sentences(claim, passages, embedder))
    sims = [c[2] for c in closest if c is not None]
    if not sims:
        return Check(False, lexical.overlap, None, "no sentence of the passage agrees with it in negation", closest)
    best = round(max(sims), 4)
    threshold = min_computed_similarity if figures.derivations else min_similarity
    if lexical.reason != "verbatim":
        if best < threshold:
            return Check(False, lexical.overlap, best, f"no sentence close in meaning (best cosine {best:.2f})",
                         closest, figures.derivations)
        about = [*contexts, *[""] * (len(passages) - len(contexts))]
        near = " ".join(f"{about[i]} {p}" for i, (p, c) in enumerate(zip(passages, closest, strict=True))
                        if c is not None and c[2] >= threshold)
        missing, numbers = _missing_required(claim, set(terms(near)) | derived)
        if missing:
            return Check(False, lexical.overlap, best, f"{missing} (in those close to it in meaning)", closest,
                         figures.derivations, wrong_figure=numbers)
    return Check(True, lexical.overlap, best, lexical.reason, closest, figures.derivations)
