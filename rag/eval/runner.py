"""The evaluation runner: every question through the engine, every answer scored.

The runner answers every question through the same `Engine.ask` as `rag ask`,
and checks every citation against the document it names: a quote counts only if it is
the document's text at the cited offsets.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.cite import answer_sentences
from rag.app.engine import Engine, answer_json
from rag.eval.metrics import (
    Span,
    citation_scores,
    contains_all,
    page_hit,
    percentile,
    plain_text,
    prf,
    reciprocal_rank,
    token_f1,
)
from rag.eval.questions import Question
from rag.eval.short import short_scores
from rag.load.corpus import LoadError, load_document
from rag.types import Answer, Document


@dataclass
class EvalReport:
    summary: dict[str, float]
    results: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.summary, "results": self.results}


def _verified_quotes(answer: Answer, documents: dict[str, Document | None]) -> dict[int, str]:
    """Citation id -> quote, only for quotes that are the document's text at their offsets."""
    out = {}
    for c in answer.citations:
        doc = documents.get(c.source)
        if doc is not None and doc.text[c.start : c.end] == c.quote:
            out[c.id] = c.quote
    return out


def _span(source: str, start: int, end: int, page: int | None, documents: dict[str, Document | None]) -> Span:
    """The pages a passage or quote covers, first to last; its start page alone when the document is not loaded."""
    doc = documents.get(source)
    if doc is None or not doc.page_starts:
        return source, page, page
    return source, doc.page_at(start) or page, doc.page_at(max(start, end - 1)) or page


def evaluate_one(
    q: Question, answer: Answer, latency_ms: float, documents: dict[str, Document | None], similarity: float
) -> dict[str, Any]:
    row = answer_json(answer)
    hits = answer.hits
    retrieved_sources = [h.chunk.source for h in hits]
    claims = answer_sentences(answer.text) if not answer.abstained else []
    quotes = _verified_quotes(answer, documents)
    cit_recall, cit_precision = citation_scores(claims, quotes)
    metrics: dict[str, Any] = {
        "answerable": q.answerable,
        "abstention_correct": answer.abstained == (not q.answerable),
        "quotes_verbatim": len(quotes) == len(answer.citations),
    }
    if q.answerable:
        metrics |= {
            "hit_at_k": float(any(s in q.sources for s in retrieved_sources)),
            "mrr": reciprocal_rank(retrieved_sources, q.sources),
            "context_fact_recall": float(contains_all(" ".join(h.chunk.text for h in hits), q.facts)),
            "fact_recall": float(not answer.abstained and contains_all(plain_text(answer.text), q.facts)),
            "token_f1": 0.0 if answer.abstained else token_f1(plain_text(answer.text), q.answer or ""),
            "semantic_similarity": 0.0 if answer.abstained else similarity,
            "source_recall": float(any(c.source in q.sources for c in answer.citations)),
        }
        if q.pages:
            passages = [_span(h.chunk.source, h.chunk.start, h.chunk.end, h.chunk.page, documents) for h in hits]
            quoted = [_span(c.source, c.start, c.end, c.page, documents) for c in answer.citations]
            metrics |= {"page_hit_at_k": float(page_hit(passages, q.sources, q.pages)),
                        "cited_page_hit": float(page_hit(quoted, q.sources, q.pages))}
    gold = q.answers or (q.facts if q.answerable else ())
    if gold:
        # The short answer, scored as TAT-QA scores it; a wrong one counts against the reader.
        short = answer.short
        predicted = list(short.items or (short.value,)) if short is not None else []
        exact, f1 = short_scores(predicted, gold, q.scale)
        metrics |= {"short_exact": exact, "short_f1": f1, "short_given": float(short is not None),
                    "wrong_short": float(short is not None and not exact)}
    if claims:
        metrics |= {"citation_recall": cit_recall, "citation_precision": cit_precision}
    if answer.sentences:  # generative: the share of generated sentences that passed verification
        metrics["sentences_verified"] = sum(s.supported for s in answer.sentences) / len(answer.sentences)
    elif claims:  # extractive: every sentence is a quote, verified when it sits at its offsets
        metrics["sentences_verified"] = float(len(quotes) == len(answer.citations))
    return {
        "id": q.id, "question": q.question, "reference": q.answer, "facts": list(q.facts),
        "sources": list(q.sources), **({"pages": list(q.pages)} if q.pages else {}),
        **({"scope": list(q.scope)} if q.scope else {}), **({"answers": list(q.answers)} if q.answers else {}),
        **({"type": q.type} if q.type else {}), **({"answer_from": q.answer_from} if q.answer_from else {}),
        "answer": row["answer"], "short_answer": row["short_answer"],
        "short_value": answer.short.value if answer.short else None,
        "short_answer_derivation": row["short_answer_derivation"], "abstained": answer.abstained,
        "citations": row["citations"], "retrieved": row["retrieved"],
        "retrieved_text": [h.chunk.text for h in hits], "latency_ms": round(latency_ms, 2),
        "signals": answer.signals, **metrics,
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, float]:
    def mean(key: str, subset: list[dict[str, Any]]) -> float:
        values = [r[key] for r in subset if key in r]
        return round(statistics.fmean(values), 4) if values else 0.0

    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    abstained = [r for r in rows if r["abstained"]]
    tp = sum(1 for r in abstained if not r["answerable"])
    precision, recall, f1 = prf(tp, len(abstained), len(unanswerable))
    latencies = [r["latency_ms"] for r in rows]
    paged = [r for r in answerable if "page_hit_at_k" in r]
    pages = {"page_hit_at_k": mean("page_hit_at_k", paged), "cited_page_hit": mean("cited_page_hit", paged),
             "page_questions": len(paged)} if paged else {}
    # Statement figures are found far more often than open questions ("what drove the change"): by kind.
    for kind in sorted({r["type"] for r in paged if r.get("type")}):
        subset = [r for r in paged if r.get("type") == kind]
        pages |= {f"page_hit_at_k[{kind}]": mean("page_hit_at_k", subset),
                  f"cited_page_hit[{kind}]": mean("cited_page_hit", subset),
                  f"false_abstention_rate[{kind}]": round(sum(r["abstained"] for r in subset) / len(subset), 4),
                  f"page_questions[{kind}]": len(subset)}
    return {
        **short_summary(rows),
        "questions": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "hit_at_k": mean("hit_at_k", answerable),
        "mrr": mean("mrr", answerable),
        **pages,
        "context_fact_recall": mean("context_fact_recall", answerable),
        "fact_recall": mean("fact_recall", answerable),
        "token_f1": mean("token_f1", answerable),
        "semantic_similarity": mean("semantic_similarity", answerable),
        "source_recall": mean("source_recall", answerable),
        "citation_recall": mean("citation_recall", rows),
        "citation_precision": mean("citation_precision", rows),
        "sentences_verified": mean("sentences_verified", rows),
        "abstention_precision": round(precision, 4),
        "abstention_recall": round(recall, 4),
        "abstention_f1": round(f1, 4),
        "false_abstention_rate": round(sum(r["abstained"] for r in answerable) / len(answerable), 4)
        if answerable else 0.0,
        "latency_p50_ms": round(percentile(latencies, 0.5), 2),
        "latency_p95_ms": round(percentile(latencies, 0.95), 2),
    }


