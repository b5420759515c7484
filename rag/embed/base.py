"""The interface every consumer of embeddings sees, the base the real models share, and one cache.

Everything above this package sees `Embedder`: unit-normalised float32 vectors (so inner
product is cosine) and the model's own token counts (so chunking can respect the model's
input limit). A model implements one batch method, `embed_batch`; the rest is built on it
here. `CachedEmbedder` is the only cache of vectors in the product.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from cachetools import LRUCache


class Embedder(Protocol):
    name: str
    dim: int
    max_tokens: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


class BatchEmbedder(ABC):
    """A model behind one batch call: `embed_batch` gets a non-empty list and returns one
    unit-normalised float32 row per text."""

    name: str
    dim: int
    max_tokens: int

    @abstractmethod
    def embed_batch(self, texts: list[str]) -> np.ndarray: ...

    @abstractmethod
    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.embed_batch(list(texts))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


class CachedEmbedder:
    """An Embedder that remembers vectors by text: bounded, least recently used first out,
    safe to share between the threads of a server.

    Answering embeds the same sentences again for related questions, and the retriever and
    the answerer embed the same question, so both are kept; ingest embeds each chunk once
    and goes to the model directly.
    """

    def __init__(self, embedder: Embedder, size: int, queries: int = 64) -> None:
        self._embedder = embedder
        self.name, self.dim, self.max_tokens = embedder.name, embedder.dim, embedder.max_tokens
        self._documents: LRUCache[str, np.ndarray] = LRUCache(maxsize=max(1, size))
        self._queries: LRUCache[str, np.ndarray] = LRUCache(maxsize=max(1, queries))
        self._lock = threading.Lock()

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return self._embedder.embed_documents([])
        distinct = list(dict.fromkeys(texts))
        with self._lock:  # what is found is held here: another thread may evict it meanwhile
            found = {t: self._documents[t] for t in distinct if t in self._documents}
        missing = [t for t in distinct if t not in found]
        if missing:
            fresh = dict(zip(missing, self._embedder.embed_documents(missing), strict=True))
            found.update(fresh)
            with self._lock:
                self._documents.update(fresh)
        return np.vstack([found[t] for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            vector = self._queries.get(text)
        if vector is None:
            vector = self._embedder.embed_query(text)
            vector.setflags(write=False)
            with self._lock:
                self._queries[text] = vector
        return vector

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._embedder.count_tokens(texts)
