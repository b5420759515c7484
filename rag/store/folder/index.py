"""A loaded generation of the folder index: the read side that retrieval and answering use."""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import bm25s
import faiss
import numpy as np
from cachetools import LRUCache

from rag.store.base import FileEntry, IndexInfo, IndexUnavailable
from rag.store.folder.chunks import ChunkStore
from rag.store.folder.generation import CHUNKS, OFFSETS, live_generation, verify_checksums
from rag.store.folder.manifest import FORMAT, Manifest
from rag.store.folder.vectors import FLAT, IVF_SQ8, VECTORS, VECTORS_F16
from rag.types import Chunk

FILES_CACHED = 64
"""Files whose vectors and section paths a loaded index keeps for routed searches: about 1.6 MB for a
1,000-chunk filing at 384 dimensions, so some 100 MB at most."""


class FolderIndex:
    """A loaded, read-only generation of the index. Keys are row numbers, which stay inside
    this package: a file's rows are a contiguous range found from the manifest alone."""

    def __init__(
        self,
        path: Path,
        manifest: Manifest,
        chunks: ChunkStore,
        vectors: faiss.Index,
        stored: np.ndarray | None,
        bm25: bm25s.BM25 | None,
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.chunks = chunks
        self._vectors = vectors
        self._stored = stored  # float16 rows, memory-mapped, when the faiss index keeps only codes
        self._bm25 = bm25
        self._file_rows = manifest.file_rows()
        # Per file, for routed searches: its vectors (float32, exact) and its chunks' section paths. A question
        # is routed to a few files, and the next questions mostly to the same ones; both are read once.
        self._file_vectors: LRUCache[str, np.ndarray] = LRUCache(maxsize=FILES_CACHED)
        self._file_sections: LRUCache[str, list[str | None]] = LRUCache(maxsize=FILES_CACHED)
        self._cache_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.chunks)

    @classmethod
    def load(cls, root: Path) -> FolderIndex:
        gen = live_generation(root)
        if gen is None:
            raise IndexUnavailable(f"no index in {root}: run `rag ingest` first")
        verify_checksums(gen, root)
        try:
            manifest = Manifest.from_json((gen / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise IndexUnavailable(f"index in {root} is damaged ({exc}): run `rag ingest --rebuild`") from exc
        if manifest.format != FORMAT:
            raise IndexUnavailable(
                f"index in {root} has format {manifest.format}, this version reads format {FORMAT}: "
                "run `rag ingest --rebuild`"
            )
        kind = manifest.vector_index.get("type")
        try:
            chunks = ChunkStore.open(gen / CHUNKS, gen / OFFSETS)
            vectors = faiss.read_index(str(gen / VECTORS))
            stored = None
            if kind == IVF_SQ8:
                faiss.extract_index_ivf(vectors).nprobe = int(manifest.vector_index["nprobe"])
                stored = np.load(gen / VECTORS_F16, mmap_mode="r", allow_pickle=False)
            elif kind != FLAT:
                raise ValueError(f"unknown vector index {kind!r}")
            bm25 = bm25s.BM25.load(str(gen / "bm25"), mmap=True) if len(chunks) else None
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
            raise IndexUnavailable(f"index in {root} is damaged ({exc}): run `rag ingest --rebuild`") from exc
        consistent = (
            vectors.ntotal == len(chunks) == manifest.chunks
            and (not len(chunks) or vectors.d == manifest.dim)
            and (stored is None or stored.shape == (len(chunks), manifest.dim))
            and (not manifest.files or sum(e.chunks for e in manifest.files.values()) == len(chunks))
        )
        if not consistent:
            raise IndexUnavailable(
                f"index in {root} is inconsistent ({vectors.ntotal} vectors, {len(chunks)} chunks, "
                f"manifest says {manifest.chunks}): run `rag ingest --rebuild`"
            )
        return cls(gen, manifest, chunks, vectors, stored, bm25)

    def dense_search(self, query: np.ndarray, k: int,
                     sources: Collection[str] | None = None) -> list[tuple[int, float]]:
        """Nearest rows by inner product (the vectors are normalised: cosine).

        Within `sources`, the files' rows are scored exactly against their stored vectors: a
        routed search covers a few files of a few thousand rows, where a brute-force product
        takes well under a millisecond and needs no index of its own.
        """
        if not len(self) or k <= 0:
            return []
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        if sources is not None:
            rows = self._rows_of(sources)
            if not len(rows):
                return []
            scores = np.concatenate([self._vectors_of(s) for s in sorted(sources) if s in self._file_rows]) @ q[0]
            best = np.argsort(-scores, kind="stable")[:k]
            return [(int(rows[i]), float(scores[i])) for i in best]
        found, ids = self._vectors.search(q, min(k, len(self)))
        return [(int(r), float(s)) for r, s in zip(ids[0], found[0], strict=True) if r >= 0]

    def sparse_search(self, query_terms: Sequence[str], k: int,
                      sources: Collection[str] | None = None) -> list[tuple[int, float]]:
        """Rows with a positive BM25 score, best first (ties by row); within `sources` when given.

        bm25s scores every row; the top k are then picked among the matching rows only.
        Its own top-k runs np.argpartition over all rows, which mostly hold a tied 0.0
        and then took 15 ms at 100k rows, against 0.6 ms for the matching ones. Term
        statistics stay the whole index's, so a routed search ranks as the global one does.
        """
        vocab = self._bm25.vocab_dict if self._bm25 is not None else {}
        ids = [vocab[t] for t in query_terms if t in vocab]
        if not ids or self._bm25 is None or k <= 0:
            return []
        scores = self._bm25.get_scores(ids)
        if sources is not None:
            rows = self._rows_of(sources)
            rows = rows[scores[rows] > 0]
        else:
            rows = np.flatnonzero(scores > 0)
        if len(rows) > k:
            rows = rows[np.argpartition(-scores[rows], k - 1)[:k]]
        rows = rows[np.lexsort((rows, -scores[rows]))]
        return [(int(r), float(scores[r])) for r in rows]

    def vectors(self, rows: Sequence[int]) -> np.ndarray:
        """The stored vectors of `rows`, as the next ingest reuses them.

        Exact for a flat index. For IVF they come from the float16 copy, and float16 ->
        float32 -> float16 changes nothing, so re-ingesting never drifts a vector.
        """
        keys = np.asarray(rows, dtype=np.int64)
        if not len(keys):
            return np.zeros((0, self.manifest.dim), dtype=np.float32)
        if self._stored is not None:
            return np.asarray(self._stored[keys], dtype=np.float32)
        return np.asarray(self._vectors.reconstruct_batch(keys), dtype=np.float32)

    def _vectors_of(self, source: str) -> np.ndarray:
        with self._cache_lock:
            cached = self._file_vectors.get(source)
        if cached is None:
            cached = self.vectors(self.rows_for(source))
            with self._cache_lock:
                self._file_vectors[source] = cached
        return cached

    def sections_for(self, source: str) -> list[tuple[int, str | None]]:
        """(key, section path) of each chunk of `source`, in document order."""
        with self._cache_lock:
            cached = self._file_sections.get(source)
        if cached is None:
            cached = [chunk.section for chunk in self.chunks_for(source)]
            with self._cache_lock:
                self._file_sections[source] = cached
        return list(zip(self.rows_for(source), cached, strict=True))

    def _rows_of(self, sources: Collection[str]) -> np.ndarray:
        ranges = [self._file_rows[s] for s in sorted(sources) if s in self._file_rows]
        return np.concatenate([np.arange(a, b) for a, b in ranges]) if ranges else np.zeros(0, dtype=np.int64)

    def rows_for(self, source: str) -> list[int]:
        start, stop = self._file_rows.get(source, (0, 0))
        return list(range(start, stop))

    @property
    def info(self) -> IndexInfo:
        return self.manifest.info

    def files(self) -> Mapping[str, FileEntry]:
        return self.manifest.files

    def chunk(self, key: int) -> Chunk:
        return self.chunks[key]

    def chunks_for(self, source: str) -> list[Chunk]:
        return [self.chunks[row] for row in self.rows_for(source)]

    def vectors_for(self, source: str) -> np.ndarray:
        return self.vectors(self.rows_for(source))
