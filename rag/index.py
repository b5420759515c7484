"""The on-disk index: FAISS vectors, a BM25 index and a JSONL chunk store, versioned.

Layout of an index folder (format 1, documented in the README):

    CURRENT              name of the live generation, replaced atomically
    .lock                held by a writer for the duration of an ingest
    gen-<stamp>/
        manifest.json    format, embedding model, dimension, chunking, files and hashes
        chunks.jsonl     one chunk per line; line i is FAISS row i
        vectors.faiss    faiss.write_index of a flat inner-product index
        bm25/            bm25s arrays (.npy, allow_pickle=False) and vocabulary (.json)

A writer builds a whole new generation beside the live one and then replaces CURRENT,
so a reader sees either the old index or the new one, never a mix, and an interrupted
ingest leaves the old one in place. Nothing here is pickled: an index folder from
someone else cannot run code. This is the only module that imports faiss.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import bm25s
import faiss
import numpy as np

from rag.types import Chunk

FORMAT = 1


class IndexUnavailable(Exception):
    """The index is missing, from another format, or damaged; the message says what to run."""


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


class IndexStore:
    """A loaded, read-only generation of the index."""

    def __init__(
        self, path: Path, manifest: Manifest, chunks: list[Chunk], vectors: faiss.Index, bm25: bm25s.BM25 | None
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.chunks = chunks
        self._vectors = vectors
        self._bm25 = bm25
        self._rows_by_source: dict[str, list[int]] = {}
        for row, chunk in enumerate(chunks):
            self._rows_by_source.setdefault(chunk.source, []).append(row)

    def __len__(self) -> int:
        return len(self.chunks)

    @classmethod
    def load(cls, root: Path) -> IndexStore:
        gen = live_generation(root)
        if gen is None:
            raise IndexUnavailable(f"no index in {root}: run `rag ingest` first")
        try:
            manifest = Manifest.from_json((gen / "manifest.json").read_text("utf-8"))
            with (gen / "chunks.jsonl").open(encoding="utf-8") as fh:
                chunks = [Chunk(**json.loads(line)) for line in fh]
            vectors = faiss.read_index(str(gen / "vectors.faiss"))
            bm25 = bm25s.BM25.load(str(gen / "bm25"), mmap=False) if chunks else None
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
            raise IndexUnavailable(f"index in {root} is damaged ({exc}): run `rag ingest --rebuild`") from exc
        if not (vectors.ntotal == len(chunks) == manifest.chunks) or (chunks and vectors.d != manifest.dim):
            raise IndexUnavailable(
                f"index in {root} is inconsistent ({vectors.ntotal} vectors, {len(chunks)} chunks, "
                f"manifest says {manifest.chunks}): run `rag ingest --rebuild`"
            )
        return cls(gen, manifest, chunks, vectors, bm25)

    def dense_search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not self.chunks:
            return []
        scores, rows = self._vectors.search(query.reshape(1, -1).astype(np.float32), min(k, len(self.chunks)))
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]

    def sparse_search(self, query_terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        vocab = self._bm25.vocab_dict if self._bm25 is not None else {}
        known = [t for t in query_terms if t in vocab]
        if not known or self._bm25 is None:
            return []
        rows, scores = self._bm25.retrieve([known], k=min(k, len(self.chunks)), show_progress=False)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if s > 0]

    def vectors(self, rows: Sequence[int]) -> np.ndarray:
        if not rows:
            return np.zeros((0, self.manifest.dim), dtype=np.float32)
        return np.vstack([self._vectors.reconstruct(int(r)) for r in rows])

    def rows_for(self, source: str) -> list[int]:
        return self._rows_by_source.get(source, [])


def live_generation(root: Path) -> Path | None:
    try:
        name = (root / "CURRENT").read_text("utf-8").strip()
    except FileNotFoundError:
        return None
    gen = root / name
    return gen if name and gen.is_dir() else None


def write_generation(
    root: Path, manifest: Manifest, chunks: Sequence[Chunk], vectors: np.ndarray, chunk_terms: Sequence[list[str]]
) -> Path:
    """Write a complete new generation, fsync it, then atomically make it live."""
    root.mkdir(parents=True, exist_ok=True)
    name = f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    tmp = root / f".tmp-{name}"
    tmp.mkdir()
    with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as fh:
        for chunk in chunks:
            fh.write(json.dumps(asdict(chunk), ensure_ascii=False) + "\n")
    flat = faiss.IndexFlatIP(manifest.dim)
    if len(chunks):
        flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(flat, str(tmp / "vectors.faiss"))
    if chunks:
        bm25 = bm25s.BM25()
        bm25.index(list(chunk_terms), show_progress=False)
        bm25.save(str(tmp / "bm25"), show_progress=False)
    (tmp / "manifest.json").write_text(manifest.to_json(), "utf-8")
    _fsync_tree(tmp)
    os.replace(tmp, root / name)
    current_tmp = root / f".CURRENT.{uuid.uuid4().hex[:8]}"
    current_tmp.write_text(name + "\n", "utf-8")
    _fsync_file(current_tmp)
    os.replace(current_tmp, root / "CURRENT")
    _fsync_dir(root)
    prune(root)
    return root / name


def prune(root: Path) -> None:
    """Remove generations and leftovers of interrupted writes, keeping the live one."""
    live = live_generation(root)
    for entry in root.iterdir():
        stale_gen = entry.is_dir() and entry.name.startswith(("gen-", ".tmp-gen-")) and entry != live
        if stale_gen:
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(".CURRENT."):
            entry.unlink(missing_ok=True)


@contextmanager
def writer_lock(root: Path, wait_seconds: float = 600.0) -> Iterator[None]:
    """Serialise writers. The OS drops an flock when its holder dies, so a crashed
    ingest never leaves a stale lock behind."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("a") as fh:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IndexUnavailable(f"another `rag ingest` holds {root / '.lock'}") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _fsync_file(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for entry in path.rglob("*"):
        if entry.is_file():
            _fsync_file(entry)
    _fsync_dir(path)
