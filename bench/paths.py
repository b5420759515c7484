"""Where the benchmarks read and write, defined once for every script in bench/."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
CORPUS = ROOT / "corpus"
SEED = ROOT / "tests" / "eval" / "seed_qa.jsonl"
UNANSWERABLE = ROOT / "tests" / "eval" / "financebench_unanswerable.jsonl"
SHARED = ROOT.parent / "shared" / "benchmarks"  # beside the clone, as CI has it
FINANCE = SHARED / "financebench-public"
SQUAD = SHARED / "squad2-public"
TATQA = SHARED / "tatqa-public"
