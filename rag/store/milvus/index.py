"""One state of the Milvus store, as retrieval and answering read it: pinned to its collection.

The alias moves to a newer state when an ingest completes; an index opened before keeps
reading the collection it was opened on, as a folder index keeps its generation.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from cachetools import LRUCache

from rag.store.base import FileEntry, IndexInfo, IndexUnavailable
from rag.store.milvus.schema import (
    CHUNK_FIELDS,
    DENSE,
    KEY,
    SECTION,
    SPARSE,
    chunk_from,
    file_ranges,
    key_filter,
    terms_text,
)
from rag.types import Chunk

if TYPE_CHECKING:
    from pymilvus import MilvusClient

MAX_TOPK = 16_384
"""Most results one Milvus search or query returns. A routed search asks for every chunk of its
files (k = len(index)); past this many chunks in them it gets the best 16,384."""

PREFETCH = 100
"""Searches for at most this many results fetch the chunks with them (the retriever asks for 40 and
reads the few it keeps); larger ones return keys only, and `chunk` fetches what is read."""

CHUNKS_CACHED = 4096
FILES_CACHED = 64


class MilvusIndex:
    """A complete state: its manifest read when opened, its chunks fetched as they are asked for.
    Keys are 0..n-1, each file a contiguous range in sorted order (see schema.py)."""

    def __init__(self, client: MilvusClient, collection: str, info: IndexInfo, files: Mapping[str, FileEntry]) -> None:
        self._client = client
        self.collection = collection
        self._info = info
        self._files = dict(files)
        self._ranges = file_ranges(files)
        self._len = sum(entry.chunks for entry in files.values())
        self._chunks: LRUCache[int, Chunk] = LRUCache(maxsize=CHUNKS_CACHED)
        self._sections: LRUCache[str, list[tuple[int, str | None]]] = LRUCache(maxsize=FILES_CACHED)
        self._cache_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MilvusIndex({self.collection!r}, {self._len} chunks)"

    @property
    def info(self) -> IndexInfo:
        return self._info

    def files(self) -> Mapping[str, FileEntry]:
        return self._files

    def __len__(self) -> int:
        return self._len

    def chunk(self, key: int) -> Chunk:
        with self._cache_lock:
            cached = self._chunks.get(key)
        if cached is not None:
            return cached
        rows = self._client.query(self.collection, filter=f"{KEY} == {int(key)}", output_fields=CHUNK_FIELDS)
        if not rows:
            raise IndexError(f"no chunk {key} in {self.collection}")
        return self._remember(rows)[0]

    def chunks_for(self, source: str) -> list[Chunk]:
        return self._remember(self._rows(source, CHUNK_FIELDS))

    def vectors_for(self, source: str) -> np.ndarray:
        rows = self._rows(source, [KEY, DENSE])
        if not rows:
            return np.zeros((0, self._info.dim), dtype=np.float32)
        return np.asarray([row[DENSE] for row in rows], dtype=np.float32)

    def sections_for(self, source: str) -> list[tuple[int, str | None]]:
        """(key, section path) of each chunk of `source`, in document order; kept for the next questions,
        which are mostly routed to the same files."""
        with self._cache_lock:
            cached = self._sections.get(source)
        if cached is None:
            cached = [(int(row[KEY]), row[SECTION]) for row in self._rows(source, [KEY, SECTION])]
            with self._cache_lock:
                self._sections[source] = cached
        return list(cached)

    def dense_search(self, query: np.ndarray, k: int,
                     sources: Collection[str] | None = None) -> list[tuple[int, float]]:
        """Nearest chunks by inner product (cosine: the vectors are normalised), best first."""
        vector = np.asarray(query, dtype=np.float32).reshape(-1).tolist()
        return self._search(vector, DENSE, "IP", k, sources)

    def sparse_search(self, query_terms: Sequence[str], k: int,
                      sources: Collection[str] | None = None) -> list[tuple[int, float]]:
        """Chunks by Milvus' BM25 over the same terms the folder index uses, best first.

        Term statistics are the whole collection's, so a routed search ranks as the global one
        does (Milvus Lite keeps them per segment: one per state unless it outgrows 128 MB).
        """
        text = terms_text(query_terms)
        if not text:
            return []
        return [(key, score) for key, score in self._search(text, SPARSE, "BM25", k, sources) if score > 0]

    def _search(self, data: Any, field: str, metric: str, k: int,
                sources: Collection[str] | None) -> list[tuple[int, float]]:
        ranges = list(self._ranges.values()) if sources is None else [
            self._ranges[s] for s in sources if s in self._ranges]
        limit = min(k, sum(stop - start for start, stop in ranges), MAX_TOPK)
        if limit <= 0:
            return []
        fields = CHUNK_FIELDS if limit <= PREFETCH else [KEY]
        hits = self._client.search(
            self.collection, data=[data], anns_field=field, limit=limit,
            filter=key_filter(ranges) if sources is not None else "", output_fields=fields,
            search_params={"metric_type": metric},
        )[0]
        if limit <= PREFETCH:
            self._remember([hit["entity"] for hit in hits])
        # Milvus Lite reports a BM25 match as a negative distance, a server as a positive score: both
        # list the best first, and the score is its size. Ties are broken by key, as the folder index does.
        found = [(int(hit[KEY]), abs(float(hit["distance"])) if metric == "BM25" else float(hit["distance"]))
                 for hit in hits]
        return sorted(found, key=lambda pair: (-pair[1], pair[0]))

    def _rows(self, source: str, fields: list[str]) -> list[dict[str, Any]]:
        """The rows of `source` in key order, a page of keys at a time (a query returns at most MAX_TOPK)."""
        start, stop = self._ranges.get(source, (0, 0))
        rows: list[dict[str, Any]] = []
        for first in range(start, stop, MAX_TOPK):
            last = min(first + MAX_TOPK, stop)
            rows += self._client.query(self.collection, filter=key_filter([(first, last)]), output_fields=fields,
                                       limit=last - first)
        rows.sort(key=lambda row: int(row[KEY]))
        if len(rows) != stop - start:
            raise IndexUnavailable(f"Milvus collection {self.collection} holds {len(rows)} of the {stop - start} "
                                   f"chunks of {source}: run `rag ingest --rebuild`")
        return rows

    def _remember(self, entities: Sequence[Mapping[str, Any]]) -> list[Chunk]:
        chunks = [chunk_from(entity) for entity in entities]
        with self._cache_lock:
            for entity, chunk in zip(entities, chunks, strict=True):
                self._chunks[int(entity[KEY])] = chunk
        return chunks
