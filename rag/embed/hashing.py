"""A deterministic stand-in for the model, for fast unit tests of the logic around it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from rag.embed.base import BatchEmbedder


class HashingEmbedder(BatchEmbedder):
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

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in self._tokens(text):
                h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(self._tokens(t)) for t in texts]
