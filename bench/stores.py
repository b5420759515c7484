"""The folder index and Milvus Lite side by side: writing an index, re-ingesting one file, and queries.

    python -m bench.stores [--sizes 10000 100000] [--out build/bench-stores.json]

The chunks are financebench-public's real chunks with their real embeddings (the index `make test`
builds in build/finance-index, 13,477 chunks); a size above that repeats them under distinct sources
with their vectors plus gaussian noise, re-normalised, as `bench/perf/synth.py` does for the folder
index's own benchmark. Embedding is left out: both stores are given the same vectors, so what is timed
is what differs between them:

- write: a whole index state from nothing (chunks, vectors, BM25 terms, manifest), chunks per second;
- update: one file edited and written again, the unchanged files kept from the live state;
- query: `HybridRetriever.search` (the query's embedding, dense and BM25 search, fusion and near-duplicate
  filtering) for the 39 financebench questions and the 49 seed questions, after a warm-up; p50 and p95.

Both stores are measured in the same process, one after the other at each size.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from bench.paths import BUILD, CORPUS, FINANCE, SEED
from rag.app.build import build
from rag.app.workspace import Workspace
from rag.config import Settings
from rag.store.base import IndexInfo, NewFile
from rag.store.folder.index import FolderIndex
from rag.types import Chunk

FINANCE_INDEX = BUILD / "finance-index"
QUESTIONS = [FINANCE / "qa.jsonl", SEED]
NOISE_SIGMA, SEED = 0.02, 7


def corpus(n: int) -> tuple[IndexInfo, dict[str, NewFile]]:
    """n chunks grouped by file: the real ones first, then copies under 'copy-NNN/<source>'."""
    base = FolderIndex.load(FINANCE_INDEX)
    sources = sorted(base.files())
    real: list[tuple[str, list[Chunk], np.ndarray]] = [(s, base.chunks_for(s), base.vectors_for(s)) for s in sources]
    rng = np.random.default_rng(SEED)
    files: dict[str, NewFile] = {}
    total, copy = 0, 0
    while total < n:
        for source, chunks, vectors in real:
            take = min(len(chunks), n - total)
            if take <= 0:
                break
            name = source if copy == 0 else f"copy-{copy:03d}/{source}"
            block = vectors[:take].astype(np.float32)
            if copy:
                block = block + rng.normal(0.0, NOISE_SIGMA, block.shape).astype(np.float32)
                block /= np.linalg.norm(block, axis=1, keepdims=True)
            renamed = [replace(c, id=f"{c.id}-{copy}", source=name) for c in chunks[:take]]
            files[name] = NewFile(f"{copy:08d}{base.files()[source].sha256[8:]}", renamed, block,
                                  base.files()[source].profile)
            total += take
        copy += 1
    return base.info, files


def questions() -> list[str]:
    out = []
    for path in QUESTIONS:
        out += [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


def measure(ws: Workspace, info: IndexInfo, files: dict[str, NewFile], asked: list[str]) -> dict[str, Any]:
    store = ws.store
    n = sum(len(f.chunks) for f in files.values())
    quiet = lambda *_: None  # noqa: E731
    t0 = time.perf_counter()
    with store.lock():
        store.write(info, files, (), None, quiet)
    write_s = time.perf_counter() - t0

    index = store.open()
    edited = sorted(files)[len(files) // 2]  # one file edited: written anew, every other file kept
    changed = {edited: replace(files[edited], sha256="f" * 64)}
    t0 = time.perf_counter()
    with store.lock():
        store.write(info, changed, set(files) - {edited}, index, quiet)
    update_s = time.perf_counter() - t0

    retriever = ws.retriever  # the product's, over the state just written
    for q in asked[:10]:  # warm-up: model, caches, the store's first reads
        retriever.search(q, 5)
    times = []
    for q in asked:
        t0 = time.perf_counter()
        retriever.search(q, 5)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"chunks": n, "write_s": round(write_s, 2), "write_chunks_per_s": round(n / write_s),
            "update_one_file_s": round(update_s, 2), "query_p50_ms": round(statistics.median(times), 1),
            "query_p95_ms": round(times[int(0.95 * (len(times) - 1))], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--out", type=Path, default=BUILD / "bench-stores.json")
    args = parser.parse_args()
    if not FINANCE_INDEX.is_dir():
        raise SystemExit(f"{FINANCE_INDEX} is missing: `make test` builds it (or rag ingest --corpus "
                         "../shared/benchmarks/financebench-public/corpus --index build/finance-index)")
    asked = questions()
    results = []
    for size in args.sizes:
        info, files = corpus(size)
        for kind in ("folder", "milvus-lite"):
            work = Path(tempfile.mkdtemp(prefix=f"bench-stores-{size}-"))
            ws = build(Settings(corpus=CORPUS, index=work / "index", k=5,
                                store="folder" if kind == "folder" else f"milvus:{work / 'rag.db'}"))
            store = ws.store
            try:
                row = {"store": kind, **measure(ws, info, files, asked)}
            finally:
                close = getattr(store, "close", None)
                if close is not None:
                    close()
                shutil.rmtree(work, ignore_errors=True)
            results.append(row)
            print(f"{kind:12} {row['chunks']:>8,} chunks  write {row['write_s']:>7.2f} s "
                  f"({row['write_chunks_per_s']:>6,}/s)  update one file {row['update_one_file_s']:>6.2f} s  "
                  f"query p50 {row['query_p50_ms']:>6.1f} ms  p95 {row['query_p95_ms']:>6.1f} ms", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
