"""Incremental ingest: corpus folder -> a new state of the store.

Files are compared by the SHA-256 of their bytes against the live state: unchanged files
keep their chunks and vectors (nothing is embedded), changed and new files are re-loaded,
re-chunked and re-embedded, and files gone from the corpus leave the index. If the
embedding model or chunking settings differ from the ones the index was built with,
everything is rebuilt, so vectors from two models are never mixed.

Those decisions are made here whatever does the work: a `Pipeline` loads, chunks and embeds the
new and changed files, in this process (`InProcess`) or on Ray Data (`rag.ingest_ray`), and
both give the same index.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.chunk import TokenCounter, chunk_document
from rag.config import CHUNK_OVERLAP, CHUNK_TOKENS
from rag.embed.base import Embedder
from rag.load.base import PageProgress
from rag.load.corpus import LoadError, list_corpus, load_document, printable, sha256_file
from rag.packs import Pack, recognise
from rag.store.base import Index, IndexInfo, IndexUnavailable, NewFile, ProgressFn, Store, compatible
from rag.types import Chunk, Profile

# Progress stages: "load" (files), "pages" (of the PDF being loaded), "chunk" (sentences of the file
# being chunked, so a huge file still shows progress), "embed" (chunks), then the store's "terms" and
# "write". On Ray, "files" (loaded and chunked by the workers) comes between "load" and "embed".
# v2: list markers count toward max_tokens; v3: table rows whole, captions embedded; v4: the document's profile
# and the chunk's section path embedded with it; v5: chunks carry their tables' rows, cells and headers; v6: the
# profile is a domain pack's, read from the document's text and never its file name.
SPLITTER = "sentence-v16"
# Chunks handed to the embedder at once. The int8 model quantizes activations per model batch, so a
# chunk's vector depends a little on the chunks embedded with it: every pipeline cuts the same slices.
EMBED_SLICE = 128


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
    # Seconds per stage. On Ray: load, chunk and embed summed over the workers, and "ray" the run's wall-clock time.
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
    pipeline: Pipeline | None = None,
    packs: Sequence[Pack] = (),
) -> IngestReport:
    """Bring `store` up to date with the files in `corpus`.

    What is kept, updated and removed is decided here; `pipeline` only loads, chunks and embeds
    the new and changed files (in this process unless told otherwise, e.g. on Ray Data), so every
    pipeline gives the same index and the same report. A document one of `packs` recognises keeps the
    profile the pack reads from its text (rag.packs).
    """
    if not corpus.is_dir():
        raise FileNotFoundError(f"corpus folder {corpus} does not exist (setting --corpus / RAG_CORPUS)")
    started = time.perf_counter()
    report = IngestReport()
    tick = progress or (lambda stage, done, total: None)
    max_tokens = min(chunk_tokens, embedder.max_tokens)
    # The packs are part of how chunks are made (a recognised document's profile is embedded with them): an
    # index built with other packs is rebuilt.
    chunking: dict[str, int | str] = {"max_tokens": max_tokens, "overlap_tokens": chunk_overlap, "splitter": SPLITTER,
                                      "packs": ",".join(pack.name for pack in packs)}
    info = IndexInfo(embedder.name, embedder.dim, chunking)
    prepare = pipeline or InProcess(embedder)

    with store.lock():
        old = _previous(store, info, rebuild, report)
        known = old.files() if old is not None else {}
        files, skipped = list_corpus(corpus)
        report.skipped = [{"path": p, "error": why} for p, why in skipped]
        sources = [path.relative_to(corpus).as_posix() for path in files]
        keep: set[str] = set()
        unreadable: dict[int, Loaded | str] = {}

        def pending() -> Iterator[Pending]:
            """The files whose bytes changed, hashed one at a time as the pipeline asks for them."""
            for i, (path, source) in enumerate(zip(files, sources, strict=True)):
                tick("load", i, len(files))
                previous = known.get(source)
                try:
                    sha = sha256_file(path)
                except OSError as exc:
                    unreadable[i] = str(exc)
                    continue
                if previous and previous.sha256 == sha:
                    keep.add(source)
                    report.unchanged += 1
                else:
                    yield Pending(i, source, path)
            tick("load", len(files), len(files))

        prepared = prepare(corpus, pending(), max_tokens=max_tokens, overlap=chunk_overlap, tick=tick,
                           packs=tuple(packs))
        report.stages.update(prepared.stages)
        loaded: dict[str, Loaded] = {}
        outcomes = unreadable | prepared.outcomes
        for i in sorted(outcomes):  # corpus order, as the files were listed
            source, outcome = sources[i], outcomes[i]
            previous = known.get(source)
            if isinstance(outcome, str):
                report.failed.append({"path": printable(source), "error": outcome})
                if previous:  # keep the last good version searchable
                    keep.add(source)
                continue
            loaded[source] = outcome
            report.warnings.extend({"path": printable(source), "warning": w} for w in outcome.warnings)
            label = outcome.profile.label() if outcome.profile else ""
            if label:
                report.profiles.append({"path": printable(source), "profile": label})
            if previous:
                report.updated += 1
            else:
                report.added += 1
        report.removed = len(set(known) - keep - set(loaded))
        report.chunks_embedded = len(prepared.vectors)
        report.chunks_total = report.chunks_embedded + sum(known[source].chunks for source in keep)

        t0 = time.perf_counter()
        if report.added or report.updated or report.removed or old is None:
            new: dict[str, NewFile] = {}
            row = 0
            for source, file in loaded.items():  # views into one matrix, in file order
                new[source] = NewFile(file.sha256, file.chunks, prepared.vectors[row : row + len(file.chunks)],
                                      file.profile)
                row += len(file.chunks)
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


@dataclass(frozen=True)
class Pending:
    """A new or changed file; `index` is its place in the corpus listing, which orders the report."""

    index: int
    source: str
    path: Path


@dataclass(frozen=True)
class Prepared:
    """What a pipeline made of the pending files.

    `outcomes` holds, by `Pending.index`, the file's chunks or why it could not be read (the
    message the report shows); `vectors` has one row per chunk of the loaded files, in index
    order; `stages` the seconds each stage took.
    """

    outcomes: dict[int, Loaded | str]
    vectors: np.ndarray
    stages: dict[str, float]


class Pipeline(Protocol):
    """Loads, chunks and embeds new and changed files; `ingest` decides everything else.

    It must read `pending` to its end: the files are hashed as it is read, so a pipeline that
    works file by file starts on the first one before the last is hashed. A file that fails to
    load (LoadError, OSError, ValueError) becomes its message in `outcomes`, and the rest go on.
    """

    def __call__(self, corpus: Path, pending: Iterable[Pending], *, max_tokens: int, overlap: int,
                 tick: ProgressFn, packs: tuple[Pack, ...] = ()) -> Prepared: ...


class InProcess:
    """The pipeline in this process: files loaded one after another, then every chunk embedded."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def __call__(self, corpus: Path, pending: Iterable[Pending], *, max_tokens: int, overlap: int,
                 tick: ProgressFn, packs: tuple[Pack, ...] = ()) -> Prepared:
        stages: dict[str, float] = {}
        outcomes: dict[int, Loaded | str] = {}
        count = _counting(self.embedder, tick)
        t0 = time.perf_counter()
        for file in pending:
            try:
                outcomes[file.index] = load_chunks(file.path, corpus, count, max_tokens, overlap, stages,
                                                   lambda done, total: tick("pages", done, total), packs)
            except (LoadError, OSError, ValueError) as exc:
                outcomes[file.index] = str(exc)
        # Hashing counts as loading.
        stages["load"] = time.perf_counter() - t0 - stages.get("chunk", 0.0)
        t0 = time.perf_counter()
        vectors = _embed(self.embedder, fresh_chunks(outcomes), tick)
        stages["embed"] = time.perf_counter() - t0
        return Prepared(outcomes, vectors, stages)


