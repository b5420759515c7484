"""The extractive answer's weights and limits, each with what measuring it showed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scoring:
    """How sentences are scored and chosen. Each default was checked by bench/sweep_answer.py,
    which moves one at a time (off, half, double) on the seed set, squad2-public and
    financebench-public; the figures are in bench/RESULTS.md ("Answer constants")."""

    lexical: float = 0.45
    """Weight of the question's terms found in the sentence (in its passage: `context_credit`).
    Sweep: fact recall seed / squad / finance 0.82 / 0.66 / 0.18 here; 0.0: 0.71 / 0.55 / 0.13, 0.225: 0.82 / 0.65 /
    0.13, 0.9: 0.82 / 0.68 / 0.18."""
    context_credit: float = 0.5
    """Credit for a question term found in the sentence's passage but not in the sentence itself.
    Sweep: fact recall seed / squad / finance 0.82 / 0.66 / 0.18 here; 0.0: 0.82 / 0.66 / 0.13, 0.25: 0.82 / 0.64 /
    0.13, 1.0: 0.74 / 0.60 / 0.15."""
    required: float = 2.0
    """How much more a number or name of the question counts than its other terms.
    Sweep: fact recall seed / squad / finance 0.82 / 0.66 / 0.18 here; 1.0: 0.82 / 0.66 / 0.13, 4.0: 0.76 / 0.67 /
    0.18."""
    rank_prior: float = 0.05
    """Bonus of the best-ranked passage's sentences, falling as 1 / (1 + rank).
    Sweep: fact recall seed / squad / finance 0.82 / 0.66 / 0.18 here; 0.0: 0.82 / 0.66 / 0.18, 0.025: 0.82 / 0.65 /
    0.18, 0.1: 0.79 / 0.65 / 0.15."""
    similarity: float = 0.55
    """Weight of the sentence's cosine to the question.
    Sweep: fact recall seed / squad / finance 0.82 / 0.66 / 0.18 here; 0.0: 0.71 / 0.60 / 0.15, 0.275: 0.79 / 0.66 /
    0.18, 1.0: 0.82 / 0.65 / 0.15."""
    causal: float = 0.3
    """A "why" question: most a sentence's score rises for giving causes, costs or risks.
    Sweep: fact recall seed / squad / finance 0.82 / 0.66 / 0.18 here; 0.0: 0.82 / 0.66 / 0.18, 0.15: 0.82 / 0.66 /
    0.18, 0.6: 0.79 / 0.66 / 0.18."""
    causal_per_word: float = 0.6
    """Share of `causal` each causal word of the sentence earns.
    Sweep: fact recall seed / squad / finance 0.82 / 0.66 / 0.18 here; 0.0: 0.82 / 0.66 / 0.18, 0.3: 0.82 / 0.66 /
    0.18, 1.0: 0.82 / 0.66 / 0.18."""
    expected_type: float = 0.1
    """Shortlist bonus of a sentence with a figure (how many) or a date (when).
    Sweep: fact recall seed / squad / finance 0.82 / 0.66 / 0.18 here; 0.0: 0.82 / 0.66 / 0.15, 0.05: 0.82 / 0.66 /
    0.18, 0.2: 0.82 / 0.66 / 0.18."""
    why_sentences: int = 5
    """Most sentences quoted for a "why" question.
    Sweep: fact recall seed / squad / finance 0.82 / 0.66 / 0.18 here; 2: 0.76 / 0.66 / 0.18, 10: 0.85 / 0.66 /
    0.18."""
    why_floor: float = 0.6
    """A "why" answer's sentences score at least this share of the best one.
    Sweep: fact recall seed / squad / finance 0.82 / 0.66 / 0.18 here; 0.0: 0.82 / 0.66 / 0.18, 0.3: 0.82 / 0.66 /
    0.18, 1.0: 0.79 / 0.66 / 0.18."""
    fact_sentences: int = 2
    """Most sentences quoted for any other question.
    Sweep: fact recall seed / squad / finance 0.82 / 0.66 / 0.18 here; 1: 0.74 / 0.60 / 0.15, 4: 0.82 / 0.71 /
    0.18."""
    fact_floor: float = 0.85
    """A factual answer's second sentence scores at least this share of the best one.
    Sweep: fact recall seed / squad / finance 0.82 / 0.66 / 0.18 here; 0.0: 0.79 / 0.67 / 0.18, 0.425: 0.79 / 0.66 /
    0.18, 1.0: 0.74 / 0.60 / 0.15."""
    novelty: float = 0.3
    """Maximal marginal relevance: weight of a sentence's redundancy with those chosen.
    Sweep: fact recall seed / squad / finance 0.82 / 0.66 / 0.18 here; 0.0: 0.82 / 0.67 / 0.18, 0.15: 0.82 / 0.66 /
    0.18, 0.6: 0.85 / 0.67 / 0.18."""
    max_redundancy: float = 0.8
    """A sentence closer than this cosine to one already chosen is never added.
    Sweep: fact recall seed / squad / finance 0.82 / 0.66 / 0.18 here; 0.0: 0.71 / 0.60 / 0.15, 0.4: 0.71 / 0.65 /
    0.18, 1.0: 0.82 / 0.66 / 0.18."""
    new_source: float = 0.1
    """Bonus of a sentence from a document no chosen sentence comes from.
    Sweep: fact recall seed / squad / finance 0.82 / 0.66 / 0.18 here; 0.0: 0.82 / 0.66 / 0.18, 0.05: 0.82 / 0.66 /
    0.18, 0.2: 0.82 / 0.66 / 0.18."""
    subject_floor: float = 0.5
    """A subject the answer leaves out gets a sentence if it scores this share of the best one.
    Sweep: fact recall seed / squad / finance 0.82 / 0.66 / 0.18 here; 0.0: 0.82 / 0.66 / 0.18, 0.25: 0.82 / 0.66 /
    0.18, 1.0: 0.79 / 0.65 / 0.18."""
