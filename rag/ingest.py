"""Incremental ingest: corpus folder -> new index generation.

Files are compared by the SHA-256 of their bytes against the live manifest: unchanged
files reuse their chunks and vectors (nothing is embedded), changed and new files are
re-loaded, re-chunked and re-embedded, and files gone from the corpus leave the index.
If the embedding model or chunking settings differ from the ones the index was built
with, everything is rebuilt, so vectors from two models are never mixed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.chunk import TokenCounter, chunk_document
from rag.embed.base import Embedder
from rag.store.folder.store import (
    FileEntry,
    IndexStore,
    IndexUnavailable,
    Manifest,
    live_generation,
    write_generation,
)
from rag.load.corpus import LoadError, list_corpus, load_document, printable
from rag.store.folder.durable import sha256_file, writer_lock
from rag.text import terms
from rag.types import Chunk

# (stage, done, total): stages are "load" (files), "chunk" (sentences of the file being
# chunked, so a huge file still shows progress), "embed" (chunks), "terms" (chunks) and "write".
ProgressFn = Callable[[str, int, int], None]
SPLITTER = "sentence-v2"  # v2: list markers between sentences count toward max_tokens
# A file going into the new generation: its sha256, its chunks, and the rows of the old
# index holding its vectors (None when it was just embedded).
Kept = tuple[str, list[Chunk], list[int] | None]


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    rebuilt: str | None = None

    def summary(self) -> dict[str, object]:
        """The `rag ingest --json` object."""
        return {
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "chunks_embedded": self.chunks_embedded,
            "chunks_total": self.chunks_total,
            "seconds": round(self.seconds, 3),
        }


def ingest(
    corpus: Path,
    index_dir: Path,
    embedder: Embedder,
    *,
    chunk_tokens: int = 200,
    chunk_overlap: int = 40,
    rebuild: bool = False,
    progress: ProgressFn | None = None,
) -> IngestReport:
    """Bring the index in `index_dir` up to date with the files in `corpus`."""
    if not corpus.is_dir():
        raise FileNotFoundError(f"corpus folder {corpus} does not exist (setting --corpus / RAG_CORPUS)")
    started = time.perf_counter()
    report = IngestReport()
    tick = progress or (lambda stage, done, total: None)
    max_tokens = min(chunk_tokens, embedder.max_tokens)
    chunking: dict[str, int | str] = {"max_tokens": max_tokens, "overlap_tokens": chunk_overlap, "splitter": SPLITTER}

    with writer_lock(index_dir):
        old = _load_previous(index_dir, embedder, chunking, rebuild, report)
        files, skipped = list_corpus(corpus)
        report.skipped = [{"path": p, "error": why} for p, why in skipped]

        t0 = time.perf_counter()
        kept: dict[str, Kept] = {}
        fresh: list[Chunk] = []
        for i, path in enumerate(files):
            source = path.relative_to(corpus).as_posix()
            tick("load", i, len(files))
            previous = old.manifest.files.get(source) if old else None
            try:
                sha = sha256_file(path)
                if previous and previous.sha256 == sha and old is not None:
                    rows = old.rows_for(source)
                    kept[source] = (sha, [old.chunks[r] for r in rows], rows)
                    report.unchanged += 1
                    continue
                sha, chunks = _load_chunks(path, corpus, _counting(embedder, tick), max_tokens, chunk_overlap,
                                           report.stages)
            except (LoadError, OSError, ValueError) as exc:
                report.failed.append({"path": printable(source), "error": str(exc)})
                if previous and old is not None:  # keep the last good version searchable
                    rows = old.rows_for(source)
                    kept[source] = (previous.sha256, [old.chunks[r] for r in rows], rows)
                continue
            kept[source] = (sha, chunks, None)
            fresh.extend(chunks)
            if previous:
                report.updated += 1
            else:
                report.added += 1
        tick("load", len(files), len(files))
        # Hashing, and reading what unchanged files keep, count as loading.
        report.stages["load"] = time.perf_counter() - t0 - report.stages.get("chunk", 0.0)
        report.removed = len(set(old.manifest.files) - set(kept)) if old else 0

        t0 = time.perf_counter()
        fresh_vectors = _embed(embedder, fresh, tick)
        report.stages["embed"] = time.perf_counter() - t0
        report.chunks_embedded = len(fresh)

        changed = report.added or report.updated or report.removed or old is None
        t0 = time.perf_counter()
        all_chunks, all_vectors, entries = _assemble(kept, fresh, fresh_vectors, embedder.dim, old)
        del kept, fresh, fresh_vectors, old  # the assembled copies are all that is needed now
        report.chunks_total = len(all_chunks)
        if changed:
            manifest = Manifest(embedder.name, embedder.dim, chunking, entries, len(all_chunks), created=time.time())
            tick("write", 0, 1)
            write_generation(index_dir, manifest, all_chunks, all_vectors, _terms(all_chunks, tick))
            tick("write", 1, 1)
        report.stages["write"] = time.perf_counter() - t0
    report.seconds = time.perf_counter() - started
    return report


def _load_chunks(
    path: Path, corpus: Path, count: TokenCounter, max_tokens: int, overlap: int, stages: dict[str, float]
) -> tuple[str, list[Chunk]]:
    """(sha256, chunks) of one file; its Document is dropped on return, as the chunks hold its text.
    Seconds spent loading and chunking are added to `stages`."""
    t0 = time.perf_counter()
    doc = load_document(path, corpus)
    t1 = time.perf_counter()
    chunks = chunk_document(doc, count, max_tokens, overlap)
    stages["load"] = stages.get("load", 0.0) + t1 - t0
    stages["chunk"] = stages.get("chunk", 0.0) + time.perf_counter() - t1
    return doc.sha256, chunks


def _counting(embedder: Embedder, tick: ProgressFn, batch: int = 8192) -> TokenCounter:
    """The embedder's token counter, reporting progress: counting is most of chunking's time."""

    def count(texts: Sequence[str]) -> list[int]:
        if len(texts) <= batch:
            return embedder.count_tokens(texts)
        sizes: list[int] = []
        for i in range(0, len(texts), batch):
            tick("chunk", i, len(texts))
            sizes.extend(embedder.count_tokens(texts[i : i + batch]))
        tick("chunk", len(texts), len(texts))
        return sizes

    return count


def _terms(chunks: Sequence[Chunk], tick: ProgressFn, batch: int = 1024) -> Iterator[list[str]]:
    """BM25 terms of each chunk, made as the index writer reads them, with progress."""
    for i, chunk in enumerate(chunks):
        if i % batch == 0:
            tick("terms", i, len(chunks))
        yield terms(chunk.text)
    tick("terms", len(chunks), len(chunks))


def _load_previous(
    index_dir: Path, embedder: Embedder, chunking: dict[str, int | str], rebuild: bool, report: IngestReport
) -> IndexStore | None:
    if rebuild or live_generation(index_dir) is None:
        report.rebuilt = "requested" if rebuild else None
        return None
    try:
        old = IndexStore.load(index_dir)
    except IndexUnavailable as exc:
        report.rebuilt = f"previous index unreadable, rebuilding: {exc}"
        return None
    reason = old.manifest.compatible_with(embedder.name, embedder.dim, chunking)
    if reason:
        report.rebuilt = f"{reason}: rebuilding the whole index"
        return None
    return old


def _embed(embedder: Embedder, chunks: list[Chunk], tick: ProgressFn, batch: int = 128) -> np.ndarray:
    """One matrix filled slice by slice (stacking them would hold every vector twice). A
    slice spans several model batches, so the embedder can group texts of similar length;
    progress still moves every few seconds."""
    out = np.empty((len(chunks), embedder.dim), dtype=np.float32)
    for i in range(0, len(chunks), batch):
        tick("embed", i, len(chunks))
        out[i : i + batch] = embedder.embed_documents([c.text for c in chunks[i : i + batch]])
    tick("embed", len(chunks), len(chunks))
    return out


def _assemble(
    kept: dict[str, Kept],
    fresh: list[Chunk],
    fresh_vectors: np.ndarray,
    dim: int,
    old: IndexStore | None,
) -> tuple[list[Chunk], np.ndarray, dict[str, FileEntry]]:
    """Order chunks by source so a file's rows are contiguous, pairing each with its vector.

    The index relies on this order: a file's rows are found from the manifest alone,
    counting `FileEntry.chunks` over the files in sorted order (`Manifest.file_rows`).
    Reused vectors are read from the old index straight into the new matrix, so a large
    index is not held twice.
    """
    fresh_row = {c.id: i for i, c in enumerate(fresh)}
    chunks: list[Chunk] = []
    entries: dict[str, FileEntry] = {}
    for source in sorted(kept):
        sha, file_chunks, _ = kept[source]
        chunks.extend(file_chunks)
        entries[source] = FileEntry(sha256=sha, chunks=len(file_chunks))
    if len(chunks) == len(fresh) and all(a is b for a, b in zip(chunks, fresh, strict=True)):
        return chunks, fresh_vectors, entries  # a first ingest: already in order, no copy needed
    matrix = np.empty((len(chunks), dim), dtype=np.float32)
    row = 0
    for source in sorted(kept):
        _, file_chunks, reused = kept[source]
        if reused is not None and old is not None:
            matrix[row : row + len(file_chunks)] = old.vectors(reused)
        elif file_chunks:
            matrix[row : row + len(file_chunks)] = fresh_vectors[[fresh_row[c.id] for c in file_chunks]]
        row += len(file_chunks)
    return chunks, matrix, entries