def fresh_chunks(outcomes: dict[int, Loaded | str]) -> list[Chunk]:
    """The chunks to embed, in corpus order: the order of the rows of `Prepared.vectors`."""
    return [chunk for i in sorted(outcomes) if isinstance(done := outcomes[i], Loaded) for chunk in done.chunks]


def load_chunks(
    path: Path, corpus: Path, count: TokenCounter, max_tokens: int, overlap: int, stages: dict[str, float],
    pages: PageProgress | None = None, packs: Sequence[Pack] = (),
) -> Loaded:
    """One file loaded, profiled by the pack that recognises it (its profile is embedded with its chunks), and
    chunked; seconds spent loading and chunking are added to `stages`."""
    t0 = time.perf_counter()
    doc = load_document(path, corpus, pages)
    doc = replace(doc, profile=recognise(packs, doc))
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


def _embed(embedder: Embedder, chunks: list[Chunk], tick: ProgressFn, batch: int = EMBED_SLICE) -> np.ndarray:
    """One matrix filled slice by slice (stacking them would hold every vector twice). A
    slice spans several model batches, so the embedder can group texts of similar length;
    progress still moves every few seconds."""
    out = np.empty((len(chunks), embedder.dim), dtype=np.float32)
    for i in range(0, len(chunks), batch):
        tick("embed", i, len(chunks))
        out[i : i + batch] = embedder.embed_documents([c.indexed_text for c in chunks[i : i + batch]])
    tick("embed", len(chunks), len(chunks))
    return out


