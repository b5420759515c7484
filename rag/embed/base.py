"""The embedding model behind one small interface.

Everything above this module sees `Embedder`: unit-normalised float32 vectors (so inner
product is cosine) and the model's own token counts (so chunking can respect the model's
input limit). `SentenceTransformerEmbedder` is the real model; `HashingEmbedder` is a tiny
deterministic stand-in for fast unit tests of the logic around it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.config import DEFAULT_BACKEND, EMBEDDING_BACKENDS


class Embedder(Protocol):
    name: str
    dim: int
    max_tokens: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local path or an offline cache."""

    def __init__(self, model: str, *, name: str | None = None, batch_size: int = 32) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        try:
            self._model = SentenceTransformer(model, device="cpu")
        except (OSError, ValueError) as exc:
            raise RuntimeError(
                f"could not load embedding model {model!r} (setting RAG_EMBEDDING_MODEL): {exc}"
            ) from exc
        self.name = name or model
        dim, seq = self._model.get_embedding_dimension(), self._model.max_seq_length
        if dim is None or seq is None:
            raise RuntimeError(f"embedding model {model!r} does not report its dimension and input length")
        self.dim = int(dim)
        # Two positions go to the [CLS] and [SEP] special tokens.
        self.max_tokens = int(seq) - 2
        self._batch_size = batch_size

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts), batch_size=self._batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encoded = self._model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]


def load_embedder(model_path: str, *, name: str, backend: str = DEFAULT_BACKEND, batch_size: int = 16,
                  cache_dir: Path | None = None, threads: int | None = None) -> Embedder:
    """The real model on the chosen backend.

    torch and onnx give the same vectors (cosine 1.0) and share an index; int8 vectors
    differ slightly, so the int8 model has its own name and switching to or from it
    rebuilds the index rather than mixing the two.
    """
    if backend == "torch":
        return SentenceTransformerEmbedder(model_path, name=name, batch_size=batch_size)
    if backend not in EMBEDDING_BACKENDS:
        raise RuntimeError(f"unknown embedding backend {backend!r} (setting RAG_EMBEDDING_BACKEND): "
                           f"use {', '.join(EMBEDDING_BACKENDS)}")
    from rag.embed.onnx import OnnxEmbedder, default_cache_dir

    quantized = backend == "onnx-int8"
    return OnnxEmbedder(model_path, name=f"{name}#int8" if quantized else name, quantized=quantized,
                        cache_dir=cache_dir or default_cache_dir(), batch_size=batch_size, threads=threads)


class HashingEmbedder:
    """Deterministic bag-of-words vectors: a test double, not a model.

    Shared words give positive cosine, so retrieval logic behaves sensibly in unit tests
    without loading weights.
    """

    def __init__(self, dim: int = 64, max_tokens: int = 254) -> None:
        self.name = f"hashing-{dim}"
        self.dim = dim
        self.max_tokens = max_tokens

    def _tokens(self, text: str) -> list[str]:
        return re.findall(r"\w+|[^\w\s]", text.lower())

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in self._tokens(text):
                h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(self._tokens(t)) for t in texts]
