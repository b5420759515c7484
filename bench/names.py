"""financebench-public with its filings' real names and with opaque ones: is routing read from the documents?

    python -m bench.names [--work build/bench-names] [--k K] [--out build/bench-names.json]

`make bench-names` runs it. A user's files are not always named `3M_2018_10K.pdf`; the same 20 filings copied as
`doc-01.pdf` … `doc-20.pdf` must be found as well, since what a filing is (its company, form and period) is on
its cover. Each copy is ingested into a fresh index and evaluated the way `rag eval` does; the figures are
page hit at k and abstention, over all questions, per half (dev / held-out) and per kind of question, for
financebench-public's questions and for the open analysts' questions in tests/eval/ (both halves).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bench.paths import ANALYST, ANALYST_HELDOUT, BUILD, FINANCE
from rag.app.build import build
from rag.config import K, Settings
from rag.eval.questions import Question, load_questions
from rag.eval.runner import run_eval


def opaque_copy(corpus: Path, target: Path) -> dict[str, str]:
    """Copy every filing as doc-NN.pdf (in name order); real name -> opaque name."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    names = {}
    for i, path in enumerate(sorted(corpus.glob("*.pdf")), 1):
        names[path.name] = f"doc-{i:02d}{path.suffix}"
        shutil.copyfile(path, target / names[path.name])
    return names


def renamed(q: Question, names: dict[str, str]) -> Question:
    return dataclasses.replace(q, sources=tuple(names.get(s, s) for s in q.sources),
                               scope=tuple(names.get(s, s) for s in q.scope))


def figures(rows: list[dict[str, Any]], ids: set[str] | None = None) -> dict[str, float]:
    subset = [r for r in rows if ids is None or r["id"] in ids]
    return {"questions": len(subset),
            "page_hit_at_k": round(statistics.fmean(r.get("page_hit_at_k", 0.0) for r in subset), 4),
            "abstained": round(statistics.fmean(float(r["abstained"]) for r in subset), 4)}


def measure(corpus: Path, index: Path, questions: list[Question], k: int) -> list[dict[str, Any]]:
    ws = build(Settings(corpus=corpus, index=index, k=k))
    ws.ingest()  # incremental: a rerun on unchanged files reuses the index
    engine = ws.engine_for("extractive")
    engine.ask("What does the company do?")  # warm, outside the clock
    return run_eval(engine, questions, corpus, ws.embedder.embed_documents).results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=BUILD / "bench-names")
    parser.add_argument("--k", type=int, default=K)
    parser.add_argument("--out", type=Path, default=BUILD / "bench-names.json")
    args = parser.parse_args()
    public = load_questions(FINANCE / "qa.jsonl")
    halves = {half: {json.loads(line)["id"] for line in (FINANCE / f"qa.{half}.jsonl").read_text().splitlines()
                     if line.strip()} for half in ("dev", "heldout")}
    analyst = {"analyst dev": load_questions(ANALYST), "analyst held-out": load_questions(ANALYST_HELDOUT)}
    questions = public + [q for qs in analyst.values() for q in qs]
    names = opaque_copy(FINANCE / "corpus", args.work / "opaque-corpus")
    runs = {"real names": measure(FINANCE / "corpus", args.work / "real-index", questions, args.k),
            "opaque names": measure(args.work / "opaque-corpus", args.work / "opaque-index",
                                    [renamed(q, names) for q in questions], args.k)}
    kinds = sorted({q.type for q in public if q.type})
    groups: dict[str, set[str] | None] = {"all": {q.id for q in public}, **halves,
                                          **{kind: {q.id for q in public if q.type == kind} for kind in kinds}}
    groups |= {name: {q.id for q in qs} for name, qs in analyst.items()}
    groups |= {f"analyst {kind}": {q.id for qs in analyst.values() for q in qs if q.type == kind}
               for kind in sorted({q.type for qs in analyst.values() for q in qs if q.type})}
    out = {run: {group: figures(rows, ids) for group, ids in groups.items()} for run, rows in runs.items()}
    print(f"\nfinancebench-public and the analysts' questions, k = {args.k}: page hit at k / abstained")
    print("| questions | " + " | ".join(runs) + " |")
    print("|---|" + "---|" * len(runs))
    for group in groups:
        cells = [f"{out[run][group]['page_hit_at_k']:.3f} / {out[run][group]['abstained']:.3f}" for run in runs]
        print(f"| {group} ({out['real names'][group]['questions']}) | " + " | ".join(cells) + " |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"k": args.k, "figures": out,
                                    "results": {run: [{k: r[k] for k in ("id", "page_hit_at_k", "abstained")
                                                       if k in r} for r in rows] for run, rows in runs.items()}},
                                   indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