def short_summary(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Short-answer metrics over the rows that have a gold for it, overall and by `type` and `answer_from`
    where rows carry them: short_exact, short_f1, wrong_short_rate (a short answer given that is not the
    gold, per question), short_precision (exact among those given)."""
    scored = [r for r in rows if "short_exact" in r]
    if not scored:
        return {}

    def figures(subset: list[dict[str, Any]], suffix: str = "") -> dict[str, float]:
        given = sum(r["short_given"] for r in subset)
        exact = sum(r["short_exact"] for r in subset)
        return {f"short_exact{suffix}": round(exact / len(subset), 4),
                f"short_f1{suffix}": round(statistics.fmean(r["short_f1"] for r in subset), 4),
                f"wrong_short_rate{suffix}": round(sum(r["wrong_short"] for r in subset) / len(subset), 4),
                f"short_precision{suffix}": round(exact / given, 4) if given else 0.0,
                f"short_questions{suffix}": len(subset)}

    out = figures(scored)
    for key in ("type", "answer_from"):
        for value in sorted({r[key] for r in scored if r.get(key)}):
            out |= figures([r for r in scored if r.get(key) == value], f"[{value}]")
    return out


def run_eval(
    engine: Engine,
    questions: list[Question],
    corpus: Path,
    embed: Callable[[Sequence[str]], np.ndarray],
    progress: Callable[[int, int], None] | None = None,
    scope: frozenset[str] | None = None,
) -> EvalReport:
    """Answer every question through the engine and score the answers; a question with a `scope` of its
    own is asked of those documents, the others of `scope` (None: all)."""
    documents: dict[str, Document | None] = {}
    rows = []
    for i, q in enumerate(questions):
        if progress:
            progress(i, len(questions))
        t0 = time.perf_counter()
        answer = engine.ask(q.question, scope=frozenset(q.scope) if q.scope else scope)
        latency = (time.perf_counter() - t0) * 1000
        # Citations are checked against their documents; a question's evidence pages need its sources' page maps.
        for source in [c.source for c in answer.citations] + (list(q.sources) if q.pages else []):
            if source not in documents:
                try:
                    documents[source] = load_document(corpus / source, corpus)
                except (LoadError, OSError):
                    documents[source] = None
        similarity = 0.0
        if q.answerable and not answer.abstained:
            vectors = embed([plain_text(answer.text), q.answer or ""])
            similarity = float(vectors[0] @ vectors[1])
        rows.append(evaluate_one(q, answer, latency, documents, similarity))
    if progress:
        progress(len(questions), len(questions))
    return EvalReport(summarize(rows), rows)
