"""The vector half of the index: exact search while it is fast, IVF with 8-bit codes beyond.

Up to FLAT_LIMIT vectors a flat inner-product index answers exactly within ~10 ms on two
cores; above it an IVF index with 8-bit scalar-quantized residuals keeps a million
vectors in a quarter of the memory and searches them in about a millisecond, with its
probe count calibrated on the data it indexes. Which one was built, and with what
parameters, is recorded in the manifest by the caller. index.py and this module are the
only ones that import faiss.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np

VECTORS = "vectors.faiss"
VECTORS_F16 = "vectors.f16.npy"
FLAT = "flat"
IVF_SQ8 = "ivf-sq8"

FLAT_LIMIT = 150_000
"""Most chunks kept in an exact (flat) index; above it the index is IVF with 8-bit codes.

Measured with one query at a time, 384 dimensions, one thread, on a shared 2-core AMD
EPYC (ranges: the machine was busy): a flat search takes p50 3-4 ms at 50k vectors,
6-10 ms at 100k, 9-10 ms at 150k, 15 ms at 175k, 11-18 ms at 200k and 42 ms at 500k.
150k is the largest size that stays near 10 ms; IVF above it takes about 1 ms at 1M.
"""

ANN_RECALL = 0.95
"""Recall@10 against exact search that the IVF probe count is chosen to reach."""

ANN_SCAN_LIMIT = 65_536
"""Most vectors an IVF search may scan (nprobe x list size): about 4 ms with 8-bit codes."""

ANN_SCAN_FLOOR = ANN_SCAN_LIMIT // 4
"""Vectors an IVF search scans at least (about 1 ms at 1M): a cheap margin, as nprobe is
calibrated with chunks as queries and questions may sit less close to their neighbours."""

_CALIBRATION_QUERIES = 256
_BLOCK = 65_536  # rows converted to float32 at a time while writing

THREADS = 1
"""FAISS threads for readers and writers: a single-query search gains nothing from a second
one, and on a busy 2-core machine OpenMP's spinning made a flat search 5-10x slower with two
threads (and IVF training no faster). Process-wide, so set by the edges (`set_threads`)."""


def set_threads(n: int = THREADS) -> None:
    """FAISS's OpenMP thread count for the whole process: called by the CLI and the tests, never on import."""
    faiss.omp_set_num_threads(n)

log = logging.getLogger(__name__)


def choose(n: int, forced: str | None = None) -> str:
    """The index kind for n vectors: flat up to FLAT_LIMIT, unless a kind is forced."""
    kind = forced or (FLAT if n <= FLAT_LIMIT else IVF_SQ8)
    if kind not in (FLAT, IVF_SQ8):
        raise ValueError(f"unknown vector index {kind!r}: use {FLAT!r} or {IVF_SQ8!r}")
    return kind


def write_vectors(folder: Path, vectors: np.ndarray, kind: str) -> dict[str, int | float | str]:
    """vectors.faiss (and, for IVF, vectors.f16.npy); returns the manifest's "vector_index"."""
    n, dim = vectors.shape
    if kind == FLAT or n == 0:
        flat = faiss.IndexFlatIP(dim)
        for start in range(0, n, _BLOCK):
            flat.add(np.ascontiguousarray(vectors[start : start + _BLOCK], dtype=np.float32))
        faiss.write_index(flat, str(folder / VECTORS))
        return {"type": FLAT}
    # IVF codes cannot give back the vectors, so a float16 copy keeps them for the next
    # ingest; the index is built from that copy, so a rebuild from reused vectors is identical.
    stored = np.lib.format.open_memmap(folder / VECTORS_F16, mode="w+", dtype=np.float16, shape=(n, dim))
    for start in range(0, n, _BLOCK):
        stored[start : start + _BLOCK] = vectors[start : start + _BLOCK]
    stored.flush()
    index, info = _build_ivf(stored)
    faiss.write_index(index, str(folder / VECTORS))
    return info


def _build_ivf(stored: np.ndarray) -> tuple[faiss.Index, dict[str, int | float | str]]:
    """IVF over inner product with 8-bit codes of each vector's residual to its list centroid.

    nlist is 4*sqrt(n) (at least 39 training vectors per list), trained on 40 vectors a
    list. nprobe is then calibrated on this very data: twice the smallest power of two
    whose recall@10 against exact search reaches ANN_RECALL, and at least enough lists to
    scan ANN_SCAN_FLOOR vectors, within ANN_SCAN_LIMIT.
    """
    n, dim = stored.shape
    nlist = max(1, min(int(4 * math.sqrt(n)), n // 39))
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(n, size=min(n, 40 * nlist), replace=False))
    index = faiss.IndexIVFScalarQuantizer(
        faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    index.train(np.asarray(stored[sample], dtype=np.float32))
    del sample
    for start in range(0, n, _BLOCK):
        index.add(np.asarray(stored[start : start + _BLOCK], dtype=np.float32))

    limit = max(1, min(nlist, nlist * ANN_SCAN_LIMIT // n))
    floor = max(1, min(limit, nlist * ANN_SCAN_FLOOR // n))
    ladder = [p for p in (2**i for i in range(nlist.bit_length())) if p < limit] + [limit]
    measure = _recall_meter(stored, rng)
    chosen = limit
    for nprobe in ladder:
        index.nprobe = nprobe
        if measure(index) >= ANN_RECALL:
            chosen = min(limit, max(2 * nprobe, floor))
            break
    index.nprobe = chosen
    recall = measure(index)
    if recall < ANN_RECALL:
        log.warning("IVF recall@10 on this data is %.3f with nprobe %d of %d lists", recall, chosen, nlist)
    return index, {"type": IVF_SQ8, "nlist": nlist, "nprobe": chosen, "recall_at_10": round(recall, 4)}


def _recall_meter(stored: np.ndarray, rng: np.random.Generator, k: int = 10) -> Callable[[faiss.Index], float]:
    """A function giving an index's recall@k against exact search, over stored vectors as queries.

    Each query's own row is left out of both result lists; a result counts as found when
    its exact score reaches the k-th best exact score, so ties (duplicate chunks) do not
    count as misses.
    """
    n = len(stored)
    k = min(k, n - 1)
    picks = np.sort(rng.choice(n, size=min(n, _CALIBRATION_QUERIES), replace=False))
    queries = np.asarray(stored[picks], dtype=np.float32)
    best = np.full((len(picks), max(k, 1)), -np.inf, dtype=np.float32)
    for start in range(0, n if k > 0 else 0, _BLOCK):
        scores = queries @ np.asarray(stored[start : start + _BLOCK], dtype=np.float32).T
        own = (picks >= start) & (picks < start + scores.shape[1])
        scores[np.flatnonzero(own), picks[own] - start] = -np.inf
        best = -np.partition(-np.concatenate([best, scores], axis=1), k - 1, axis=1)[:, :k]
    kth = best.min(axis=1)

    def recall(index: faiss.Index) -> float:
        if k <= 0:
            return 1.0
        _, found = index.search(queries, k + 1)
        hits = 0
        for i, rows in enumerate(found):
            rows = [r for r in rows if r >= 0 and r != picks[i]][:k]
            exact = np.asarray(stored[np.sort(rows)], dtype=np.float32) @ queries[i] if rows else np.zeros(0)
            hits += int(np.sum(exact >= kth[i] - 1e-5))
        return hits / (k * len(picks))

    return recall
