"""Measurements through the `rag` command itself: cold start and answer quality per backend.

These go through the installed entry point in a subprocess, as a user runs it, so they
include everything a user waits for (interpreter, imports, model load, index load) and
score exactly what `rag eval` scores.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.perf.env import BUILD, QUESTION_SETS, ROOT, child_env, median, run_worker

RAG = Path(sys.executable).with_name("rag")
QUALITY_KEYS = ("hit_at_k", "mrr", "context_fact_recall", "fact_recall", "abstention_f1", "latency_p50_ms")


def _rag(args: list[str], backend: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(RAG), *args], capture_output=True, text=True, env=child_env(backend), cwd=ROOT,
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"rag {' '.join(args[:1])} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc


def cold_start(backend: str, question: str, repeats: int, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Wall time of `rag ask` on a prebuilt index, to the first answer line and to exit."""
    log(f"cold start: rag ask ({backend})")
    corpus = ROOT / "corpus"
    index = BUILD / "coldstart" / backend
    _rag(["ingest", "--corpus", str(corpus), "--index", str(index), "--json"], backend)
    args = ["ask", question, "--index", str(index), "--corpus", str(corpus)]
    first, total = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(RAG), *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                env=child_env(backend), cwd=ROOT)
        assert proc.stdout is not None
        proc.stdout.readline()
        first.append(time.perf_counter() - t0)
        proc.stdout.read()
        if proc.wait() != 0:
            raise RuntimeError(f"rag ask failed with backend {backend}")
        total.append(time.perf_counter() - t0)
    imported = run_worker(["modules", *args], backend=backend)["imported"]
    return {"backend": backend, "question": question, "first_answer_s": median(first), "exit_s": median(total),
            "runs": first, "imported": imported, "gradio_imported": imported["gradio"]}


def _question_file(name: str, qa: Path, limit: int | None) -> Path:
    """The question set, or its first `limit` questions (for --quick)."""
    if limit is None:
        return qa
    path = BUILD / "eval" / f"{name}-first{limit}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [line for line in qa.read_text("utf-8").splitlines() if line.strip()][:limit]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def quality(backend: str, limit: int | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """`rag eval` of each question set with this backend; its own report.json is the source."""
    log(f"quality: rag eval ({backend})")
    out: dict[str, Any] = {"backend": backend}
    for name, (qa, corpus) in QUESTION_SETS.items():
        folder = BUILD / "eval" / f"{name}-{backend}"
        shutil.rmtree(folder, ignore_errors=True)  # torch and onnx share an index name: never reuse one
        t0 = time.perf_counter()
        _rag(["eval", "--qa", str(_question_file(name, qa, limit)), "--corpus", str(corpus),
              "--index", str(folder / "index"), "--out", str(folder / "report")], backend)
        summary = json.loads((folder / "report" / "report.json").read_text("utf-8"))["summary"]
        out[name] = {key: summary.get(key) for key in QUALITY_KEYS}
        out[name]["questions"] = summary.get("questions")
        out[name]["wall_s"] = time.perf_counter() - t0
    return out
