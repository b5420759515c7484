"""What every part of the performance benchmark shares: the machine, the embedders, timing.

The numbers only mean something next to the machine and the library versions they were
measured with, and on a shared machine next to its load, so those are recorded with them.
Embedders are built here so every section measures the same configuration the product
would use for a given backend.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.paths import ROOT, SEED, SQUAD
from rag.config import EMBEDDING_BACKENDS

BENCH = ROOT / "bench"  # where a full run's results.json and results.png are published
BUILD = ROOT / "build" / "bench"
MODEL_CACHE = BUILD / "model-cache"
BACKENDS = EMBEDDING_BACKENDS
SHARED = SQUAD
QUESTION_SETS = {"seed": (SEED, ROOT / "corpus"), "squad": (SQUAD / "qa.jsonl", SQUAD / "corpus")}
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error",
           "TOKENIZERS_PARALLELISM": "false"}
for _key, _value in OFFLINE.items():
    os.environ.setdefault(_key, _value)

VERSIONED = ("torch", "transformers", "sentence-transformers", "onnxruntime", "faiss-cpu", "bm25s", "numpy",
             "langchain-core", "langchain-community", "langchain-text-splitters")


def model_path() -> str:
    from rag.config import BUNDLED_MODEL, resolve_model_path

    return resolve_model_path(BUNDLED_MODEL)


def model_name() -> str:
    from rag.config import BUNDLED_MODEL

    return BUNDLED_MODEL


def batch_size() -> int:
    """The product's embedding batch size, so raw encodes and baselines use the same one."""
    from rag.config import Settings

    return int(Settings.model_fields["embed_batch_size"].default)


def default_backend() -> str:
    """The backend users get when they set nothing: the one to measure queries with."""
    from rag.config import Settings

    return str(Settings.model_fields["embedding_backend"].default)


def make_embedder(backend: str, batch: int | None = None) -> Any:
    """The product's embedder for `backend`, loaded the way the CLI loads it, with the bench's model cache."""
    from rag.embed import load_embedder

    MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    return load_embedder(model_path(), name=model_name(), backend=backend, batch_size=batch or batch_size(),
                         cache_dir=MODEL_CACHE)


def child_env(backend: str | None = None) -> dict[str, str]:
    """Environment of a measured subprocess: offline, the bench's model cache, the backend."""
    env = {**os.environ, **OFFLINE, "RAG_MODEL_CACHE": str(MODEL_CACHE), "PYTHONPATH": str(ROOT)}
    if backend:
        env["RAG_EMBEDDING_BACKEND"] = backend
    return env


def run_worker(args: Sequence[str], *, backend: str | None = None, timeout: float = 1800) -> dict[str, Any]:
    """Run `python -m bench.perf.worker ARGS` in a fresh interpreter; its last stdout line is a JSON object."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bench.perf.worker", *args], capture_output=True, text=True,
                          env=child_env(backend), cwd=ROOT, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"bench.perf.worker {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - started
    return result


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: [1, 2, 3, 4] at 0.5 -> 2, at 0.95 -> 4."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return float(ordered[max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))])


def memory_kib() -> dict[str, int]:
    """Current (VmRSS) and peak (VmHWM) resident memory of this process, in KiB."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            out[key] = int(value.split()[0])
    return out


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def machine() -> dict[str, Any]:
    """CPU, cores, RAM, load and library versions, recorded beside every result."""
    import psutil

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    versions = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None  # type: ignore[assignment]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                            check=False).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "rag"], capture_output=True, text=True, cwd=ROOT,
                                check=False).stdout.strip())
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 1e9, 1),
        "platform": platform.platform(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
        "git": {"commit": commit, "rag_modified": dirty},
    }
