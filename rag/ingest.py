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
from rag.load.base import PageProgress
from rag.load.corpus import LoadError, list_corpus, load_document, printable, sha256_file
from rag.store.base import Index, IndexInfo, IndexUnavailable, NewFile, ProgressFn, Store, compatible
from rag.types import Chunk, Profile

# Progress stages: "load" (files), "pages" (of the PDF being loaded), "chunk" (sentences of the file
# being chunked, so a huge
# file still shows progress), "embed" (chunks), then the store's "terms" and "write".
# v2: list markers count toward max_tokens; v3: table rows whole, captions embedded; v4: the document's profile
# and the chunk's section path embedded with it.
SPLITTER = "sentence-v4"


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    # What loading could not read in files that were still indexed: {"path", "warning"}.
    warnings: list[dict[str, str]] = field(default_factory=list)
    # What each loaded file is: {"path", "profile"} ("3M Company · 10-K · FY2018").
    profiles: list[dict[str, str]] = field(default_factory=list)
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
            "warnings": self.warnings,
            "profiles": self.profiles,
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
        loaded: dict[str, Loaded] = {}
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
                                              report.stages, lambda done, total: tick("pages", done, total))
            except (LoadError, OSError, ValueError) as exc:
                report.failed.append({"path": printable(source), "error": str(exc)})
                if previous:  # keep the last good version searchable
                    keep.add(source)
                continue
            report.warnings.extend({"path": printable(source), "warning": w} for w in loaded[source].warnings)
            profile = loaded[source].profile
            label = profile.label() if profile else ""
            if label:
                report.profiles.append({"path": printable(source), "profile": label})
            if previous:
                report.updated += 1
            else:
                report.added += 1
        tick("load", len(files), len(files))
        # Hashing counts as loading.
        report.stages["load"] = time.perf_counter() - t0 - report.stages.get("chunk", 0.0)
        report.removed = len(set(known) - keep - set(loaded))

        t0 = time.perf_counter()
        fresh = [chunk for file in loaded.values() for chunk in file.chunks]
        vectors = _embed(embedder, fresh, tick)
        report.stages["embed"] = time.perf_counter() - t0
        report.chunks_embedded = len(fresh)
        report.chunks_total = len(fresh) + sum(known[source].chunks for source in keep)

        t0 = time.perf_counter()
        if report.added or report.updated or report.removed or old is None:
            new: dict[str, NewFile] = {}
            row = 0
            for source, file in loaded.items():  # views into one matrix, in file order
                new[source] = NewFile(file.sha256, file.chunks, vectors[row : row + len(file.chunks)], file.profile)
                row += len(file.chunks)
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


@dataclass(frozen=True)
class Loaded:
    """What ingest keeps of a loaded file; its Document is dropped, as the chunks hold its text."""

    sha256: str
    chunks: list[Chunk]
    profile: Profile | None
    warnings: tuple[str, ...]


def _load_chunks(
    path: Path, corpus: Path, count: TokenCounter, max_tokens: int, overlap: int, stages: dict[str, float],
    pages: PageProgress,
) -> Loaded:
    """One file loaded and chunked; seconds spent loading and chunking are added to `stages`."""
    t0 = time.perf_counter()
    doc = load_document(path, corpus, pages)
    t1 = time.perf_counter()
    chunks = chunk_document(doc, count, max_tokens, overlap)
    stages["load"] = stages.get("load", 0.0) + t1 - t0
    stages["chunk"] = stages.get("chunk", 0.0) + time.perf_counter() - t1
    return Loaded(doc.sha256, chunks, doc.profile, doc.warnings)


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
        out[i : i + batch] = embedder.embed_documents([c.indexed_text for c in chunks[i : i + batch]])
    tick("embed", len(chunks), len(chunks))
    return out


