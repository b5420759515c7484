"""Offline evaluation: question sets, metric functions and the runner.

Metrics are plain functions of plain values so each can be tested against hand-worked
tables. The runner answers every question through the same `Engine.ask` as `rag ask`,
and checks every citation against the document it names: a quote counts only if it is
the document's text at the cited offsets.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.app.engine import Engine, answer_json
from rag.load.corpus import LoadError, load_document
from rag.types import Answer, Document
from rag.answer.verify import lexical_check


class QuestionSetError(ValueError):
    """A question set line that cannot be used; the message names file and line."""


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answer: str | None
    facts: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    @property
    def answerable(self) -> bool:
        return self.answer is not None


def load_questions(path: Path) -> list[Question]:
    """Parse a JSONL question set, failing fast (before any model work) on a bad line."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError as exc:
        raise QuestionSetError(f"{path}: cannot read question set ({exc.strerror})") from None
    out: list[Question] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionSetError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise QuestionSetError(f"{where}: expected a JSON object")
        qid, text, answer = row.get("id"), row.get("question"), row.get("answer")
        facts, sources = row.get("facts", []), row.get("sources", [])
        if not isinstance(text, str) or not text.strip():
            raise QuestionSetError(f"{where}: field 'question' must be a non-empty string")
        if answer is not None and not isinstance(answer, str):
            raise QuestionSetError(f"{where}: field 'answer' must be a string or null")
        for name, value in (("facts", facts), ("sources", sources)):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise QuestionSetError(f"{where}: field '{name}' must be a list of strings")
        qid = str(qid) if qid is not None else f"line{number}"
        if qid in seen:
            raise QuestionSetError(f"{where}: duplicate id {qid!r}")
        seen.add(qid)
        out.append(Question(qid, text, answer, tuple(facts), tuple(sources)))
    if not out:
        raise QuestionSetError(f"{path}: no questions")
    return out


# ---------------------------------------------------------------- metric functions

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
    return all(_whole(normalize(f)).search(haystack) is not None for f in facts)


def _whole(fact: str) -> re.Pattern[str]:
    # Not inside a word, and not the tail or head of a longer number ("2.5" / "4.5").
    return re.compile(rf"(?<!\w)(?<!\d[.,]){re.escape(fact)}(?!\w)(?![.,]\d)")


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


_MARKER = re.compile(r"\s*\[(\d+)\]")


def answer_sentences(text: str) -> list[tuple[str, list[int]]]:
    """Split an answer into claims with their [n] markers.

    '- A rose. [1]\\n- B fell. [2][3]' -> [('A rose.', [1]), ('B fell.', [2, 3])]
    """
    out = []
    for line in text.splitlines():
        line = re.sub(r"^\s*[-*•]\s+", "", line).strip()
        if not line:
            continue
        ids = [int(n) for n in _MARKER.findall(line)]
        out.append((_MARKER.sub("", line).strip(), ids))
    return out


def plain_text(text: str) -> str:
    """The answer's words, for scoring against a reference: no bullets, no [n] markers.

    '- A rose. [1]\\n- B fell. [2][3]' -> 'A rose. B fell.'
    """
    return " ".join(claim for claim, _ in answer_sentences(text))


def supported(claim: str, passages: Sequence[str]) -> bool:
    """A claim is supported when the cited passages, together, contain it verbatim
    (extractive answers), or pass the lexical check the generative verifier uses: all its
    numbers and capitalised names, and at least 80% of its content words."""
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


# ---------------------------------------------------------------- the runner

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
    if claims:
        metrics |= {"citation_recall": cit_recall, "citation_precision": cit_precision}
    if answer.sentences:  # generative: the share of generated sentences that passed verification
        metrics["sentences_verified"] = sum(s.supported for s in answer.sentences) / len(answer.sentences)
    elif claims:  # extractive: every sentence is a quote, verified when it sits at its offsets
        metrics["sentences_verified"] = float(len(quotes) == len(answer.citations))
    return {
        "id": q.id, "question": q.question, "reference": q.answer, "facts": list(q.facts),
        "sources": list(q.sources), "answer": row["answer"], "abstained": answer.abstained,
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
    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "hit_at_k": mean("hit_at_k", answerable),
        "mrr": mean("mrr", answerable),
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


def run_eval(
    engine: Engine,
    questions: list[Question],
    corpus: Path,
    embed: Callable[[Sequence[str]], np.ndarray],
    progress: Callable[[int, int], None] | None = None,
) -> EvalReport:
    """Answer every question through the engine and score the answers."""
    documents: dict[str, Document | None] = {}
    rows = []
    for i, q in enumerate(questions):
        if progress:
            progress(i, len(questions))
        t0 = time.perf_counter()
        answer = engine.ask(q.question)
        latency = (time.perf_counter() - t0) * 1000
        for c in answer.citations:
            if c.source not in documents:
                try:
                    documents[c.source] = load_document(corpus / c.source, corpus)
                except LoadError:
                    documents[c.source] = None
        similarity = 0.0
        if q.answerable and not answer.abstained:
            vectors = embed([plain_text(answer.text), q.answer or ""])
            similarity = float(vectors[0] @ vectors[1])
        rows.append(evaluate_one(q, answer, latency, documents, similarity))
    if progress:
        progress(len(questions), len(questions))
    return EvalReport(summarize(rows), rows)
