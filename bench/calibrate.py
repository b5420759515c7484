"""Calibrate the extractive answerer's abstention on a question set kept for the purpose.

    python -m bench.calibrate [--qa tests/eval/calibration_qa.jsonl] [--corpus corpus]

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

from bench.paths import CORPUS, ROOT
from rag.app.build import build
from rag.config import DEFAULT_BACKEND, EMBEDDING_BACKENDS, Settings
from rag.eval.questions import load_questions


def collect(qa: Path, corpus: Path, backend: str) -> list[tuple[bool, dict[str, float]]]:
    """Every question answered by the product's pipeline; the evidence signals are recorded whether it abstained
    or not (the decision is recomputed here from them)."""
    with tempfile.TemporaryDirectory() as tmp:
        ws = build(Settings(corpus=corpus, index=Path(tmp), embedding_backend=backend))
        ws.ingest()
        engine = ws.engine_for("extractive")
        return [(q.answerable, engine.ask(q.question).signals) for q in load_questions(qa)]


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
    parser.add_argument("--qa", type=Path, default=ROOT / "tests" / "eval" / "calibration_qa.jsonl")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--backend", choices=EMBEDDING_BACKENDS, default=DEFAULT_BACKEND)
    args = parser.parse_args()
    rows = collect(args.qa, args.corpus, args.backend)
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
