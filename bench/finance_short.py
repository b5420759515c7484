"""financebench-public: how often the short answer is the figure the analyst asked for.

    python -m bench.finance_short [--report build/finance-report/report.json]
                                  [--qa ../shared/benchmarks/financebench-public/qa.jsonl]

Reads the report `rag eval --out` wrote (make test writes build/finance-report) and, for every question whose
reference answer is one figure ("$1577.00", "24.26", "-0.5%"), says whether the short answer states it: the
same amount within 1% (an outflow printed in parentheses counts as its amount), after stating ours at the
scale the question asks for ("in USD millions", "in USD billions"; as printed otherwise). FinanceBench's
answers carry no scale of their own, so this is scored here rather than as a `rag eval` metric. Prints the
count, the share, and each question with both figures.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from bench.paths import BUILD, FINANCE
from rag.eval.short import read_value
from rag.numbers import SCALES

_ASKED_SCALE = re.compile(r"(?i)\b(?:in\s+)?(?:usd|us\$|\$|dollars)?\s*(thousands|millions|billions)\b")


def asked_scale(question: str) -> float:
    """'... (in USD millions) ...' -> 1e6; no scale named -> 1.0 (figures as printed)."""
    match = _ASKED_SCALE.search(question)
    return SCALES[match.group(1).lower()] if match else 1.0


def states(short: str | None, reference: str, question: str) -> bool:
    """Whether the short answer's value is the reference figure, within 1%, at the question's scale."""
    gold, ours = read_value(reference.replace("$", "")), read_value((short or "").replace("$", ""))
    if gold is None or ours is None:
        return False
    value, scale, _ = ours
    candidates = [value]
    if scale and scale != "percent":
        candidates.append(value * SCALES[scale] / asked_scale(question))
    # An outflow a statement prints in parentheses ("(1,577)") is the amount an analyst states as 1,577.
    return any(abs(abs(c) - abs(gold[0])) <= max(0.01 * abs(gold[0]), 0.005) for c in candidates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, default=BUILD / "finance-report" / "report.json")
    parser.add_argument("--qa", type=Path, default=FINANCE / "qa.jsonl")
    args = parser.parse_args()
    results = {r["id"]: r for r in json.loads(args.report.read_text("utf-8"))["results"]}
    rows = [json.loads(line) for line in args.qa.read_text("utf-8").splitlines() if line.strip()]
    figures = [r for r in rows if r.get("answer") and read_value(r["answer"].replace("$", "")) is not None]
    hit = given = 0
    for row in figures:
        result = results.get(row["id"], {})
        value = result.get("short_value")
        ok = states(value, row["answer"], row["question"])
        hit += ok
        given += value is not None
        print(f"{'ok ' if ok else '-- '} {row['id']:<22} reference {row['answer']:<10} short {value}")
    share = hit / len(figures) if figures else 0.0
    print(f"\n{len(figures)} questions whose reference is a figure: the short answer states it for {hit} "
          f"({share:.2f}); short answers given {given}, of which not the figure {given - hit}")


if __name__ == "__main__":
    main()
