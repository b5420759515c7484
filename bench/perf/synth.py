"""Indexes of 10k to 1M chunks grown from the ~2k real chunks of the bench corpus.

Embedding a million chunks would take hours on two cores, so larger indexes reuse real
text and real vectors: row i holds the text of real chunk i mod B under a distinct source
("synth-0003/Normans.txt"), and its vector is that chunk's real embedding plus gaussian
noise, re-normalised. The first B rows are the real chunks with their real embeddings.
Copies are numbered so that rows stay grouped by file in sorted-source order, as the
index writer requires.

Query latency, memory and disk then scale as they would with a real corpus of that size;
what the noise cannot reproduce is the neighbourhood structure of truly different texts,
so ANN recall here is indicative, not a quality figure.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, overload

import numpy as np

from rag.store.base import FileEntry
from rag.store.folder import generation as rag_index
from rag.store.folder.generation import live_generation, write_generation
from rag.store.folder.manifest import Manifest
from rag.text import terms
from rag.types import Chunk

NOISE_SIGMA = 0.02  # per dimension: |noise| ~ 0.39 for 384 dims, cosine to the real vector ~ 0.93
SEED = 1234


class SynthChunks(Sequence[Chunk]):
    """N chunks made on demand from B real ones, so a million are never all held at once."""

    def __init__(self, base: Sequence[Chunk], n: int) -> None:
        self.base = sorted(base, key=lambda c: c.source)  # stable: a file's chunks keep their order
        self.n = n

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, i: int) -> Chunk: ...

    @overload
    def __getitem__(self, i: slice) -> list[Chunk]: ...

    def __getitem__(self, i: int | slice) -> Chunk | list[Chunk]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self.n))]
        if not -self.n <= i < self.n:
            raise IndexError(i)
        i %= self.n
        copy, chunk = divmod(i, len(self.base))
        real = self.base[chunk]
        return replace(real, id=f"{real.id}-{copy}", source=synth_source(copy, real.source))

    def __iter__(self) -> Iterator[Chunk]:
        return (self[i] for i in range(self.n))


def synth_source(copy: int, source: str) -> str:
    """(3, 'Normans.txt') -> 'synth-0003/Normans.txt': copies sort in numeric order."""
    return f"synth-{copy:04d}/{source}"


def synth_vectors(base: np.ndarray, n: int, sigma: float = NOISE_SIGMA, seed: int = SEED,
                  block: int = 65536) -> np.ndarray:
    """Rows 0..B-1 are `base`; later rows are base[i mod B] + N(0, sigma), unit length again."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, block):
        rows = np.arange(start, min(n, start + block))
        block_vectors = base[rows % len(base)].astype(np.float32)
        noisy = rows >= len(base)
        if noisy.any():
            block_vectors[noisy] += rng.normal(0.0, sigma, (int(noisy.sum()), base.shape[1])).astype(np.float32)
            block_vectors[noisy] /= np.linalg.norm(block_vectors[noisy], axis=1, keepdims=True)
        out[start : start + len(rows)] = block_vectors
    return out


def synth_terms(base: Sequence[Chunk], n: int) -> Iterator[list[str]]:
    """BM25 terms of each synthetic row, computed once per real chunk."""
    cache = [terms(c.text) for c in base]
    for i in range(n):
        yield cache[i % len(cache)]


def can_force() -> bool:
    """Whether `write_generation` takes `vector_index=` to force the vector index type."""
    return "vector_index" in inspect.signature(write_generation).parameters


def index_code_key() -> str:
    """Changes whenever rag/store/folder/generation.py or this module does, so a cached index never outlives
    the code that wrote it."""
    digest = hashlib.sha256(Path(rag_index.__file__).read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:8]


def cached_build(root: Path) -> dict[str, Any] | None:
    """The build record of a complete cached index in `root`, or None."""
    record = root / "bench-build.json"
    if not record.is_file() or live_generation(root) is None:
        return None
    return dict(json.loads(record.read_text("utf-8")))


def build(root: Path, base: Sequence[Chunk], vectors: np.ndarray, n: int, model: str,
          chunking: dict[str, int | str], force: str | None = None) -> dict[str, Any]:
    """Write a synthetic generation of `n` rows with the product's writer; return how it went."""
    chunks = SynthChunks(base, n)
    order = sorted(range(len(base)), key=lambda i: base[i].source)
    t0 = time.perf_counter()
    matrix = synth_vectors(vectors[order], n)
    files: dict[str, int] = {}
    for first in range(0, n, len(base)):
        for real in chunks.base[: n - first]:
            source = synth_source(first // len(base), real.source)
            files[source] = files.get(source, 0) + 1
    entries = {s: FileEntry(sha256=hashlib.sha256(s.encode()).hexdigest(), chunks=c) for s, c in files.items()}
    manifest = Manifest(model, int(vectors.shape[1]), chunking, entries, n, created=time.time())
    prepare_s = time.perf_counter() - t0
    kwargs: dict[str, Any] = {}
    if force is not None:
        if not can_force():
            raise RuntimeError("write_generation has no vector_index keyword to force the index type")
        kwargs["vector_index"] = force
    t0 = time.perf_counter()
    gen = write_generation(root, manifest, chunks, matrix, synth_terms(chunks.base, n), **kwargs)
    record = {"chunks": n, "prepare_s": prepare_s, "write_s": time.perf_counter() - t0, "forced": force,
              "generation": gen.name, "noise_sigma": NOISE_SIGMA, "real_rows": min(n, len(base))}
    (root / "bench-build.json").write_text(json.dumps(record, indent=2), "utf-8")
    return record


def vector_index(root: Path) -> Any:
    """What the manifest says about the vector index ("vector_index"), or "flat" for an index
    written before the manifest recorded it (every vector index was then flat)."""
    gen = live_generation(root)
    if gen is None:
        return None
    data = json.loads((gen / "manifest.json").read_text("utf-8"))
    return data.get("vector_index", "flat (not recorded)")


def is_exact(info: Any) -> bool:
    """Whether a vector index description names an exhaustive (flat) search."""
    text = json.dumps(info).lower()
    return not any(word in text for word in ("ivf", "sq8", "hnsw", "pq", "approx"))
