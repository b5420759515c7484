"""Measurements that need a process of their own, run by `python -m bench.perf`.

Cold start, peak memory and the memory an index adds can only be read in a fresh
interpreter: in the parent, earlier sections have already imported the libraries, loaded
models and touched memory. Each subcommand prints one JSON object as its last line.

    python -m bench.perf.worker cold-ingest --corpus DIR --index DIR
    python -m bench.perf.worker build --base DIR --size N --out DIR [--force flat]
    python -m bench.perf.worker query --index DIR --questions FILE --repeats R
    python -m bench.perf.worker modules ask QUESTION --index DIR --corpus DIR
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import psutil

STARTED = psutil.Process().create_time()


def since_start() -> float:
    """Seconds since this process was created (interpreter start-up included, ±10 ms)."""
    return time.time() - STARTED


def cold_ingest(corpus: Path, index: Path) -> dict[str, Any]:
    from bench.perf.env import make_embedder
    from rag.app.build import build
    from rag.config import Settings

    import_s = since_start()
    embedder = make_embedder(os.environ.get("RAG_EMBEDDING_BACKEND", "torch"))
    model_s = since_start() - import_s
    report = build(Settings(corpus=corpus, index=index), embedder=embedder).ingest(rebuild=True)
    return {"import_s": import_s, "model_s": model_s, "ingest_s": report.seconds, "stages": report.stages,
            "chunks": report.chunks_total, "total_s": since_start()}


def build(base: Path, size: int, out: Path, force: str | None) -> dict[str, Any]:
    from bench.perf import synth as perf_synth
    from bench.perf.corpus import load_base
    from bench.perf.env import memory_kib

    chunks, vectors, info = load_base(base)
    record = perf_synth.build(out, chunks, vectors, size, str(info["model"]), dict(info["chunking"]), force=force)
    record["peak_rss_mb"] = memory_kib()["VmHWM"] / 1024
    (out / "bench-build.json").write_text(json.dumps(record, indent=2), "utf-8")
    return record


def query(index: Path, questions_file: Path, repeats: int, k: int, answers: bool = True) -> dict[str, Any]:
    """Latency of retrieval and of the full extractive answer over a loaded index, and memory.

    Without `answers` only retrieval is timed: a reference index needs no answer timings.
    """
    from bench.paths import CORPUS
    from bench.perf.env import make_embedder, memory_kib
    from rag.app.build import build
    from rag.app.engine import Engine
    from rag.config import Settings

    questions: list[str] = json.loads(questions_file.read_text("utf-8"))
    embedder = make_embedder(os.environ.get("RAG_EMBEDDING_BACKEND", "torch"))
    embedder.embed_query("warm-up")
    before = memory_kib()
    ws = build(Settings(corpus=CORPUS, index=index, k=k), embedder=embedder)
    t0 = time.perf_counter()
    retriever = ws.retriever  # the index is loaded here
    load_s = time.perf_counter() - t0
    store = retriever.store
    loaded = memory_kib()
    warm = ws.extractive_with()
    engine = Engine(retriever, warm)  # the product's retrieve step, timed as users meet it
    for q in questions[:5]:
        warm.answer(q, engine.passages(q, k))

    retrieval: list[list[float]] = [[] for _ in questions]
    answer: list[list[float]] = [[] for _ in questions]
    for _ in range(repeats):
        for i, q in enumerate(questions):
            t0 = time.perf_counter()
            engine.passages(q, k)
            retrieval[i].append((time.perf_counter() - t0) * 1000)
    for _ in range(repeats if answers else 0):
        answerer = ws.extractive_with(shared_cache=False)  # its sentence cache starts empty on every pass
        cold = Engine(retriever, answerer)
        for i, q in enumerate(questions):
            t0 = time.perf_counter()
            answerer.answer(q, cold.passages(q, k))
            answer[i].append((time.perf_counter() - t0) * 1000)
    dense = [[row for row, _ in store.dense_search(embedder.embed_query(q), 10)] for q in questions]
    end = memory_kib()
    return {
        "chunks": len(store),
        "load_s": load_s,
        "retrieval_ms": [sorted(r)[len(r) // 2] for r in retrieval],
        "answer_ms": [sorted(a)[len(a) // 2] for a in answer if a],
        "dense_top10": dense,
        "rss_before_index_mb": before["VmRSS"] / 1024,
        "rss_after_load_mb": loaded["VmRSS"] / 1024,
        "rss_end_mb": end["VmRSS"] / 1024,
        "peak_rss_mb": end["VmHWM"] / 1024,
    }


def modules(argv: list[str]) -> dict[str, Any]:
    """Run `rag ARGV` in this process, then say which heavy libraries it imported."""
    from rag.cli import main

    with contextlib.suppress(SystemExit):
        main(argv, standalone_mode=False)
    watched = ("gradio", "torch", "sentence_transformers", "transformers", "onnxruntime", "langchain_community",
               "faiss", "bm25s", "matplotlib")
    return {"imported": {name: name in sys.modules for name in watched}, "total_s": since_start()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("cold-ingest")
    p.add_argument("--corpus", type=Path, required=True)
    p.add_argument("--index", type=Path, required=True)
    p = sub.add_parser("build")
    p.add_argument("--base", type=Path, required=True)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--force", default=None)
    p = sub.add_parser("query")
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--questions", type=Path, required=True)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--retrieval-only", action="store_true")
    p = sub.add_parser("modules")
    p.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.command in ("build", "query"):  # as the CLI does: FAISS threads are set by the edge
        from rag.store.folder.vectors import set_threads

        set_threads()
    if args.command == "cold-ingest":
        result = cold_ingest(args.corpus, args.index)
    elif args.command == "build":
        result = build(args.base, args.size, args.out, args.force)
    elif args.command == "query":
        result = query(args.index, args.questions, args.repeats, args.k, not args.retrieval_only)
    else:
        result = modules(args.argv)
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
