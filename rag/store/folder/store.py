"""The folder index as a `Store`: states are generations under one folder, writers hold its lock."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np

from rag.store.base import FileEntry, Index, IndexInfo, NewFile, ProgressFn
from rag.store.folder.durable import writer_lock
from rag.store.folder.generation import live_generation, write_generation
from rag.store.folder.index import FolderIndex
from rag.store.folder.manifest import Manifest
from rag.text import terms
from rag.types import Chunk


class FolderStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"FolderStore({str(self.root)!r})"

    def exists(self) -> bool:
        return live_generation(self.root) is not None

    def open(self) -> FolderIndex:
        return FolderIndex.load(self.root)

    def lock(self) -> AbstractContextManager[None]:
        return writer_lock(self.root)

    def write(self, info: IndexInfo, new: Mapping[str, NewFile], keep: Collection[str], base: Index | None,
              progress: ProgressFn) -> None:
        """A new generation with the files in sorted order, so a file's rows are contiguous and
        found from the manifest alone (`Manifest.file_rows`). Kept vectors are read from `base`
        straight into the new matrix, so a large index is not held twice."""
        sources = sorted(set(new) | set(keep))
        kept = {source: base.chunks_for(source) for source in keep} if base is not None else {}
        chunks: list[Chunk] = []
        entries: dict[str, FileEntry] = {}
        for source in sources:
            file_chunks = new[source].chunks if source in new else kept[source]
            chunks.extend(file_chunks)
            if source in new:
                entries[source] = FileEntry(new[source].sha256, len(file_chunks), new[source].profile)
            else:
                entries[source] = base.files()[source]  # type: ignore[union-attr]
        manifest = Manifest(info.embedding_model, info.dim, info.chunking, entries, len(chunks), created=time.time())
        vectors = _matrix(sources, new, base, info.dim, len(chunks))
        progress("write", 0, 1)
        write_generation(self.root, manifest, chunks, vectors, _terms(chunks, progress))
        progress("write", 1, 1)


def _matrix(sources: Sequence[str], new: Mapping[str, NewFile], base: Index | None, dim: int, n: int) -> np.ndarray:
    """One matrix of every vector in row order, without a copy when the new files' vectors
    already are consecutive slices of one array (a first ingest)."""
    if sources and all(source in new for source in sources):
        whole = _whole([new[source].vectors for source in sources], n)
        if whole is not None:
            return whole
    matrix = np.empty((n, dim), dtype=np.float32)
    row = 0
    for source in sources:
        block = new[source].vectors if source in new else base.vectors_for(source)  # type: ignore[union-attr]
        matrix[row : row + len(block)] = block
        row += len(block)
    return matrix


def _terms(chunks: Sequence[Chunk], tick: ProgressFn, batch: int = 1024) -> Iterator[list[str]]:
    """BM25 terms of each chunk, made as the index writer reads them, with progress."""
    for i, chunk in enumerate(chunks):
        if i % batch == 0:
            tick("terms", i, len(chunks))
        yield terms(chunk.indexed_text)
    tick("terms", len(chunks), len(chunks))


def _whole(blocks: Sequence[np.ndarray], n: int) -> np.ndarray | None:
    """The array `blocks` are consecutive row slices of, covering it all; None if they are not."""
    root = blocks[0].base if blocks[0].base is not None else blocks[0]
    if not isinstance(root, np.ndarray) or root.ndim != 2 or len(root) != n or not root.flags.c_contiguous:
        return None
    start, step, row = root.__array_interface__["data"][0], root.strides[0], 0
    for block in blocks:
        if (block.base is not root and block is not root) or block.__array_interface__["data"][0] != start + row * step:
            return None
        row += len(block)
    return root if row == n else None
