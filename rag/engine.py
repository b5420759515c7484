"""The question-answering engine: an LCEL chain of retrieval and an answer step.

The CLI, the chat loop, the evaluation runner and the UI all go through `Engine.ask`, so
what is measured is what users get.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Protocol

from langchain_core.runnables import RunnableLambda

from rag.retriever import HybridRetriever
from rag.types import Answer, Hit

MAX_QUESTION_CHARS = 2000


class Answerer(Protocol):
    def answer(self, question: str, hits: list[Hit]) -> Answer: ...

    def passages_for(self, question: str, k: int) -> int: ...


class Engine:
    def __init__(self, retriever: HybridRetriever, answerer: Answerer) -> None:
        self.retriever = retriever
        self.answerer = answerer
        self.chain = RunnableLambda(self._retrieve) | RunnableLambda(self._answer)

    def _retrieve(self, request: dict[str, Any]) -> dict[str, Any]:
        t0 = time.perf_counter()
        k = self.answerer.passages_for(request["question"], request.get("k") or self.retriever.k)
        hits = self.retriever.search(request["question"], k)
        return {**request, "hits": hits, "retrieve_ms": (time.perf_counter() - t0) * 1000}

    def _answer(self, state: dict[str, Any]) -> Answer:
        t0 = time.perf_counter()
        answer = self.answerer.answer(state["question"], state["hits"])
        answer_ms = (time.perf_counter() - t0) * 1000
        timings = {"retrieve": round(state["retrieve_ms"], 2), "answer": round(answer_ms, 2)}
        timings["total"] = round(timings["retrieve"] + timings["answer"], 2)
        return dataclasses.replace(answer, timings_ms=timings)

    def ask(self, question: str, k: int | None = None) -> Answer:
        question = " ".join(question.split())[:MAX_QUESTION_CHARS]
        if not question:
            raise ValueError("the question is empty")
        result: Answer = self.chain.invoke({"question": question, "k": k})
        return result


def answer_json(answer: Answer) -> dict[str, Any]:
    """The `rag ask --json` object."""
    out: dict[str, Any] = {
        "question": answer.question,
        "answer": answer.text,
        "abstained": answer.abstained,
        "mode": answer.mode,
        "citations": [
            {"id": c.id, "source": c.source, "page": c.page, "start": c.start, "end": c.end, "quote": c.quote}
            for c in answer.citations
        ],
        "retrieved": [
            {"source": h.chunk.source, "chunk_id": h.chunk.id, "score": round(h.score, 6)} for h in answer.hits
        ],
        "timings_ms": answer.timings_ms,
    }
    if answer.sentences:
        out["sentences"] = [dataclasses.asdict(s) for s in answer.sentences]
    if answer.note:
        out["note"] = answer.note
    return out
