"""One index holding every benchmark's documents: does each question set fare as well as in its own index?

    python -m bench.combined [--work build/bench-combined] [--k K] [--out build/bench-combined.json]

`make bench-combined` runs it. A user's folder mixes filings, articles and encyclopaedia pages; the filings must
not pull an article's question into their statements, nor an article's words a filing's. The 20 filings of
financebench-public, the shipped articles and squad2-public's pages are copied into one corpus (one folder each),
indexed once, and each question set is evaluated there and in an index of its own documents, the way `rag eval`
does: page hit (financebench), fact recall, abstention, false abstention.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bench.paths import BUILD, CORPUS, FINANCE, SEED, SQUAD
from rag.app.build import build
from rag.config import K, Settings
from rag.eval.questions import Question, load_questions
from rag.eval.runner import run_eval

# question set -> (its questions, its documents, the folder they take in the combined corpus)
SETS = {"financebench-public": (FINANCE / "qa.jsonl", FINANCE / "corpus", "filings"),
        "seed": (SEED, CORPUS, "articles"),
        "squad2-public held-out": (SQUAD / "qa.heldout.jsonl", SQUAD / "corpus", "pages")}
FIGURES = ("page_hit_at_k", "fact_recall", "abstention_f1", "false_abstention_rate", "latency_p50_ms")


def combined_corpus(target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    for _, corpus, folder in SETS.values():
        shutil.copytree(corpus, target / folder)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


def moved(q: Question, folder: str) -> Question:
    return dataclasses.replace(q, sources=tuple(f"{folder}/{s}" for s in q.sources),
                               scope=tuple(f"{folder}/{s}" for s in q.scope))


def evaluate(corpus: Path, index: Path, questions: list[Question], k: int) -> dict[str, Any]:
    ws = build(Settings(corpus=corpus, index=index, k=k))
    ws.ingest()  # incremental: a rerun on unchanged files reuses the index
    engine = ws.engine_for("extractive")
    engine.ask("What does the company do?")  # warm, outside the clock
    summary = run_eval(engine, questions, corpus, ws.embedder.embed_documents).summary
    return {name: summary[name] for name in FIGURES if name in summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=BUILD / "bench-combined")
    parser.add_argument("--k", type=int, default=K)
    parser.add_argument("--out", type=Path, default=BUILD / "bench-combined.json")
    args = parser.parse_args()
    corpus = combined_corpus(args.work / "corpus")
    out: dict[str, dict[str, Any]] = {}
    for name, (qa, own, folder) in SETS.items():
        questions = load_questions(qa)
        out[name] = {"own index": evaluate(own, args.work / f"own-{folder}", questions, args.k),
                     "combined index": evaluate(corpus, args.work / "combined-index",
                                                [moved(q, folder) for q in questions], args.k)}
    print(f"\nk = {args.k}: each set in its own index and in one index of all three")
    print("| set | index | " + " | ".join(FIGURES) + " |")
    print("|---|---|" + "---|" * len(FIGURES))
    for name, runs in out.items():
        for run, figures in runs.items():
            print(f"| {name} | {run} | " + " | ".join(str(figures.get(f, "")) for f in FIGURES) + " |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"k": args.k, "figures": out}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
