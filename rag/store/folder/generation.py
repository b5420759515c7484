"""Generations of the folder index: each written whole beside the live one, then made live atomically.

Layout of an index folder (format 2, documented in the README):

    CURRENT              name of the live generation, replaced atomically
    .lock                held by a writer for the duration of an ingest; says which pid, since when
    gen-<stamp>/
        manifest.json    format, embedding model, dimension, chunking, files and hashes, vector index
        chunks.jsonl     one chunk per line (Chunk.to_json: `tables` only when it holds some); line i is
                         vector row i
        chunks.offsets.npy  int64 byte offset of every line, then the file's size
        vectors.faiss    faiss.write_index: flat inner product, or IVF with 8-bit scalar quantizer
        vectors.f16.npy  (IVF only) every vector in float16, for reuse by the next ingest
        bm25/            bm25s arrays (.npy, allow_pickle=False) and vocabulary (.json)
        checksums.json   SHA-256 of every other file, checked before anything is parsed

A reader sees either the old generation or the new one, never a mix, and an interrupted
write leaves the old one in place. Nothing here is pickled: an index folder from someone
else cannot run code. Locks and fsync are in durable.py; the vector index (flat or IVF) is
built in vectors.py.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

import bm25s
import numpy as np

from rag.load.corpus import sha256_file
from rag.store.base import IndexUnavailable
from rag.store.folder.durable import fsync_dir, fsync_file, fsync_tree
from rag.store.folder.manifest import Manifest
from rag.store.folder.vectors import choose, write_vectors
from rag.types import Chunk

CHECKSUMS = "checksums.json"
CHUNKS = "chunks.jsonl"
OFFSETS = "chunks.offsets.npy"


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
            line = (json.dumps(chunk.to_json(), ensure_ascii=False) + "\n").encode("utf-8")
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


def verify_checksums(gen: Path, root: Path) -> None:
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
