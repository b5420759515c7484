"""Evaluation reports: terminal table, Markdown, self-contained HTML, comparison and gates.

The HTML has no external assets (inline SVG charts, inline CSS) so it can be attached to
a CI run or mailed, and every piece of document or answer text in it is escaped.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from html import escape
from pathlib import Path
from typing import Any

# The metrics a person reads, grouped as in the README; counts are not gated.
GROUPS: dict[str, list[str]] = {
    "retrieval": ["hit_at_k", "mrr", "page_hit_at_k", "context_fact_recall"],
    "answer": ["fact_recall", "token_f1", "semantic_similarity"],
    "citations": ["source_recall", "cited_page_hit", "citation_recall", "citation_precision", "sentences_verified"],
    "abstention": ["abstention_precision", "abstention_recall", "abstention_f1", "false_abstention_rate"],
    "short answer": ["short_exact", "short_f1", "wrong_short_rate", "short_precision"],
    "latency": ["latency_p50_ms", "latency_p95_ms"],
}
# Metrics by kind of question, as `short_exact[arithmetic]`, `wrong_short_rate[table]` or
# `page_hit_at_k[novel-generated]`.
_BY_KIND = re.compile(r"^(short_exact|short_f1|wrong_short_rate|short_precision|page_hit_at_k|cited_page_hit|"
                      r"false_abstention_rate)\[[\w-]+\]$")
_KINDED = frozenset({"page_hit_at_k", "cited_page_hit", "false_abstention_rate"})
# Lower is better for these; a gate on them means "at most".
LOWER_IS_BETTER = frozenset({"false_abstention_rate", "latency_p50_ms", "latency_p95_ms", "wrong_short_rate"})
# Known before any question is answered, so a mistyped gate fails before the model loads.
GATEABLE = frozenset(name for names in GROUPS.values() for name in names)
# Measured only on question sets whose rows list evidence `pages`, or a short answer's gold; absent otherwise.
PAGE_METRICS = frozenset({"page_hit_at_k", "cited_page_hit"})
SHORT_METRICS = frozenset(GROUPS["short answer"])


def lower_is_better(name: str) -> bool:
    """'wrong_short_rate[table]' is bounded from above as 'wrong_short_rate' is."""
    return name.split("[")[0] in LOWER_IS_BETTER


def parse_gates(specs: Iterable[str], known: Iterable[str] = GATEABLE) -> dict[str, float]:
    """'fact_recall=0.9' -> {'fact_recall': 0.9}; unknown metrics are an error naming them."""
    known = sorted(known)
    gates = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep:
            raise ValueError(f"--fail-under {spec!r}: expected METRIC=VALUE")
        if name not in known and not _BY_KIND.match(name):
            raise ValueError(f"--fail-under: unknown metric {name!r} (known: {', '.join(known)})")
        try:
            bound = float(value)
        except ValueError:
            raise ValueError(f"--fail-under {spec!r}: {value!r} is not a number") from None
        if not math.isfinite(bound):  # every comparison with nan is False: the gate would never fail
            raise ValueError(f"--fail-under {spec!r}: {value!r} is not a finite number")
        gates[name] = bound
    return gates


def failed_gates(summary: dict[str, float], gates: dict[str, float]) -> list[str]:
    """Human-readable lines for each gate the summary misses."""
    out = []
    for name, bound in gates.items():
        if name not in summary:
            what = "a short answer's gold ('answers' or 'facts')" if name.startswith(("short", "wrong")) else \
                "evidence 'pages'"
            out.append(f"{name} is not measured: no answerable question in the set lists {what}")
            continue
        value = summary[name]
        if lower_is_better(name) and value > bound:
            out.append(f"{name} = {value} is above the limit {bound}")
        elif not lower_is_better(name) and value < bound:
            out.append(f"{name} = {value} is below the gate {bound}")
    return out


def load_summary(path: Path) -> dict[str, float]:
    """The numeric summary of an earlier report.json (or of a bare summary object)."""
    try:
        old = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read earlier report ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a report.json written by `rag eval --out` ({exc})") from None
    summary = old.get("summary", old) if isinstance(old, dict) else None
    if not isinstance(summary, dict):
        raise ValueError(f"{path}: not a report.json written by `rag eval --out` (no summary object)")
    return {k: float(v) for k, v in summary.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def compare(summary: dict[str, float], old: Path | Mapping[str, float]) -> dict[str, tuple[float, float]]:
    """metric -> (old, new) for the metrics both reports have; `old` is a report.json or its summary."""
    old_summary = load_summary(old) if isinstance(old, Path) else old
    return {k: (float(old_summary[k]), float(v)) for k, v in summary.items() if k in old_summary}


def _measured(names: list[str], summary: Mapping[str, float]) -> list[str]:
    """The group's metrics this run measured: page metrics only when the set lists evidence pages, short-answer
    metrics only when it has their gold, each followed by its figures by kind of question."""
    out = []
    for n in names:
        if n in summary or (n not in PAGE_METRICS and n not in SHORT_METRICS):
            out.append(n)
            if n in SHORT_METRICS or n in _KINDED:
                out += [k for k in summary if k.startswith(f"{n}[")]
    return out


def table(summary: dict[str, float], changes: dict[str, tuple[float, float]] | None = None) -> str:
    lines = [f"{summary['questions']} questions ({summary['answerable']} answerable, "
             f"{summary['unanswerable']} unanswerable)"]
    for group, names in GROUPS.items():
        lines.append(f"\n{group}")
        for name in _measured(names, summary):
            cell = f"  {name:<34}{summary[name]:>10}"
            if changes and name in changes:
                old, new = changes[name]
                cell += f"   (was {old}, {new - old:+.4f})"
            lines.append(cell)
    return "\n".join(lines)


def markdown(summary: dict[str, float], results: list[dict[str, Any]]) -> str:
    lines = ["# Evaluation report", "", f"{summary['questions']} questions: {summary['answerable']} answerable, "
             f"{summary['unanswerable']} unanswerable.", "", "| group | metric | value |", "|---|---|---|"]
    for group, names in GROUPS.items():
        lines += [f"| {group} | {name} | {summary[name]} |" for name in _measured(names, summary)]
    lines += ["", "## Failures", ""]
    for row in failures(results):
        lines.append(f"- **{row['id']}** {row['question']} — {why_failed(row)}")
        lines.append(f"  - answer: {' '.join(row['answer'].split())[:300]}")
    return "\n".join(lines) + "\n"


def failures(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in results if why_failed(r)]


def why_failed(row: dict[str, Any]) -> str:
    if not row["abstention_correct"]:
        return "abstained on an answerable question" if row["abstained"] else "answered an unanswerable question"
    if row["answerable"] and not row.get("fact_recall"):
        return f"missing facts {row['facts']}"
    if row.get("wrong_short"):
        return f"short answer {row.get('short_answer')!r} is not the gold {row.get('answers') or row['facts']}"
    if row.get("cited_page_hit") == 0.0:
        return f"no citation on an evidence page {row['pages']}"
    return ""


def _bars(values: dict[str, float], scale: float = 1.0, width: int = 560) -> str:
    rows = len(values)
    height = 26 * rows + 10
    parts = [f'<svg width="{width}" height="{height}" role="img">']
    for i, (name, value) in enumerate(values.items()):
        y = 26 * i + 5
        w = 0 if not scale else max(1.0, (width - 260) * min(value / scale, 1.0))
        parts.append(f'<text x="0" y="{y + 15}" class="lbl">{escape(name)}</text>')
        parts.append(f'<rect x="200" y="{y}" width="{w:.1f}" height="18" class="bar"/>')
        parts.append(f'<text x="{205 + w:.1f}" y="{y + 14}" class="val">{value:g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _histogram(latencies: list[float], bins: int = 12, width: int = 560, height: int = 160) -> str:
    if not latencies:
        return ""
    lo, hi = min(latencies), max(latencies)
    step = (hi - lo) / bins or 1.0
    counts = [0] * bins
    for v in latencies:
        counts[min(bins - 1, int((v - lo) / step))] += 1
    top = max(counts)
    bar_w = (width - 40) / bins
    parts = [f'<svg width="{width}" height="{height + 30}" role="img">']
    for i, c in enumerate(counts):
        h = (height - 10) * c / top
        x = 20 + i * bar_w
        parts.append(f'<rect x="{x:.1f}" y="{height - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" class="bar">'
                     f"<title>{lo + i * step:.0f}-{lo + (i + 1) * step:.0f} ms: {c}</title></rect>")
    parts.append(f'<text x="20" y="{height + 20}" class="lbl">{lo:.0f} ms</text>')
    parts.append(f'<text x="{width - 80}" y="{height + 20}" class="lbl">{hi:.0f} ms</text></svg>')
    return "".join(parts)


def html(summary: dict[str, float], results: list[dict[str, Any]]) -> str:
    sections = []
    for group, names in GROUPS.items():
        if group == "latency":
            continue
        shown = {n: summary[n] for n in _measured(names, summary) if n in summary}
        if shown:
            sections.append(f"<h2>{group}</h2>" + _bars(shown))
    sections.append(f"<h2>latency (p50 {summary['latency_p50_ms']} ms, p95 {summary['latency_p95_ms']} ms)</h2>"
                    + _histogram([r["latency_ms"] for r in results]))
    items = []
    for row in failures(results):
        passages = "".join(f"<li><b>{escape(r['source'])}</b> {escape(t[:600])}</li>"
                           for r, t in zip(row["retrieved"], row["retrieved_text"], strict=False))
        items.append(
            f"<details><summary><b>{escape(row['id'])}</b> {escape(row['question'])} "
            f"<span class='why'>{escape(why_failed(row))}</span></summary>"
            f"<p><b>Answer:</b> <span class='ans'>{escape(row['answer'])}</span></p>"
            f"<p><b>Reference:</b> {escape(str(row['reference']))}</p><ol>{passages}</ol></details>"
        )
    style = ("body{font:14px system-ui,sans-serif;max-width:900px;margin:2em auto;color:#222}"
             ".bar{fill:#4a7bd0}.lbl{font-size:12px}.val{font-size:12px;fill:#333}"
             ".why{color:#b3261e}.ans{white-space:pre-wrap}details{margin:.5em 0}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>rag evaluation</title>"
            f"<style>{style}</style></head><body><h1>rag evaluation</h1>"
            f"<p>{summary['questions']} questions: {summary['answerable']} answerable, "
            f"{summary['unanswerable']} unanswerable.</p>{''.join(sections)}"
            f"<h2>failures ({len(items)})</h2>{''.join(items) or '<p>none</p>'}</body></html>")


def write_reports(out: Path, payload: dict[str, Any]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "report.json": json.dumps(payload, indent=2, ensure_ascii=False),
        "report.md": markdown(payload["summary"], payload["results"]),
        "report.html": html(payload["summary"], payload["results"]),
    }
    for name, text in files.items():
        (out / name).write_text(text, "utf-8")
    return [out / name for name in files]
