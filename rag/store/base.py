"""The store interface: what ingest writes to, and what retrieval and answering read from.

A store keeps states of the index: the chunks of each file with their vectors and terms,
and a manifest of which file version they come from. A reader opens one complete state
(`Index`) and keeps answering from it while a writer makes the next one; ingest asks a state
for a file's chunks and vectors, never for how they are laid out. The folder index
(`rag.store.folder`) is the embedded default.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rag.types import Chunk, Profile

# (stage, done, total), as ingest reports it.
ProgressFn = Callable[[str, int, int], None]


class IndexUnavailable(Exception):
    """The index is missing, from another format, or damaged; the message says what to run."""


@dataclass(frozen=True)
class FileEntry:
    """One indexed file: the SHA-256 of the bytes its chunks were made from, and their number."""

    sha256: str
    chunks: int
    profile: Profile | None = None


@dataclass(frozen=True)
class IndexInfo:
    """What the vectors of a state were made with; vectors made otherwise must not be mixed in."""

    embedding_model: str
    dim: int
    chunking: dict[str, int | str]


@dataclass(frozen=True)
class NewFile:
    """A file version to write: its chunks in document order, one vector row per chunk."""

    sha256: str
    chunks: Sequence[Chunk]
    vectors: np.ndarray
    profile: Profile | None = None


class Index(Protocol):
    """One complete, read-only state of a store. Keys are the store's own handles for chunks."""

    @property
    def info(self) -> IndexInfo: ...

    def files(self) -> Mapping[str, FileEntry]: ...

    def __len__(self) -> int: ...

    def chunk(self, key: int) -> Chunk: ...

    def chunks_for(self, source: str) -> list[Chunk]: ...

    def vectors_for(self, source: str) -> np.ndarray: ...

    def sections_for(self, source: str) -> list[tuple[int, str | None]]:
        """(key, section path) of each chunk of `source`, in document order."""
        ...

    def dense_search(self, query: np.ndarray, k: int,
                     sources: Collection[str] | None = None) -> list[tuple[int, float]]:
        """The k nearest chunks (cosine), best first; only chunks of `sources` when given."""
        ...

    def sparse_search(self, query_terms: Sequence[str], k: int,
                      sources: Collection[str] | None = None) -> list[tuple[int, float]]:
        """The k best BM25 matches with a positive score, best first; only chunks of `sources` when given."""
        ...


class Store(Protocol):
    """Where states live. Writers are serialised by `lock`; a `write` becomes visible whole or not at all."""

    def exists(self) -> bool: ...

    def open(self) -> Index: ...

    def lock(self) -> AbstractContextManager[None]: ...

    def write(self, info: IndexInfo, new: Mapping[str, NewFile], keep: Collection[str], base: Index | None,
              progress: ProgressFn) -> None:
        """Make live the state holding `new`, and the files in `keep` as they are in `base`; nothing else."""
        ...


def compatible(current: IndexInfo, wanted: IndexInfo) -> str | None:
    """Why vectors of `current` cannot be mixed with new ones made as `wanted` says, or None if they can."""
    if current.embedding_model != wanted.embedding_model or current.dim != wanted.dim:
        return (f"embedding model changed ({current.embedding_model}, dim {current.dim} -> "
                f"{wanted.embedding_model}, dim {wanted.dim})")
    if current.chunking != wanted.chunking:
        return f"chunking settings changed ({current.chunking} -> {wanted.chunking})"
    return None
