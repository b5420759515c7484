"""Each tuning constant of retrieval and the extractive answer, moved one at a time, on three sets.

    python -m bench.sweep_answer [--sets seed squad finance] [--half heldout] [--out build/sweep.json]

For every field of `rag.answer.scoring.Scoring` (and the retriever's candidate count and near-duplicate
thresholds) the value is set to 0 (the term off; 1 for a multiplier), half and double its default, everything
else held at its default, and the seed set and the held-out halves of squad2-public and financebench-public
(`--half dev` or `all` for the others) are answered again, through the product's own pipeline
(`rag.app.build`: the finance pack's routing and steering included). Retrieval is run once per set and retriever
setting, so answer settings are compared on the same passages. Prints, per setting, fact recall, abstention F1
and false abstentions on each set beside the defaults: the figures the constants' docstrings cite. Citations
are not re-verified against the documents here (`rag eval` does that).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.paths import BUILD, CORPUS, FINANCE, SEED, SQUAD
from rag.answer.scoring import Scoring
from rag.app.build import build
from rag.app.engine import Engine
from rag.app.workspace import Workspace
from rag.config import Settings
from rag.eval.questions import load_questions
from rag.eval.runner import evaluate_one, summarize

SETS = {"seed": (None, CORPUS), "squad": (SQUAD, SQUAD / "corpus"), "finance": (FINANCE, FINANCE / "corpus")}
METRICS = ("hit_at_k", "fact_recall", "token_f1", "abstention_f1", "false_abstention_rate")
RETRIEVER = {"candidates": 40, "max_overlap": 0.5, "max_jaccard": 0.9}


OFF = {"required": 1.0}  # a multiplier: off is 1, not 0


def variants(default: Any, name: str = "") -> list[Any]:
    if name in OFF:
        return sorted({OFF[name], default * 2} - {default})
    if isinstance(default, bool):
        return [not default]
    if isinstance(default, int):
        return sorted({max(1, default // 2), default * 2} - {default})
    return sorted({0.0, round(default / 2, 4), round(min(default * 2, 1.0) if default <= 1 else default * 2, 4)}
                  - {default})


def score(ws: Workspace, questions: list[Any], hits: list[Any], scoring: Scoring) -> dict[str, float]:
    answerer = ws.extractive_with(scoring)
    rows = [evaluate_one(q, answerer.answer(q.question, h), 0.0, {}, 0.0) for q, h in zip(questions, hits, strict=True)]
    summary = summarize(rows)
    return {m: summary[m] for m in METRICS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--half", choices=("heldout", "dev", "all"), default="heldout",
                        help="which half of squad2-public and financebench-public (the seed set is whole)")
    parser.add_argument("--index-root", type=Path, default=BUILD / "sweep")
    parser.add_argument("--out", type=Path, default=BUILD / "sweep.json")
    args = parser.parse_args()
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name in args.sets:
        shared, corpus = SETS[name]
        qa = SEED if shared is None else shared / ("qa.jsonl" if args.half == "all" else f"qa.{args.half}.jsonl")
        ws = build(Settings(corpus=corpus, index=args.index_root / name))
        ws.ingest()
        questions = load_questions(qa)

        def retrieve(setting: dict[str, Any], questions: list[Any] = questions, ws: Workspace = ws) -> list[Any]:
            # The product's retrieve step (nearest and cut tables, operand searches), over the retriever varied.
            engine = Engine(ws.retriever.model_copy(update=setting), ws.extractive_with(Scoring()))
            return [engine.passages(q.question) for q in questions]

        base_hits = retrieve(RETRIEVER)
        runs = {"default": score(ws, questions, base_hits, Scoring())}
        for field in dataclasses.fields(Scoring):
            for value in variants(field.default, field.name):
                runs[f"{field.name}={value}"] = score(ws, questions, base_hits,
                                                     dataclasses.replace(Scoring(), **{field.name: value}))
        for key, default in RETRIEVER.items():
            for value in variants(default):
                runs[f"retriever.{key}={value}"] = score(ws, questions, retrieve({**RETRIEVER, key: value}),
                                                         Scoring())
        results[name] = runs
        print(f"{name}: {len(runs)} settings", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    settings = list(next(iter(results.values())))
    header = "setting".ljust(34) + "".join(f"{s}: fact abstF1 falseAb".rjust(30) for s in results)
    print(header)
    for setting in settings:
        cells = "".join(f"{r[setting]['fact_recall']:>14.3f}{r[setting]['abstention_f1']:>8.3f}"
                        f"{r[setting]['false_abstention_rate']:>8.3f}" for r in results.values())
        print(setting.ljust(34) + cells)


if __name__ == "__main__":
    main()
