"""Query latency, ANN recall and memory at 1k to 1M chunks.

Each size is built once with the product's `write_generation` and kept under
build/bench/index/ (the folder name carries the real chunks' key and a digest of
rag/store/folder/generation.py, so a change to either rebuilds it). Every measurement then runs in a fresh
process, so memory figures are those of one warm query process over one index. Where the
product chose an approximate vector index, a flat index of the same rows is built too and
its top 10 for every question is the reference for recall@10.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from bench.perf import synth as perf_synth
from bench.perf.env import BUILD, folder_bytes, percentile, run_worker
from rag.store.folder.generation import live_generation


def ensure_index(base: Path, key: str, size: int, force: str | None = None) -> tuple[Path, dict[str, Any]]:
    """A built index of `size` rows, from the cache when it is there."""
    root = BUILD / "index" / f"{key}-{perf_synth.index_code_key()}-{size}{'-' + force if force else ''}"
    record = perf_synth.cached_build(root)
    if record is not None:
        return root, {**record, "cached": True}
    shutil.rmtree(root, ignore_errors=True)
    args = ["build", "--base", str(base), "--size", str(size), "--out", str(root)]
    record = run_worker([*args, "--force", force] if force else args, timeout=3600)
    return root, {**record, "cached": False}


def summarize(run: dict[str, Any], root: Path, size: int) -> dict[str, Any]:
    """Latency percentiles and memory of one query process."""
    gen = live_generation(root)
    disk = folder_bytes(gen) if gen else 0
    growth_mb = run["rss_after_load_mb"] - run["rss_before_index_mb"]
    resident_mb = run["rss_end_mb"] - run["rss_before_index_mb"]
    return {
        "retrieval_p50_ms": percentile(run["retrieval_ms"], 0.5),
        "retrieval_p95_ms": percentile(run["retrieval_ms"], 0.95),
        "answer_p50_ms": percentile(run["answer_ms"], 0.5) if run["answer_ms"] else None,
        "answer_p95_ms": percentile(run["answer_ms"], 0.95) if run["answer_ms"] else None,
        "questions": len(run["retrieval_ms"]),
        "load_s": run["load_s"],
        "peak_rss_mb": run["peak_rss_mb"],
        "rss_growth_load_mb": growth_mb,
        "rss_index_after_queries_mb": resident_mb,
        "ram_bytes_per_chunk": resident_mb * 2**20 / size,
        "disk_mb": disk / 2**20,
        "disk_bytes_per_chunk": disk / size,
    }


def recall_at_10(approx: list[list[int]], exact: list[list[int]]) -> float:
    """Mean share of the exact top 10 that the approximate search also returns:
    [[1, 2]] vs [[2, 3]] -> 0.5."""
    shares = [len(set(a) & set(e)) / len(e) for a, e in zip(approx, exact, strict=True) if e]
    return sum(shares) / len(shares) if shares else float("nan")


def measure_size(base: Path, key: str, size: int, questions: Path, repeats: int, backend: str) -> dict[str, Any]:
    root, build = ensure_index(base, key, size)
    chosen = perf_synth.vector_index(root)
    run = run_worker(["query", "--index", str(root), "--questions", str(questions), "--repeats", str(repeats)],
                     backend=backend)
    entry: dict[str, Any] = {"chunks": size, "vector_index": chosen, "build": build,
                             **summarize(run, root, size)}
    if perf_synth.is_exact(chosen):
        entry["recall_at_10"] = {"value": 1.0, "note": "flat index: exact by construction"}
    elif not perf_synth.can_force():
        entry["recall_at_10"] = {"value": None, "note": "write_generation cannot force a flat index"}
    else:
        flat_root, flat_build = ensure_index(base, key, size, force="flat")
        flat = run_worker(["query", "--index", str(flat_root), "--questions", str(questions), "--repeats", "1",
                           "--retrieval-only"], backend=backend)
        entry["recall_at_10"] = {"value": recall_at_10(run["dense_top10"], flat["dense_top10"]),
                                 "note": f"vs flat, {len(flat['dense_top10'])} questions"}
        entry["flat"] = {"vector_index": perf_synth.vector_index(flat_root), "build": flat_build,
                         **summarize(flat, flat_root, size)}
    return entry


def measure(base: Path, key: str, sizes: list[int], questions: Path, repeats: int, backend: str,
            log: Any = print) -> dict[str, Any]:
    results = []
    for size in sizes:
        log(f"query: {size:,} chunks")
        results.append(measure_size(base, key, size, questions, repeats, backend))
    return {
        "backend": backend,
        "note": f"indexes above the real chunk count are synthetic: real chunk texts under distinct sources, "
                f"real embeddings plus gaussian noise (sigma {perf_synth.NOISE_SIGMA} per dimension), re-normalised",
        "sizes": results,
    }
