"""The extractive answer's weights and limits, each with what measuring it showed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scoring:
    """How sentences are scored and chosen. Each was measured by bench/sweep_answer.py through the product's
    pipeline (rag.app.build), moved one at a time (off, half, double) on the seed set and the held-out halves
    of squad2-public and financebench-public. Figures: fact recall seed / squad / finance, 0.82 / 0.64 / 1.00
    at the defaults; a weight whose removal changed none of fact recall, abstention F1 and false abstention on
    any of the three (held-out and dev halves), and no tested behaviour, was removed: a causal-word boost for "why"
    questions, a bonus for a figure or date, the floors of "why" answers and of a question's second subject,
    and a redundancy cut-off beside the MMR weight."""

    lexical: float = 0.45
    """Weight of the question's terms found in the sentence (in its passage: `context_credit`).
    Sweep: 0.0: 0.71 / 0.52 / 0.92, 0.225: 0.79 / 0.64 / 0.83, 0.9: 0.82 / 0.64 / 1.00 (seed abstention F1 0.93)."""
    context_credit: float = 0.5
    """Credit for a question term found in the sentence's passage but not in the sentence itself.
    Sweep: 0.0: 0.82 / 0.64 / 1.00 (squad abstention F1 0.25 -> 0.33), 0.25: 0.82 / 0.68 / 1.00, 1.0: 0.74 / 0.56 /
    0.92."""
    required: float = 2.0
    """How much more a number or name of the question counts than its other terms.
    Sweep: 1.0: 0.82 / 0.64 / 1.00 (squad abstention F1 0.29), 4.0: 0.76 / 0.64 / 0.83."""
    rank_prior: float = 0.05
    """Bonus of the best-ranked passage's sentences, falling as 1 / (1 + rank).
    Sweep: 0.0: 0.82 / 0.68 / 1.00 (dev halves: squad 0.65 -> 0.64, finance 0.89 -> 0.93), 0.025: 0.82 / 0.64 /
    1.00, 0.1: 0.79 / 0.64 / 1.00."""
    similarity: float = 0.55
    """Weight of the sentence's cosine to the question.
    Sweep: 0.0: 0.71 / 0.52 / 1.00, 0.275: 0.79 / 0.64 / 1.00, 1.0: 0.82 / 0.68 / 0.83."""
    why_sentences: int = 5
    """Most sentences quoted for a "why" question.
    Sweep: 2: 0.76 / 0.64 / 1.00, 10: 0.85 / 0.64 / 1.00."""
    fact_sentences: int = 2
    """Most sentences quoted for any other question.
    Sweep: 1: 0.76 / 0.56 / 0.92, 4: 0.82 / 0.68 / 1.00."""
    fact_floor: float = 0.85
    """A factual answer's second sentence scores at least this share of the best one.
    Sweep: 0.0: 0.79 / 0.60 / 1.00, 0.425: 0.79 / 0.60 / 1.00, 1.0: 0.76 / 0.56 / 0.92."""
    new_source: float = 0.1
    """Bonus of a sentence from a document no chosen sentence comes from. The sweep's figures do not move
    (off, 0.05, 0.2: as here); a "why" answer drawing on every document that gives reasons does
    (tests/test_answer.py: off, the seed "why" question cites one of its two documents)."""
    novelty: float = 0.3
    """Maximal marginal relevance: weight of a sentence's redundancy with those chosen.
    Sweep: 0.0: 0.82 / 0.64 / 0.92, 0.15: 0.82 / 0.64 / 1.00, 0.6: 0.85 / 0.64 / 1.00."""
