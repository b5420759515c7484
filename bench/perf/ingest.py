"""Ingest throughput against its ceilings, and the cost of keeping an index up to date.

A pipeline number alone says little: next to it are the raw encode of the same chunk texts
by the same backend (what the pipeline could reach if loading, chunking and writing were
free) and the LangChain tutorial pipeline on the same files (what a user would otherwise
build). Warm runs and raw encodes alternate, so a burst of load on a shared machine hits
both rather than one.
"""

from __future__ import annotations

import shutil
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.perf.env import BUILD, child_env, make_embedder, median, model_path, run_worker
from rag.app.build import build
from rag.app.workspace import Workspace
from rag.config import Settings
from rag.embed.base import Embedder


def measure_backend(backend: str, corpus: Path, megabytes: float, texts: Sequence[str], repeats: int,
                    raw_encode: Callable[[list[str]], object] | None = None) -> dict[str, Any]:
    """Cold ingest in a fresh process, then warm full rebuilds alternating with raw encodes.

    The raw encode is one `embed_documents` call over all chunk texts, or `raw_encode`
    when given: for torch that is `SentenceTransformer.encode` itself, which is all
    the torch embedder's `embed_documents` does, so one measurement serves as both.
    """
    index = BUILD / f"ingest-{backend}"
    shutil.rmtree(index, ignore_errors=True)
    t0 = time.perf_counter()
    embedder = make_embedder(backend)  # first: a backend that prepares a model file once does it here
    embedder.embed_documents(["warm-up"])
    load_s = time.perf_counter() - t0
    cold = run_worker(["cold-ingest", "--corpus", str(corpus), "--index", str(index)], backend=backend)
    warm: list[dict[str, Any]] = []
    raw: list[float] = []
    for _ in range(repeats):
        report = _workspace(corpus, index, embedder).ingest(rebuild=True)
        warm.append({"seconds": report.seconds, "stages": dict(report.stages), "chunks": report.chunks_total})
        t0 = time.perf_counter()
        (raw_encode or embedder.embed_documents)(list(texts))
        raw.append(time.perf_counter() - t0)
    chunks = warm[0]["chunks"]
    pipeline_s = median([w["seconds"] for w in warm])
    raw_s = median(raw)
    stages = {name: median([w["stages"].get(name, 0.0) for w in warm]) for name in warm[0]["stages"]}
    return {
        "backend": backend,
        "chunks": chunks,
        "megabytes": round(megabytes, 3),
        "model_load_s": load_s,  # in this process, model file preparation included on a first run
        "cold": {key: cold[key] for key in ("import_s", "model_s", "ingest_s", "total_s", "wall_s", "stages")},
        "warm": {"seconds": pipeline_s, "runs": [w["seconds"] for w in warm], "stages": stages,
                 "chunks_per_s": chunks / pipeline_s, "mb_per_s": megabytes / pipeline_s},
        "raw_encode": {"seconds": raw_s, "runs": raw, "chunks_per_s": len(texts) / raw_s},
        "pipeline_over_raw": raw_s / pipeline_s * chunks / len(texts),
        "cold_chunks_per_s": chunks / cold["total_s"],  # process start to index written, model load included
    }


def st_encoder(batch: int) -> Callable[[list[str]], object]:
    """`SentenceTransformer.encode` of texts at the product's batch size: the torch ceiling."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_path(), device="cpu")
    model.encode(["warm-up"], show_progress_bar=False)
    return lambda texts: model.encode(texts, batch_size=batch, normalize_embeddings=True, show_progress_bar=False)


def measure_st_raw(texts: Sequence[str], batch: int, repeats: int) -> dict[str, Any]:
    """The torch ceiling on its own, for runs that leave the torch backend out."""
    encode = st_encoder(batch)
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        encode(list(texts))
        runs.append(time.perf_counter() - t0)
    return {"seconds": median(runs), "runs": runs, "chunks_per_s": len(texts) / median(runs), "batch_size": batch}


def _hf_embeddings() -> tuple[Any, str]:
    """The tutorial's HuggingFaceEmbeddings: from langchain-huggingface when installed,
    else langchain-community's class of the same name (the same sentence-transformers call)."""
    try:
        from langchain_huggingface import HuggingFaceEmbeddings

        return HuggingFaceEmbeddings(model_name=model_path()), "langchain_huggingface"
    except ImportError:
        from langchain_community.embeddings import HuggingFaceEmbeddings as CommunityEmbeddings

        return CommunityEmbeddings(model_name=model_path()), "langchain_community"


