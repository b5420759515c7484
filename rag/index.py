"""The on-disk index: FAISS vectors, a BM25 index and a JSONL chunk store, versioned.

Layout of an index folder (format 1, documented in the README):

    CURRENT              name of the live generation, replaced atomically
    .lock                held by a writer for the duration of an ingest; says which pid, since when
    gen-<stamp>/
        manifest.json    format, embedding model, dimension, chunking, files and hashes
        chunks.jsonl     one chunk per line; line i is FAISS row i
        vectors.faiss    faiss.write_index of a flat inner-product index
        bm25/            bm25s arrays (.npy, allow_pickle=False) and vocabulary (.json)
        checksums.json   SHA-256 of every other file, checked before anything is parsed

A writer builds a whole new generation beside the live one and then replaces CURRENT,
so a reader sees either the old index or the new one, never a mix, and an interrupted
ingest leaves the old one in place. Nothing here is pickled: an index folder from
someone else cannot run code. This is the only module that imports faiss.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

import bm25s
import faiss
import numpy as np

from rag.types import Chunk

FORMAT = 1
CHECKSUMS = "checksums.json"

log = logging.getLogger("rag.index")


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
        _verify_checksums(gen, root)
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
    root: Path, manifest: Manifest, chunks: Sequence[Chunk], vectors: np.ndarray, chunk_terms: Iterable[list[str]]
) -> Path:
    """Write a complete new generation, fsync it, then atomically make it live.

    `chunk_terms` (the BM25 terms of each chunk, in order) is read once and may be a
    generator, so the terms of a large corpus need not all be held as strings at once.
    """
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


@contextmanager
def writer_lock(root: Path, wait_seconds: float = 600.0) -> Iterator[None]:
    """Serialise writers. The OS drops an flock when its holder dies, so a crashed
    ingest never leaves a stale lock behind; a .lock file without a holder blocks no one.

    The holder writes its pid and the time it took the lock into the file, so a writer
    that has to wait can say whom it waits for.
    """
    root.mkdir(parents=True, exist_ok=True)
    path = root / ".lock"
    with path.open("a+", encoding="utf-8") as fh:
        started = time.monotonic()
        waiting = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waiting:
                    waiting = True
                    log.warning("waiting for another `rag ingest` to finish (%s%s)", path, _holder(fh))
                if time.monotonic() - started > wait_seconds:
                    raise IndexUnavailable(f"another `rag ingest` holds {path}{_holder(fh)}") from None
                time.sleep(0.2)
        if waiting:
            log.warning("%s is free after %.1fs; ingesting", path, time.monotonic() - started)
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "acquired": time.time()}) + "\n")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _holder(fh: IO[str]) -> str:
    """', held by pid 123 since 14:02:07' from the lock file, or '' if it says nothing usable."""
    try:
        fh.seek(0)
        info = json.loads(fh.read() or "{}")
        since = time.strftime("%H:%M:%S", time.localtime(float(info["acquired"])))
        return f", held by pid {int(info['pid'])} since {since}"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
