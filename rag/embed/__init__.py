"""Embed: the embedding model behind one small interface, on PyTorch or ONNX Runtime."""

from __future__ import annotations

from pathlib import Path

from rag.config import DEFAULT_BACKEND, EMBED_BATCH_SIZE, EMBEDDING_BACKENDS, default_model_cache
from rag.embed.base import Embedder


def load_embedder(model_path: str, *, name: str, backend: str = DEFAULT_BACKEND, batch_size: int = EMBED_BATCH_SIZE,
                  cache_dir: Path | None = None, threads: int | None = None) -> Embedder:
    """The real model on the chosen backend.

    torch and onnx give the same vectors (cosine 1.0) and share an index; int8 vectors
    differ slightly, so the int8 model has its own name and switching to or from it
    rebuilds the index rather than mixing the two.
    """
    if backend == "torch":
        from rag.embed.torch import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(model_path, name=name, batch_size=batch_size)
    if backend not in EMBEDDING_BACKENDS:
        raise RuntimeError(f"unknown embedding backend {backend!r} (setting RAG_EMBEDDING_BACKEND): "
                           f"use {', '.join(EMBEDDING_BACKENDS)}")
    from rag.embed.onnx import OnnxEmbedder

    quantized = backend == "onnx-int8"
    return OnnxEmbedder(model_path, name=f"{name}#int8" if quantized else name, quantized=quantized,
                        cache_dir=cache_dir or default_model_cache(), batch_size=batch_size, threads=threads)