def measure_langchain(corpus: Path, megabytes: float, repeats: int) -> dict[str, Any]:
    """The LangChain RAG tutorial on the same files: load, split 1000/200, embed, FAISS.

    The model is loaded before the clock starts, as for the product's warm runs.
    """
    from langchain_community.document_loaders import TextLoader
    from langchain_community.vectorstores import FAISS
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from rag.load.corpus import list_corpus

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        embeddings, package = _hf_embeddings()
    embeddings.embed_documents(["warm-up"])
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    files = list_corpus(corpus)[0]
    runs: list[dict[str, float]] = []
    chunks = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        docs = [doc for path in files for doc in TextLoader(str(path), encoding="utf-8").load()]
        t1 = time.perf_counter()
        splits = splitter.split_documents(docs)
        t2 = time.perf_counter()
        FAISS.from_documents(splits, embeddings)
        t3 = time.perf_counter()
        chunks = len(splits)
        runs.append({"load": t1 - t0, "split": t2 - t1, "embed+faiss": t3 - t2, "total": t3 - t0})
    total = median([r["total"] for r in runs])
    return {
        "package": package,
        "chunks": chunks,
        "seconds": total,
        "runs": [r["total"] for r in runs],
        "stages": {key: median([r[key] for r in runs]) for key in ("load", "split", "embed+faiss")},
        "chunks_per_s": chunks / total,
        "mb_per_s": megabytes / total,
    }


class CountingEmbedder:
    """Passes every call to the real embedder and counts it, to show which steps need the model."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens
        self.calls: Counter[str] = Counter()

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls["embed_documents"] += 1
        return self.inner.embed_documents(texts)  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> np.ndarray:
        self.calls["embed_query"] += 1
        return self.inner.embed_query(text)  # type: ignore[no-any-return]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        self.calls["count_tokens"] += 1
        return self.inner.count_tokens(texts)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def measure_reingest(corpus: Path, backend: str, repeats: int, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Re-ingest of an unchanged corpus and of one edited file, with a loaded embedder.

    The edited file is a shipped document; each repeat appends a different paragraph, so
    the file really changes every time. The original text is put back at the end.
    """
    log(f"re-ingest ({backend}): unchanged corpus, one edited file")
    index = BUILD / f"ingest-{backend}"
    embedder = make_embedder(backend)
    counting = CountingEmbedder(embedder)
    if not index.exists():
        _workspace(corpus, index, embedder).ingest()
    unchanged = []
    for _ in range(repeats):
        report = _workspace(corpus, index, counting).ingest()
        unchanged.append((report.seconds, report.chunks_embedded))
    calls = dict(counting.calls)
    cli = _cli_reingest(corpus, index, backend)
    edited_path = next(corpus.glob("coreweave-vs-microsoft*"), None) or sorted(corpus.iterdir())[0]
    original = edited_path.read_bytes()
    edited = []
    try:
        for i in range(repeats):
            paragraph = f"\n\nRevision {i + 1}: this paragraph was appended to measure re-ingest of one file.\n"
            edited_path.write_bytes(original + paragraph.encode())
            report = _workspace(corpus, index, embedder).ingest()
            edited.append((report.seconds, report.chunks_embedded, report.updated))
    finally:
        edited_path.write_bytes(original)
        _workspace(corpus, index, embedder).ingest()
    return {
        "backend": backend,
        "unchanged": {"seconds": median([s for s, _ in unchanged]), "runs": [s for s, _ in unchanged],
                      "chunks_embedded": max(n for _, n in unchanged), "model_calls": calls,
                      "needs_model": bool(calls), "cli_wall_s": cli},
        "edited": {"file": edited_path.name, "seconds": median([s for s, _, _ in edited]),
                   "runs": [s for s, _, _ in edited], "chunks_embedded": median([n for _, n, _ in edited]),
                   "files_updated": max(u for _, _, u in edited)},
    }


def _cli_reingest(corpus: Path, index: Path, backend: str) -> float:
    """Wall time of `rag ingest` on the unchanged corpus, start-up included."""
    import subprocess
    import sys

    rag = Path(sys.executable).with_name("rag")
    t0 = time.perf_counter()
    subprocess.run([str(rag), "ingest", "--corpus", str(corpus), "--index", str(index), "--json"],
                   capture_output=True, env=child_env(backend), check=True)
    return time.perf_counter() - t0


def _workspace(corpus: Path, index: Path, embedder: Embedder) -> Workspace:
    """The product's pipeline over the bench corpus, with the embedder being measured."""
    return build(Settings(corpus=corpus, index=index), embedder=embedder)
