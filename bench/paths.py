"""Where the benchmarks read and write, defined once for every script in bench/."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
CORPUS = ROOT / "corpus"
SEED = ROOT / "tests" / "eval" / "seed_qa.jsonl"
UNANSWERABLE = ROOT / "tests" / "eval" / "financebench_unanswerable.jsonl"
# Open analysts' questions (risks, lawsuits, customers, guidance ...) on financebench-public's filings: written for
# its development half's filings, and for its held-out half's.
ANALYST = ROOT / "tests" / "eval" / "financebench_analyst.jsonl"
ANALYST_HELDOUT = ROOT / "tests" / "eval" / "financebench_analyst_heldout.jsonl"
SHARED = ROOT.parent / "shared" / "benchmarks"  # beside the clone, as CI has it
FINANCE = SHARED / "financebench-public"
SQUAD = SHARED / "squad2-public"
TATQA = SHARED / "tatqa-public"
