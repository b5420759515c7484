"""The embedding model through sentence-transformers on PyTorch: the reference backend."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.embed.base import BatchEmbedder


class SentenceTransformerEmbedder(BatchEmbedder):
    """A sentence-transformers model loaded from a local path or an offline cache.

    Offline mode (HF_HUB_OFFLINE) is the caller's to set, before this module is imported:
    the CLI does it, so nothing here reaches for a model hub.
    """

    def __init__(self, model: str, *, name: str | None = None, batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer

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

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(texts, batch_size=self._batch_size, normalize_embeddings=True,
                                     show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encoded = self._model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]
