"""Hybrid retrieval: dense (FAISS cosine) and sparse (BM25) fused by reciprocal rank.

Dense vectors find paraphrases; BM25 finds the exact strings small embedding models blur
("GB300", "$14.2 billion", "Fairwater"). Reciprocal rank fusion needs no score
calibration between the two. Overlapping chunks of one passage are then collapsed so the
context is not several copies of the same paragraph.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.embed.base import Embedder
from rag.store.folder.store import IndexStore
from rag.text import terms
from rag.types import Hit


def rrf(rankings: list[list[int]], k: int = 60) -> dict[int, float]:
    """Reciprocal rank fusion: [[3, 1], [1, 2]] -> {1: 1/62 + 1/61, 3: 1/61, 2: 1/62}."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + 1.0 / (k + rank)
    return fused


def _overlap_ratio(a: tuple[int, int], b: tuple[int, int]) -> float:
    shared = min(a[1], b[1]) - max(a[0], b[0])
    return max(0, shared) / max(1, min(a[1] - a[0], b[1] - b[0]))


_WORD = re.compile(r"\w+")


def _vocabulary(text: str) -> set[str]:
    """Distinct lower-cased word tokens: enough to spot a near-duplicate passage, and a few
    times cheaper than the normalised tokens BM25 uses (this runs on every candidate)."""
    return set(_WORD.findall(text.lower()))


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, len(a | b))


class HybridRetriever(BaseRetriever):
    """A LangChain retriever over an `IndexStore`, so it plugs into any LangChain chain."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Any
    embedder: Any
    k: int = 5
    candidates: int = 40
    rrf_k: int = 60

    def search(self, query: str, k: int | None = None) -> list[Hit]:
        store: IndexStore = self.store
        embedder: Embedder = self.embedder
        k = k or self.k
        dense = store.dense_search(embedder.embed_query(query), self.candidates)
        sparse = store.sparse_search(terms(query), self.candidates)
        dense_rank = {row: r for r, (row, _) in enumerate(dense, start=1)}
        sparse_rank = {row: r for r, (row, _) in enumerate(sparse, start=1)}
        fused = rrf([[row for row, _ in dense], [row for row, _ in sparse]], self.rrf_k)
        order = sorted(fused, key=lambda row: (-fused[row], row))

        hits: list[Hit] = []
        seen: list[tuple[str, tuple[int, int], set[str]]] = []
        taken: set[str] = set()  # texts already in hits: an exact copy (a file saved twice) is skipped cheaply
        for row in order:
            chunk = store.chunks[row]
            if chunk.text in taken:
                continue
            vocab = _vocabulary(chunk.text)
            span = (chunk.start, chunk.end)
            if any(
                (src == chunk.source and _overlap_ratio(span, other) > 0.5) or _jaccard(vocab, v) > 0.9
                for src, other, v in seen
            ):
                continue
            seen.append((chunk.source, span, vocab))
            taken.add(chunk.text)
            hits.append(Hit(chunk, fused[row], dense_rank.get(row), sparse_rank.get(row)))
            if len(hits) == k:
                break
        return hits

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        return [
            LCDocument(
                page_content=hit.chunk.text,
                id=hit.chunk.id,
                metadata={
                    "source": hit.chunk.source,
                    "page": hit.chunk.page,
                    "section": hit.chunk.section,
                    "start": hit.chunk.start,
                    "end": hit.chunk.end,
                    "score": hit.score,
                },
            )
            for hit in self.search(query)
        ]
