"""Hybrid retrieval: dense (FAISS cosine) and sparse (BM25) fused by reciprocal rank.

Dense vectors find paraphrases; BM25 finds the exact strings small embedding models blur
("GB300", "$14.2 billion", "Fairwater"). Reciprocal rank fusion needs no score
calibration between the two. Overlapping chunks of one passage are then collapsed so the
context is not several copies of the same paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Annotated

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr, SkipValidation

from rag.config import K
from rag.embed.base import Embedder
from rag.packs import Steer, Steering
from rag.retrieve.fuse import RRF_K, jaccard, overlap_ratio, rrf, vocabulary
from rag.store.base import Index
from rag.text import capitalised_names, terms
from rag.types import Hit

RARE = 0.1
"""A name the question uses held by at most this share of the passages scopes its search to the documents
holding it."""


class HybridRetriever(BaseRetriever):
    """A LangChain retriever over any store's `Index`, so it plugs into any LangChain chain."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Annotated[Index, SkipValidation]
    embedder: Annotated[Embedder, SkipValidation]
    k: int = K
    candidates: int = 40
    """Passages taken from each of the dense and sparse rankings before fusion (see bench/RESULTS.md).
    Sweep (bench/sweep_answer.py, the seed set and the held-out halves): fact recall seed / squad / finance
    0.82 / 0.64 / 1.00 here; 20: the same; 80: 0.82 / 0.64 / 0.92."""
    rrf_k: int = RRF_K
    max_overlap: float = 0.5
    """A passage sharing more than this share of its characters with a chosen one of the same file is skipped.
    Sweep: 0.0: 0.82 / 0.48 / 1.00; 0.25 and 1.0: as here."""
    max_jaccard: float = 0.9
    """A passage whose word set is this close to a chosen one's (a copied file, a repeated table) is skipped.
    Neither filter binds on the three question sets (1.0 turns it off at no cost there); they are there for
    copied files and near-identical passages, which tests/test_retriever.py holds them to.
    Sweep: 0.0: 0.71 / 0.44 / 0.58; 0.45 and 1.0: as here."""

    steer: Annotated[Steering | None, SkipValidation] = None
    """What the domain packs the documents switched on add to a question (`rag.packs.Steer`): the documents
    it names are searched again on their own, with their wording for its terms, and among their sections
    that discuss what it asks; each such ranking joins the fusion. The part of a filing an open question is about
    takes the last place when no passage found comes from it. None: plain hybrid search."""

    _sections: dict[tuple[frozenset[str], tuple[re.Pattern[str], ...]], frozenset[int]] = PrivateAttr(
        default_factory=dict)

    def search(self, query: str, k: int | None = None, scope: Collection[str] | None = None) -> list[Hit]:
        """The k best passages for the query; only from the documents in `scope` when it is given (a person
        who knows which filing they mean, or a question set's `scope`)."""
        store, embedder, n = self.store, self.embedder, self.candidates
        k = k or self.k
        steer = self.steer(query) if self.steer is not None else Steer()
        chosen = frozenset(scope or ())  # the documents the question is asked of, when it is asked of some
        if scope is None and not steer.routed:
            scope = self.documents_named(query)
        # Searched as the question's: the documents it names; else those of the pack among the ones it is asked
        # of (a user's chosen filing). Not among those a rare name scopes it to: a filing that mentions
        # "Microsoft" is not what a question about Microsoft asks of.
        routed = steer.routed if scope is None else (steer.routed & frozenset(scope) or steer.among & chosen)
        named = steer.named if routed else {}
        # The documents' wording is for a question about them: an article's "revenue" is not a caption.
        extra = " ".join(steer.wording) if routed else ""
        vector, words = embedder.embed_query(query), terms(f"{query} {extra}" if extra else query)
        dense = store.dense_search(vector, n, scope)
        sparse = store.sparse_search(words, n, scope)
        dense_rank = {row: r for r, (row, _) in enumerate(dense, start=1)}
        sparse_rank = {row: r for r, (row, _) in enumerate(sparse, start=1)}
        rankings = [[row for row, _ in dense], [row for row, _ in sparse]]
        if routed:
            # The named documents searched on their own: their passages gain a second vote in the fusion.
            expanded = embedder.embed_query(f"{query} {extra}") if extra else vector
            ranked = [row for row, _ in store.dense_search(expanded, len(store), routed)]
            rankings += [ranked[:n], [row for row, _ in store.sparse_search(words, n, routed)]]
            if extra:
                rankings.append([row for row, _ in store.dense_search(embedder.embed_query(extra), n, routed)])
            # The sections that discuss what is asked ("shown in the cash flow statement", "the risks"): in those
            # documents, their passages in the order of the routed search.
            if steer.sections:
                titled = self._titled(routed, steer.sections)
                rankings.append([row for row in ranked if row in titled][:n])
        fused = rrf(rankings, self.rrf_k)
        order = sorted(fused, key=lambda row: (-fused[row], row))
        hits = self._distinct(order, fused, k, dense_rank, sparse_rank, named)
        if steer.topics and routed and hits:
            # The part of a filing the question is about ("Risk Factors" for its risks), when no passage found
            # comes from it: its best passage in the routed search takes the last place.
            about = self._titled(routed, steer.topics)
            if not any(hit.key in about for hit in hits):
                inside = [row for row in ranked if row in about]
                for row in inside:
                    fused.setdefault(row, 0.0)
                kept = hits[:-1]
                hits = kept + (self._distinct(inside, fused, 1, dense_rank, sparse_rank, named, kept) or hits[-1:])
        return hits

    def _titled(self, sources: Collection[str], titles: tuple[re.Pattern[str], ...]) -> frozenset[int]:
        """The rows of these documents whose section path has one of these titles (kept per documents and
        titles: a store's sections do not change under its retriever)."""
        key = (frozenset(sources), titles)
        rows = self._sections.get(key)
        if rows is None:
            rows = frozenset(row for source in key[0] for row, section in self.store.sections_for(source)
                             if section and any(t.search(section) for t in titles))
            self._sections[key] = rows
        return rows

    def _distinct(self, order: list[int], fused: dict[int, float], k: int, dense_rank: dict[int, int],
                  sparse_rank: dict[int, int], named: Mapping[str, frozenset[str]],
                  chosen: Sequence[Hit] = ()) -> list[Hit]:
        """The first k passages of `order` that are not copies or large overlaps of one already chosen."""
        store = self.store

        hits: list[Hit] = []
        seen = [(hit.chunk.source, (hit.chunk.start, hit.chunk.end), vocabulary(hit.chunk.text)) for hit in chosen]
        taken = {hit.chunk.text for hit in chosen}  # an exact copy (a file saved twice) is skipped cheaply
        for row in order:
            chunk = store.chunk(row)
            if chunk.text in taken:
                continue
            vocab = vocabulary(chunk.text)
            span = (chunk.start, chunk.end)
            if any(
                (src == chunk.source and overlap_ratio(span, other) > self.max_overlap)
                or jaccard(vocab, v) > self.max_jaccard
                for src, other, v in seen
            ):
                continue
            seen.append((chunk.source, span, vocab))
            taken.add(chunk.text)
            hits.append(Hit(chunk, fused[row], dense_rank.get(row), sparse_rank.get(row),
                            named.get(chunk.source, frozenset()), key=row))
            if len(hits) == k:
                break
        return hits

    def documents_named(self, query: str) -> frozenset[str] | None:
        """The documents that hold every rare name the question uses ("CoreWeave"), when some do and not all:
        a question about a company is about the documents that name it, not the filings that share its other
        words. A name in more than a tenth of the passages is no one document's; None: no such name."""
        store = self.store
        found: frozenset[str] | None = None
        for word in capitalised_names(query):
            rows = store.sparse_search(terms(word), len(store))
            if not rows or len(rows) > RARE * len(store):
                continue
            # The index's terms are stemmed ("Mars" and "Mar." are one term): the word itself, as written.
            exact = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)")
            held: set[str] = set()
            for row, _ in rows:
                chunk = store.chunk(row)
                if chunk.source not in held and exact.search(chunk.text):
                    held.add(chunk.source)
            sources = frozenset(held)
            if not sources:
                continue
            found = sources if found is None else found & sources
        if not found or len(found) == len(store.files()):
            return None
        return found

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
