"""Fusing ranked lists, and keeping one copy of a passage among the hits."""

from __future__ import annotations

import re

RRF_K = 60
"""Reciprocal rank fusion's damping constant: 60, as in Cormack, Clarke and Büttcher (SIGIR 2009),
where it was chosen on TREC runs and found not critical; not tuned here."""


def rrf(rankings: list[list[int]], k: int = RRF_K) -> dict[int, float]:
    """Reciprocal rank fusion: [[3, 1], [1, 2]] -> {1: 1/62 + 1/61, 3: 1/61, 2: 1/62}."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + 1.0 / (k + rank)
    return fused


def overlap_ratio(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Shared characters over the shorter span: ((0, 10), (5, 20)) -> 0.5."""
    shared = min(a[1], b[1]) - max(a[0], b[0])
    return max(0, shared) / max(1, min(a[1] - a[0], b[1] - b[0]))


_WORD = re.compile(r"\w+")


def vocabulary(text: str) -> set[str]:
    """Distinct lower-cased word tokens: enough to spot a near-duplicate passage, and a few
    times cheaper than the normalised tokens BM25 uses (this runs on every candidate)."""
    return set(_WORD.findall(text.lower()))


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, len(a | b))
