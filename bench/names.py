"""financebench-public with its filings' real names and with opaque ones: is routing read from the documents?

    python -m bench.names [--work build/bench-names] [--k K] [--out build/bench-names.json]

`make bench-names` runs it. A user's files are not always named `3M_2018_10K.pdf`; the same 20 filings copied as
`doc-01.pdf` … `doc-20.pdf` must be found as well, since what a filing is (its company, form and period) is on
its cover. Each copy is ingested into a fresh index and evaluated the way `rag eval` does; the figures are
page hit at k and abstention, over all questions, per half (dev / held-out) and per kind of question, for
financebench-public's questions and for the open analysts' questions in tests/eval/ (both halves). A third run
asks each question of its own filing with its company's name replaced by "the company", as a user of one 10-K
asks: what the filing says it is must steer the search even when the question does not name it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
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
from rag.packs.finance.route import NGRAM, name_keys, question_keys
from rag.types import Profile


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


_RUN = re.compile(r"[A-Za-z0-9&.'’]+")


def unnamed(q: Question, profiles: dict[str, Profile | None]) -> Question:
    """The question asked of its own filing without naming its company, as a user of one 10-K asks it: the
    longest run of words that names the company (by the routing's own name keys) becomes "the company"."""
    profile = profiles.get(q.sources[0]) if q.sources else None
    asked = dataclasses.replace(q, scope=q.sources)
    if profile is None:
        return asked
    keys = name_keys(profile.company, profile.ticker)
    words = [(m.start(), m.end()) for m in _RUN.finditer(q.question)]
    for length in range(NGRAM, 0, -1):
        for i in range(len(words) - length + 1):
            start, end = words[i][0], words[i + length - 1][1]
            run = q.question[start:end]
            if max(question_keys(run), key=len, default="") in keys:  # the whole run's key
                company = "the company's" if re.search(r"['’]s$", run) else "the company"
                return dataclasses.replace(asked, question=q.question[:start] + company + q.question[end:])
    return asked


def renamed(q: Question, names: dict[str, str]) -> Question:
    return dataclasses.replace(q, sources=tuple(names.get(s, s) for s in q.sources),
                               scope=tuple(names.get(s, s) for s in q.scope))


def figures(rows: list[dict[str, Any]], ids: set[str] | None = None) -> dict[str, float]:
    subset = [r for r in rows if ids is None or r["id"] in ids]
    return {"questions": len(subset),
            "page_hit_at_k": round(statistics.fmean(r.get("page_hit_at_k", 0.0) for r in subset), 4),
            "abstained": round(statistics.fmean(float(r["abstained"]) for r in subset), 4)}


def measure(corpus: Path, index: Path, questions: list[Question], k: int,
            unnamed_too: bool = False) -> list[list[dict[str, Any]]]:
    """The questions' results on the corpus; with `unnamed_too`, also those of each question asked of its own
    filing without naming its company."""
    ws = build(Settings(corpus=corpus, index=index, k=k))
    ws.ingest()  # incremental: a rerun on unchanged files reuses the index
    engine = ws.engine_for("extractive")
    engine.ask("What does the company do?")  # warm, outside the clock
    sets = [questions, [unnamed(q, ws.profiles()) for q in questions]] if unnamed_too else [questions]
    return [run_eval(engine, qs, corpus, ws.embedder.embed_documents).results for qs in sets]


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
    real, unnamed_ = measure(FINANCE / "corpus", args.work / "real-index", questions, args.k, unnamed_too=True)
    runs = {"real names": real,
            "opaque names": measure(args.work / "opaque-corpus", args.work / "opaque-index",
                                    [renamed(q, names) for q in questions], args.k)[0],
            "company unnamed, asked of its filing": unnamed_}
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
