"""Calibrate the extractive answerer's abstention on a question set kept for the purpose.

    python bench/calibrate.py [--qa tests/eval/calibration_qa.jsonl] [--corpus corpus]

Answers every question with abstention disabled, records the evidence signals, then
searches the threshold t of `coverage >= t` for the best balanced accuracy of the abstain
decision (ties: the middle of the widest run). Hard rules (a missing number or name, a
figure or date the answer lacks) are applied as the answerer applies them. It also searches
every mix `w * coverage + (1 - w) * similarity` and reports the best any of them reaches, which
is how the similarity term was found to add nothing and removed. Prints MIN_COVERAGE for
rag/answer/extractive.py.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rag.answer.extractive import ExtractiveAnswerer
from rag.app.engine import Engine
from rag.config import BUNDLED_MODEL, DEFAULT_BACKEND, EMBEDDING_BACKENDS, resolve_model_path
from rag.embed import load_embedder
from rag.embed.base import Embedder
from rag.eval.questions import load_questions
from rag.ingest import ingest
from rag.retrieve.hybrid import HybridRetriever
from rag.store.folder.index import FolderIndex
from rag.store.folder.store import FolderStore


def collect(qa: Path, corpus: Path, embedder: Embedder) -> list[tuple[bool, dict[str, float]]]:
    with tempfile.TemporaryDirectory() as tmp:
        ingest(corpus, FolderStore(Path(tmp)), embedder)
        store = FolderIndex.load(Path(tmp))
    answerer = ExtractiveAnswerer(embedder, min_coverage=-1.0)
    engine = Engine(HybridRetriever(store=store, embedder=embedder, k=5), answerer)
    out = []
    for q in load_questions(qa):
        answer = engine.ask(q.question)
        out.append((q.answerable, answer.signals))
    return out


def balanced_accuracy(rows: list[tuple[bool, dict[str, float]]], w: float, t: float) -> float:
    right_abstain = right_answer = n_un = n_ans = 0
    for answerable, s in rows:
        hard = s.get("missing_required", 0) or s.get("wrong_type", 0)
        abstain = bool(hard) or w * s["coverage"] + (1 - w) * s["similarity"] < t
        if answerable:
            n_ans += 1
            right_answer += not abstain
        else:
            n_un += 1
            right_abstain += abstain
    return 0.5 * (right_abstain / max(1, n_un) + right_answer / max(1, n_ans))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qa", type=Path, default=Path("tests/eval/calibration_qa.jsonl"))
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--backend", choices=EMBEDDING_BACKENDS, default=DEFAULT_BACKEND)
    args = parser.parse_args()
    embedder = load_embedder(resolve_model_path(BUNDLED_MODEL), name=BUNDLED_MODEL, backend=args.backend)
    rows = collect(args.qa, args.corpus, embedder)
    mixed = max(balanced_accuracy(rows, w / 10, t / 100) for w in range(11) for t in range(101))
    scored = [(balanced_accuracy(rows, 1.0, t / 100), t / 100) for t in range(101)]
    best = max(s for s, _ in scored)
    ts = _widest_run([t for s, t in scored if s == best])
    t = ts[len(ts) // 2]
    for answerable, s in rows:
        print(f"{'A' if answerable else 'U'} {s}")
    print(f"balanced accuracy {best:.3f} at MIN_COVERAGE = {t} (thresholds {ts[0]}..{ts[-1]} tie); "
          f"best with similarity mixed in at any weight: {mixed:.3f}")


def _widest_run(ts: list[float]) -> list[float]:
    """The longest run of consecutive thresholds (0.01 apart): [0.1, 0.2, 0.21, 0.22] -> [0.2, 0.21, 0.22]."""
    runs: list[list[float]] = []
    for t in ts:
        if runs and round(t - runs[-1][-1], 4) == 0.01:
            runs[-1].append(t)
        else:
            runs.append([t])
    return max(runs, key=len)


if __name__ == "__main__":
    main()
