"""The question-answering engine: an LCEL chain of retrieval and an answer step.

The CLI, the chat loop, the evaluation runner and the UI all go through `Engine.ask`, so
what is measured is what users get.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Collection, Iterator
from typing import Any, Protocol

from langchain_core.runnables import RunnableGenerator, RunnableLambda

from rag.retrieve.hybrid import HybridRetriever
from rag.retrieve.tables import DEEPER, nearest_tables, rest_of_tables
from rag.types import Answer, Hit

MAX_QUESTION_CHARS = 2000
SUB_QUERY_PASSAGES = 3
"""Passages added per further search an answer asks for (`Answerer.queries_for`): an operand is one row."""


class Answerer(Protocol):
    def answer(self, question: str, hits: list[Hit]) -> Answer: ...

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str | Answer]:
        """Text pieces as they are ready (joined with a line break, the answer's text), then the Answer."""
        ...

    def passages_for(self, question: str, k: int) -> int: ...

    def queries_for(self, question: str) -> list[str]:
        """Searches besides the question whose passages the answer needs (a calculation's operands)."""
        ...

    def reads_tables(self, question: str) -> bool:
        """Whether the answer is read from a table where one holds it: a figure, a period's, a computed step."""
        ...


class Engine:
    """retriever | answer step, as one LCEL chain that streams text and ends with the Answer."""

    def __init__(self, retriever: HybridRetriever, answerer: Answerer) -> None:
        self.retriever = retriever
        self.answerer = answerer
        self.chain = RunnableLambda(self._retrieve) | RunnableGenerator(self._answer)

    def _retrieve(self, request: dict[str, Any]) -> dict[str, Any]:
        t0 = time.perf_counter()
        hits = self.passages(request["question"], request.get("k"), request.get("scope"))
        return {**request, "hits": hits, "retrieve_ms": (time.perf_counter() - t0) * 1000}

    def passages(self, question: str, k: int | None = None, scope: Collection[str] | None = None) -> list[Hit]:
        """The passages the answer step reads for `question`: the search's, a nearest table for a figure's
        question whose passages are all prose, the rest of the tables they cut, and each further search the
        answerer asks for. What a bench measures of retrieval is this, the product's own."""
        k = self.answerer.passages_for(question, k or self.retriever.k)
        hits = self.retriever.search(question, k, scope)
        if not any(hit.chunk.tables for hit in hits) and self.answerer.reads_tables(question):
            hits += nearest_tables(self.retriever.search(question, k * DEEPER, scope), hits)
        hits += rest_of_tables(self.retriever.store, hits)  # a table is read whole
        seen = {hit.chunk.id for hit in hits}
        for query in self.answerer.queries_for(question):
            for hit in self.retriever.search(query, SUB_QUERY_PASSAGES, scope):
                if hit.chunk.id not in seen:
                    seen.add(hit.chunk.id)
                    hits.append(hit)
        return hits

    def _answer(self, states: Iterator[dict[str, Any]]) -> Iterator[str | Answer]:
        """Stream the answer step: text pieces as they are ready, then the final Answer with its timings."""
        for state in states:
            t0 = time.perf_counter()
            items = self.answerer.stream(state["question"], state["hits"])
            for item in items:
                if isinstance(item, Answer):
                    answer_ms = (time.perf_counter() - t0) * 1000
                    timings = {"retrieve": round(state["retrieve_ms"], 2), "answer": round(answer_ms, 2)}
                    timings["total"] = round(timings["retrieve"] + timings["answer"], 2)
                    yield dataclasses.replace(item, timings_ms=timings)
                else:
                    yield item

    def stream(self, question: str, k: int | None = None,
               scope: Collection[str] | None = None) -> Iterator[str | Answer]:
        """The answer to `question` from the documents in `scope` (sources as indexed; None: all of them)."""
        question = " ".join(question.split())[:MAX_QUESTION_CHARS]
        if not question:
            raise ValueError("the question is empty")
        yield from self.chain.stream({"question": question, "k": k, "scope": frozenset(scope) if scope else None})

    def ask(self, question: str, k: int | None = None, scope: Collection[str] | None = None) -> Answer:
        final = None
        for item in self.stream(question, k, scope):
            if isinstance(item, Answer):
                final = item
        if final is None:
            raise RuntimeError("the answer step produced no answer")
        return final


def answer_json(answer: Answer) -> dict[str, Any]:
    """The `rag ask --json` object."""
    out: dict[str, Any] = {
        "question": answer.question,
        "answer": answer.text,
        "abstained": answer.abstained,
        "mode": answer.mode,
        "citations": [
            {"id": c.id, "source": c.source, "page": c.page, "start": c.start, "end": c.end, "quote": c.quote,
             **({"header": c.header} if c.header else {})}
            for c in answer.citations
        ],
        "retrieved": [
            {"source": h.chunk.source, "chunk_id": h.chunk.id, "page": h.chunk.page, "section": h.chunk.section,
             "score": round(h.score, 6)} for h in answer.hits
        ],
        "timings_ms": answer.timings_ms,
        "short_answer": answer.short.text if answer.short else None,
        "short_answer_derivation": answer.short.derivation if answer.short else None,
    }
    if answer.short:
        out["short"] = dataclasses.asdict(answer.short)
    if answer.sentences:
        out["sentences"] = [dataclasses.asdict(s) for s in answer.sentences]
    if answer.note:
        out["note"] = answer.note
    if answer.model:
        out["model"] = answer.model
    return out
