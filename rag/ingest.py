"""Incremental ingest: corpus folder -> a new state of the store.

Files are compared by the SHA-256 of their bytes against the live state: unchanged files
keep their chunks and vectors (nothing is embedded), changed and new files are re-loaded,
re-chunked and re-embedded, and files gone from the corpus leave the index. If the
embedding model or chunking settings differ from the ones the index was built with,
everything is rebuilt, so vectors from two models are never mixed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.chunk import TokenCounter, chunk_document
from rag.config import CHUNK_OVERLAP, CHUNK_TOKENS
from rag.embed.base import Embedder
from rag.load.corpus import LoadError, list_corpus, load_document, printable, sha256_file
from rag.store.base import Index, IndexInfo, IndexUnavailable, NewFile, ProgressFn, Store, compatible
from rag.types import Chunk

# Progress stages: "load" (files), "chunk" (sentences of the file being chunked, so a huge
# file still shows progress), "embed" (chunks), then the store's "terms" and "write".
SPLITTER = "sentence-v2"  # v2: list markers between sentences count toward max_tokens


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
    store: Store,
    embedder: Embedder,
    *,
    chunk_tokens: int = CHUNK_TOKENS,
    chunk_overlap: int = CHUNK_OVERLAP,
    rebuild: bool = False,
    progress: ProgressFn | None = None,
) -> IngestReport:
    """Bring `store` up to date with the files in `corpus`."""
    if not corpus.is_dir():
        raise FileNotFoundError(f"corpus folder {corpus} does not exist (setting --corpus / RAG_CORPUS)")
    started = time.perf_counter()
    report = IngestReport()
    tick = progress or (lambda stage, done, total: None)
    max_tokens = min(chunk_tokens, embedder.max_tokens)
    chunking: dict[str, int | str] = {"max_tokens": max_tokens, "overlap_tokens": chunk_overlap, "splitter": SPLITTER}
    info = IndexInfo(embedder.name, embedder.dim, chunking)

    with store.lock():
        old = _previous(store, info, rebuild, report)
        known = old.files() if old is not None else {}
        files, skipped = list_corpus(corpus)
        report.skipped = [{"path": p, "error": why} for p, why in skipped]

        t0 = time.perf_counter()
        keep: set[str] = set()
        loaded: dict[str, tuple[str, list[Chunk]]] = {}
        for i, path in enumerate(files):
            source = path.relative_to(corpus).as_posix()
            tick("load", i, len(files))
            previous = known.get(source)
            try:
                sha = sha256_file(path)
                if previous and previous.sha256 == sha:
                    keep.add(source)
                    report.unchanged += 1
                    continue
                loaded[source] = _load_chunks(path, corpus, _counting(embedder, tick), max_tokens, chunk_overlap,
                                              report.stages)
            except (LoadError, OSError, ValueError) as exc:
                report.failed.append({"path": printable(source), "error": str(exc)})
                if previous:  # keep the last good version searchable
                    keep.add(source)
                continue
            if previous:
                report.updated += 1
            else:
                report.added += 1
        tick("load", len(files), len(files))
        # Hashing counts as loading.
        report.stages["load"] = time.perf_counter() - t0 - report.stages.get("chunk", 0.0)
        report.removed = len(set(known) - keep - set(loaded))

        t0 = time.perf_counter()
        fresh = [chunk for _, chunks in loaded.values() for chunk in chunks]
        vectors = _embed(embedder, fresh, tick)
        report.stages["embed"] = time.perf_counter() - t0
        report.chunks_embedded = len(fresh)
        report.chunks_total = len(fresh) + sum(known[source].chunks for source in keep)

        t0 = time.perf_counter()
        if report.added or report.updated or report.removed or old is None:
            new: dict[str, NewFile] = {}
            row = 0
            for source, (sha, chunks) in loaded.items():  # views into one matrix, in file order
                new[source] = NewFile(sha, chunks, vectors[row : row + len(chunks)])
                row += len(chunks)
            del fresh
            store.write(info, new, keep, old, tick)
        report.stages["write"] = time.perf_counter() - t0
    report.seconds = time.perf_counter() - started
    return report


def _previous(store: Store, info: IndexInfo, rebuild: bool, report: IngestReport) -> Index | None:
    """The live state whose unchanged files can be kept, or None when everything is rebuilt (and why)."""
    if rebuild or not store.exists():
        report.rebuilt = "requested" if rebuild else None
        return None
    try:
        old = store.open()
    except IndexUnavailable as exc:
        report.rebuilt = f"previous index unreadable, rebuilding: {exc}"
        return None
    reason = compatible(old.info, info)
    if reason:
        report.rebuilt = f"{reason}: rebuilding the whole index"
        return None
    return old


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


