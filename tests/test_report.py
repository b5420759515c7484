"""Reports: gates, comparison with an earlier run, and the three report files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from rag.eval.report import (
    GATEABLE,
    GROUPS,
    PAGE_METRICS,
    SHORT_METRICS,
    compare,
    failed_gates,
    html,
    load_summary,
    markdown,
    parse_gates,
    table,
    write_reports,
)
from rag.eval.runner import summarize

COUNTS = {"questions", "answerable", "unanswerable"}


def _row(qid: str, *, answerable: bool = True, abstained: bool = False, fact_recall: float = 1.0,
         answer: str = "It is $4 billion. [1]", question: str = "How much?", source: str = "a.txt",
         passage: str = "The deal is $4 billion.", latency: float = 10.0) -> dict[str, Any]:
    """A result row shaped like `evaluate_one` output."""
    row: dict[str, Any] = {
        "id": qid, "question": question, "reference": "$4 billion" if answerable else None,
        "facts": ["$4 billion"] if answerable else [], "sources": [source] if answerable else [],
        "answer": answer, "abstained": abstained, "citations": [],
        "retrieved": [{"source": source, "chunk_id": f"{source}#0", "score": 0.5}],
        "retrieved_text": [passage], "latency_ms": latency, "answerable": answerable,
        "abstention_correct": abstained == (not answerable),
    }
    if answerable:
        row |= {"hit_at_k": 1.0, "mrr": 1.0, "context_fact_recall": 1.0, "fact_recall": fact_recall,
                "token_f1": 0.5, "semantic_similarity": 0.7, "source_recall": 1.0}
    return row


def test_gateable_metrics_are_exactly_the_summary_metrics() -> None:
    """parse_gates checks names before any question runs, so its list must match summarize()."""
    assert set(summarize([_row("q1")])) == (GATEABLE - PAGE_METRICS - SHORT_METRICS) | COUNTS
    paged = _row("q1") | {"pages": [3], "page_hit_at_k": 1.0, "cited_page_hit": 0.0}
    assert set(summarize([paged])) == (GATEABLE - SHORT_METRICS) | COUNTS | {"page_questions"}
    short = _row("q1") | {"short_exact": 1.0, "short_f1": 1.0, "short_given": 1.0, "wrong_short": 0.0}
    assert set(summarize([short])) == (GATEABLE - PAGE_METRICS) | COUNTS | {"short_questions"}
    assert {name for names in GROUPS.values() for name in names} == GATEABLE


# ---------------------------------------------------------------- gates


def test_parse_gates() -> None:
    assert parse_gates(("fact_recall=0.9", "latency_p95_ms=2500")) == {"fact_recall": 0.9, "latency_p95_ms": 2500.0}
    assert parse_gates(()) == {}
    assert parse_gates(["x=1"], known=["x"]) == {"x": 1.0}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nonsense=0.5", "unknown metric 'nonsense'"),
        ("questions=3", "unknown metric 'questions'"),  # counts are not gated
        ("fact_recall=high", "'high' is not a number"),
        ("fact_recall=", "'' is not a number"),
        ("fact_recall=nan", "not a finite number"),  # a nan gate could never fail
        ("fact_recall", "expected METRIC=VALUE"),
    ],
)
def test_parse_gates_rejects(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_gates((spec,))


SUMMARY = {"fact_recall": 0.8, "mrr": 0.9, "false_abstention_rate": 0.1, "latency_p95_ms": 1500.0}


@pytest.mark.parametrize(
    ("gates", "failing"),
    [
        ({"fact_recall": 0.9}, ["fact_recall"]),  # below the gate
        ({"fact_recall": 0.8}, []),  # equal passes
        ({"fact_recall": 0.5, "mrr": 0.9}, []),
        ({"false_abstention_rate": 0.05}, ["false_abstention_rate"]),  # above the limit
        ({"false_abstention_rate": 0.5}, []),  # lower is better: under the limit passes
        ({"latency_p95_ms": 1000}, ["latency_p95_ms"]),
        ({"latency_p95_ms": 2000}, []),
        ({"fact_recall": 0.9, "mrr": 0.5, "latency_p95_ms": 1000}, ["fact_recall", "latency_p95_ms"]),
    ],
)
def test_failed_gates(gates: dict[str, float], failing: list[str]) -> None:
    lines = failed_gates(SUMMARY, gates)
    assert [line.split(" = ")[0] for line in lines] == failing
    for line in lines:
        assert ("above the limit" if line.startswith(("false_abstention", "latency")) else "below the gate") in line


# ---------------------------------------------------------------- comparison


def test_page_metrics_are_shown_and_gated_only_when_measured() -> None:
    plain = summarize([_row("q1")])
    paged = summarize([_row("q1") | {"pages": [3], "page_hit_at_k": 1.0, "cited_page_hit": 0.0}])
    assert "page_hit_at_k" not in table(plain) and "page_hit_at_k" not in markdown(plain, [])
    assert re.search(r"page_hit_at_k\s+1\.0\n", table(paged)) and "| citations | cited_page_hit | 0.0 |" in markdown(
        paged, [])
    assert "page_hit_at_k" in html(paged, []) and "page_hit_at_k" not in html(plain, [])
    gates = parse_gates(["page_hit_at_k=0.8", "cited_page_hit=0.5"])
    assert failed_gates(paged, gates) == ["cited_page_hit = 0.0 is below the gate 0.5"]
    assert failed_gates(plain, gates) == [
        "page_hit_at_k is not measured: no answerable question in the set lists evidence 'pages'",
        "cited_page_hit is not measured: no answerable question in the set lists evidence 'pages'"]


def test_compare_against_an_old_report(tmp_path: Path) -> None:
    old = tmp_path / "report.json"
    old.write_text(json.dumps({"summary": {"questions": 4, "fact_recall": 0.5, "mrr": 1.0, "gone": 0.3},
                               "results": []}), "utf-8")
    new = {"questions": 6, "fact_recall": 0.75, "mrr": 0.5, "token_f1": 0.4}
    assert compare(new, old) == {"questions": (4.0, 6.0), "fact_recall": (0.5, 0.75), "mrr": (1.0, 0.5)}
    bare = tmp_path / "summary.json"  # a bare summary object is accepted too
    bare.write_text(json.dumps({"fact_recall": 0.5}), "utf-8")
    assert compare(new, bare) == {"fact_recall": (0.5, 0.75)}


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"summary": 3}'])
def test_load_summary_names_a_bad_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "old-report.json"
    path.write_text(content, "utf-8")
    with pytest.raises(ValueError, match=r"old-report\.json"):
        load_summary(path)


def test_table_shows_change() -> None:
    summary = summarize([_row("q1"), _row("q2", fact_recall=0.0)])
    text = table(summary, {"fact_recall": (0.25, 0.5)})
    assert "2 questions (2 answerable, 0 unanswerable)" in text
    assert re.search(r"fact_recall\s+0\.5\s+\(was 0\.25, \+0\.2500\)", text)
    assert "was" not in table(summary)


# ---------------------------------------------------------------- report files

HOSTILE = "<script>alert(1)</script>"


def _hostile_results() -> list[dict[str, Any]]:
    return [
        _row("q1", latency=10.0),
        # A failing row (missing facts), so it is shown in full, with document text from an attacker.
        _row("q<2>", fact_recall=0.0, answer=HOSTILE, question="What <b>is</b> it?", source="evil<img src=x>.txt",
             passage="see <iframe src='http://evil.example/'></iframe>", latency=30.0),
        _row("q3", answerable=False, abstained=False, answer="Made up.", latency=20.0),  # answered the unanswerable
    ]


def test_html_is_self_contained_with_charts_and_escaped_text() -> None:
    results = _hostile_results()
    page = html(summarize(results), results)
    assert page.startswith("<!doctype html>")
    # No external assets: nothing fetched from a URL, no scripts, no stylesheets linked.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.IGNORECASE)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    # One chart per metric group the run measured (these rows have no short answer's gold).
    assert page.count("<svg") == len(GROUPS) - 1
    # Document and answer text is escaped, never raw.
    assert "<script" not in page and "<iframe" not in page and "<img" not in page and "<b>is</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "q&lt;2&gt;" in page
    assert "failures (2)" in page


def test_markdown_lists_failures() -> None:
    results = _hostile_results()
    text = markdown(summarize(results), results)
    assert "| retrieval | hit_at_k | 1.0 |" in text
    assert "missing facts ['$4 billion']" in text
    assert "answered an unanswerable question" in text
    assert "**q1**" not in text


def test_write_reports_writes_three_files(tmp_path: Path) -> None:
    results = _hostile_results()
    payload = {"summary": summarize(results), "results": results}
    written = write_reports(tmp_path / "out" / "nested", payload)
    assert [p.name for p in written] == ["report.json", "report.md", "report.html"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in written)
    assert json.loads(written[0].read_text("utf-8")) == payload
    assert load_summary(written[0]) == pytest.approx(payload["summary"])


def test_short_answer_gates_by_kind_and_from_above() -> None:
    gates = parse_gates(("short_exact[table]=0.4", "wrong_short_rate=0.2"))
    assert gates == {"short_exact[table]": 0.4, "wrong_short_rate": 0.2}
    summary = {"short_exact[table]": 0.35, "wrong_short_rate": 0.25}
    assert failed_gates(summary, gates) == ["short_exact[table] = 0.35 is below the gate 0.4",
                                            "wrong_short_rate = 0.25 is above the limit 0.2"]
    with pytest.raises(ValueError, match="unknown metric 'short_exact\\[\\]'"):
        parse_gates(("short_exact[]=0.4",))
