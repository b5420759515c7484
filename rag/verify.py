"""Deterministic support checks: does a passage back a claim?

Used twice with one definition: to verify each sentence an LLM generates before it is
shown, and to score citation precision and recall in `rag eval`. A claim is supported
by passages when they contain it verbatim, or when they contain every number and name in
it and enough of its other content words; with an embedder, the claim must also be close
in meaning to some sentence of the passages, which catches "same words, other meaning".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.text import is_number, names, terms

# Calibrated on the hand-labelled claims in tests/eval/claims.jsonl by bench/calibrate_verifier.py.
MIN_OVERLAP = 0.8
MIN_SIMILARITY = 0.55

# Capitalised only because they open a sentence; not names.
_OPENERS = frozenset(terms("however additionally furthermore overall despite meanwhile moreover finally first "
                           "second third thus therefore similarly specifically notably instead yet still "
                           "together in summary according"))


def _normalize(text: str) -> str:
    return " ".join(text.lower().replace("$", "").split())


@dataclass(frozen=True)
class Check:
    supported: bool
    overlap: float
    similarity: float | None
    reason: str = ""


def lexical_check(claim: str, passages: Sequence[str]) -> Check:
    """Numbers and names must all appear; then the share of content terms found.

    ('CoreWeave guided $20 billion', ['CoreWeave guided capex of $20 billion']) -> supported
    ('CoreWeave guided $25 billion', [...same...]) -> unsupported: number 25 not in passage
    """
    joined = " ".join(passages)
    if _normalize(claim) and _normalize(claim) in _normalize(joined):
        return Check(True, 1.0, None, "verbatim")
    claim_terms = set(terms(claim))
    if not claim_terms:
        return Check(False, 0.0, None, "no content words")
    have = set(terms(joined))
    missing_numbers = sorted(t for t in claim_terms if is_number(t) and t not in have)
    if missing_numbers:
        return Check(False, 0.0, None, f"numbers not in the passage: {', '.join(missing_numbers)}")
    missing_names = sorted(names(claim, sentence_initial=True) - have - _OPENERS)
    if missing_names:
        return Check(False, 0.0, None, f"names not in the passage: {', '.join(missing_names)}")
    overlap = len(claim_terms & have) / len(claim_terms)
    ok = overlap >= MIN_OVERLAP
    return Check(ok, round(overlap, 4), None, "" if ok else f"only {overlap:.0%} of its words are in the passage")


_MARKER = re.compile(r"\s*\[(\d+)\]")


def split_markers(sentence: str) -> tuple[str, list[int]]:
    """'Revenue rose [1][3].' -> ('Revenue rose.', [1, 3])."""
    ids = [int(n) for n in _MARKER.findall(sentence)]
    text = _MARKER.sub("", sentence).strip()
    return re.sub(r"\s+([.,;:!?])", r"\1", text), ids
