"""The on-disk index: FAISS vectors, a BM25 index and a JSONL chunk store, versioned.

Layout of an index folder (format 2, documented in the README):

    CURRENT              name of the live generation, replaced atomically
    .lock                held by a writer for the duration of an ingest; says which pid, since when
    gen-<stamp>/
        manifest.json    format, embedding model, dimension, chunking, files and hashes, vector index
        chunks.jsonl     one chunk per line; line i is vector row i
        chunks.offsets.npy  int64 byte offset of every line, then the file's size
        vectors.faiss    faiss.write_index: flat inner product, or IVF with 8-bit scalar quantizer
        vectors.f16.npy  (IVF only) every vector in float16, for reuse by the next ingest
        bm25/            bm25s arrays (.npy, allow_pickle=False) and vocabulary (.json)
        checksums.json   SHA-256 of every other file, checked before anything is parsed

A writer builds a whole new generation beside the live one and then replaces CURRENT,
so a reader sees either the old index or the new one, never a mix, and an interrupted
ingest leaves the old one in place. Nothing here is pickled: an index folder from
someone else cannot run code. Locks, checksums and fsync are in storage.py; building the
vector index (flat or IVF) is in vectors.py.

A reader holds little in memory: chunks are read and parsed one by one when asked for,
BM25 arrays and float16 vectors are memory-mapped, and only the faiss index is loaded
(at most vectors.FLAT_LIMIT float32 vectors, or one byte per dimension above it).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, overload

import bm25s
import faiss
import numpy as np

from rag.store.folder.durable import IndexUnavailable, fsync_dir, fsync_file, fsync_tree, sha256_file
from rag.types import Chunk
from rag.store.folder.vectors import FLAT, IVF_SQ8, VECTORS, VECTORS_F16, choose, write_vectors

FORMAT = 2
CHECKSUMS = "checksums.json"
CHUNKS = "chunks.jsonl"
OFFSETS = "chunks.offsets.npy"

log = logging.getLogger("rag.store.folder.store")


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    chunks: int


@dataclass(frozen=True)
class Manifest:
    embedding_model: str
    dim: int
    chunking: dict[str, int | str]
    files: dict[str, FileEntry] = field(default_factory=dict)
    chunks: int = 0
    format: int = FORMAT
    created: float = 0.0
    vector_index: dict[str, int | float | str] = field(default_factory=lambda: {"type": FLAT})

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        data["files"] = {k: FileEntry(**v) for k, v in data.get("files", {}).items()}
        return cls(**data)

    def compatible_with(self, embedding_model: str, dim: int, chunking: dict[str, int | str]) -> str | None:
        """Why vectors in this index cannot be mixed with new ones, or None if they can."""
        if self.format != FORMAT:
            return f"index format {self.format} differs from {FORMAT}"
        if self.embedding_model != embedding_model or self.dim != dim:
            return f"embedding model changed ({self.embedding_model}, dim {self.dim} -> {embedding_model}, dim {dim})"
        if self.chunking != chunking:
            return f"chunking settings changed ({self.chunking} -> {chunking})"
        return None

    def file_rows(self) -> dict[str, tuple[int, int]]:
        """Row range [start, stop) of each file: {"a.txt": 2, "b.md": 3} -> {"a.txt": (0, 2), "b.md": (2, 5)}.

        Rows are grouped by file in sorted-source order (the ingest writes them so and
        `write_generation` refuses anything else), so the manifest alone locates a file's
        chunks and no reader has to scan them.
        """
        rows: dict[str, tuple[int, int]] = {}
        start = 0
        for source in sorted(self.files):
            rows[source] = (start, start + self.files[source].chunks)
            start += self.files[source].chunks
        return rows


class ChunkStore(Sequence[Chunk]):
    """The chunks of a generation, each parsed from chunks.jsonl only when it is read.

    `offsets[i]` is where line i starts and `offsets[-1]` the file's size, so a chunk
    costs one pread and one json.loads, and a million unread chunks cost no memory. A
    pread rather than a memory map: the pages read stay in the OS cache, not in this
    process's resident memory, however many chunks a long-running server has shown.
    """

    def __init__(self, fh: IO[bytes], offsets: np.ndarray) -> None:
        self._fh = fh
        self._offsets = offsets
        weakref.finalize(self, fh.close)  # closed with the store, however it is dropped

    @classmethod
    def open(cls, path: Path, offsets_path: Path) -> ChunkStore:
        offsets = np.load(offsets_path, allow_pickle=False)
        size = path.stat().st_size
        valid = (
            offsets.dtype == np.int64 and offsets.ndim == 1 and len(offsets) >= 1
            and offsets[0] == 0 and offsets[-1] == size and bool(np.all(np.diff(offsets) > 0))
        )
        if not valid:
            raise ValueError(f"{offsets_path.name} does not match {path.name}")
        return cls(path.open("rb", buffering=0), offsets)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, index: int) -> Chunk: ...

    @overload
    def __getitem__(self, index: slice) -> list[Chunk]: ...

    def __getitem__(self, index: int | slice) -> Chunk | list[Chunk]:
        if isinstance(index, slice):
            return [self._read(i) for i in range(*index.indices(len(self)))]
        row = index + len(self) if index < 0 else index
        if not 0 <= row < len(self):
            raise IndexError(f"chunk {index} of {len(self)}")
        return self._read(row)

    def __iter__(self) -> Iterator[Chunk]:
        return (self._read(row) for row in range(len(self)))

    def _read(self, row: int) -> Chunk:
        start, stop = int(self._offsets[row]), int(self._offsets[row + 1])
        line = os.pread(self._fh.fileno(), stop - start, start)
        try:
            return Chunk(**json.loads(line))
        except (ValueError, TypeError) as exc:
            raise IndexUnavailable(
                f"{self._fh.name} is damaged at line {row + 1} ({exc}): run `rag ingest --rebuild`"
            ) from exc


class IndexStore:
    """A loaded, read-only generation of the index."""

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

    def __len__(self) -> int:
        return len(self.chunks)

    @classmethod
    def load(cls, root: Path) -> IndexStore:
        gen = live_generation(root)
        if gen is None:
            raise IndexUnavailable(f"no index in {root}: run `rag ingest` first")
        _verify_checksums(gen, root)
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

    def dense_search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not len(self):
            return []
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        scores, rows = self._vectors.search(q, min(k, len(self)))
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]

    def sparse_search(self, query_terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        """Rows with a positive BM25 score, best first (ties by row).

        bm25s scores every row; the top k are then picked among the matching rows only.
        Its own top-k runs np.argpartition over all rows, which mostly hold a tied 0.0
        and then took 15 ms at 100k rows, against 0.6 ms for the matching ones.
        """
        vocab = self._bm25.vocab_dict if self._bm25 is not None else {}
        ids = [vocab[t] for t in query_terms if t in vocab]
        if not ids or self._bm25 is None or k <= 0:
            return []
        scores = self._bm25.get_scores(ids)
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

    def rows_for(self, source: str) -> list[int]:
        start, stop = self._file_rows.get(source, (0, 0))
        return list(range(start, stop))


def live_generation(root: Path) -> Path | None:
    try:
        name = (root / "CURRENT").read_text("utf-8").strip()
    except FileNotFoundError:
        return None
    gen = root / name
    return gen if name and gen.is_dir() else None


def write_generation(
    root: Path,
    manifest: Manifest,
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    chunk_terms: Iterable[list[str]],
    vector_index: str | None = None,
) -> Path:
    """Write a complete new generation, fsync it, then atomically make it live.

    Chunks must be grouped by file in sorted-source order, matching `manifest.files`
    (a manifest without files describes no grouping). `chunk_terms` (the BM25 terms of
    each chunk, in order) is read once and may be a generator, so the terms of a large
    corpus need not all be held as strings at once. `vector_index` forces "flat" or
    "ivf-sq8"; by default the index is flat up to FLAT_LIMIT chunks. What was built is
    recorded in the manifest's "vector_index".
    """
    in_files = sum(e.chunks for e in manifest.files.values()) if manifest.files else len(chunks)
    if not manifest.chunks == in_files == len(chunks) or vectors.shape != (len(chunks), manifest.dim):
        raise ValueError(
            f"{len(chunks)} chunks and {vectors.shape} vectors do not match the manifest "
            f"({manifest.chunks} chunks, {in_files} in its files, dimension {manifest.dim})"
        )
    kind = choose(len(chunks), vector_index)
    root.mkdir(parents=True, exist_ok=True)
    name = f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    tmp = root / f".tmp-{name}"
    tmp.mkdir()
    _write_chunks(tmp, manifest, chunks)
    manifest = replace(manifest, vector_index=write_vectors(tmp, vectors, kind))
    if len(chunks):
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(term, len(vocab)) for term in terms] for terms in chunk_terms]
        if not vocab:  # not one searchable term (stop words, punctuation): bm25s needs a vocabulary
            vocab, ids = {"": 0}, [[0] for _ in ids]  # "" is never a query term
        bm25 = bm25s.BM25()
        bm25.index((ids, vocab), show_progress=False)
        del ids
        bm25.save(str(tmp / "bm25"), show_progress=False)
    (tmp / "manifest.json").write_text(manifest.to_json(), "utf-8")
    sums = {p.relative_to(tmp).as_posix(): sha256_file(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
    (tmp / CHECKSUMS).write_text(json.dumps(sums, indent=2, sort_keys=True), "utf-8")
    fsync_tree(tmp)
    os.replace(tmp, root / name)
    current_tmp = root / f".CURRENT.{uuid.uuid4().hex[:8]}"
    current_tmp.write_text(name + "\n", "utf-8")
    fsync_file(current_tmp)
    os.replace(current_tmp, root / "CURRENT")
    fsync_dir(root)
    prune(root)
    return root / name


def _write_chunks(folder: Path, manifest: Manifest, chunks: Sequence[Chunk]) -> None:
    """chunks.jsonl and its line offsets, checking each row belongs to the file the manifest puts there."""
    expected = (s for s, (start, stop) in manifest.file_rows().items() for _ in range(start, stop))
    offsets = np.empty(len(chunks) + 1, dtype=np.int64)
    offsets[0] = 0
    with (folder / CHUNKS).open("wb") as fh:
        for row, chunk in enumerate(chunks):
            source = next(expected, chunk.source) if manifest.files else chunk.source
            if source != chunk.source:
                raise ValueError(
                    f"chunk {row} is from {chunk.source} but the manifest puts {source} there: "
                    "chunks must be grouped by file in sorted-source order"
                )
            line = (json.dumps(asdict(chunk), ensure_ascii=False) + "\n").encode("utf-8")
            fh.write(line)
            offsets[row + 1] = offsets[row] + len(line)
    np.save(folder / OFFSETS, offsets, allow_pickle=False)


def prune(root: Path) -> None:
    """Remove generations and leftovers of interrupted writes, keeping the live one."""
    live = live_generation(root)
    for entry in root.iterdir():
        stale_gen = entry.is_dir() and entry.name.startswith(("gen-", ".tmp-gen-")) and entry != live
        if stale_gen:
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(".CURRENT."):
            entry.unlink(missing_ok=True)


def _verify_checksums(gen: Path, root: Path) -> None:
    """Refuse a generation whose files changed since they were written, before parsing any
    of them: a truncated or edited file gets a message, never a crash deep inside faiss."""
    try:
        expected = json.loads((gen / CHECKSUMS).read_text("utf-8"))
    except FileNotFoundError:
        return  # written before checksums were kept
    except (OSError, ValueError) as exc:
        raise IndexUnavailable(f"index in {root} is damaged ({CHECKSUMS}: {exc}): run `rag ingest --rebuild`") from exc
    names = expected if isinstance(expected, dict) else {}
    if "manifest.json" not in names:
        raise IndexUnavailable(f"index in {root} is damaged ({CHECKSUMS} is incomplete): run `rag ingest --rebuild`")
    for name, digest in sorted(names.items()):
        path = gen / name
        if ".." in Path(name).parts or not path.is_file():
            raise IndexUnavailable(f"index in {root} is damaged ({name} is missing): run `rag ingest --rebuild`")
        if sha256_file(path) != digest:
            raise IndexUnavailable(
                f"index in {root} is damaged ({name} was changed or cut short): run `rag ingest --rebuild`"
            )


