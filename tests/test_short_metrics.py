"""Short answers scored as TAT-QA scores them, on hand-worked rows; scope patterns resolved or refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.app.scope import ScopeError, resolve_scope
from rag.eval.runner import short_summary
from rag.eval.short import read_value, short_scores


@pytest.mark.parametrize(("predicted", "gold", "scale", "expected"), [
    (["$1,496.5 million"], ["$1,496.5"], "million", (1.0, 1.0)),
    (["1,496.5"], ["$1,496.5"], "million", (0.0, 0.0)),  # the right digits at no scale mislead a reader
    (["-22.2222%"], ["-22.22"], "percent", (1.0, 1.0)),  # at the gold's precision
    (["-22.3%"], ["-22.22"], "percent", (0.0, 0.0)),
    (["(12.6) million"], ["-12.6"], "million", (1.0, 1.0)),  # parentheses are a negative
    (["2019"], ["2019"], "", (1.0, 1.0)),
    (["cost-plus type", "Fixed-price type"], ["fixed-price type", "cost-plus type"], "", (1.0, 1.0)),
    (["fixed-price type"], ["fixed-price type", "cost-plus type"], "", (0.0, 0.6667)),
    (["$2,936 thousand", "$3,869 thousand"], ["$2,936", "$3,869"], "thousand", (1.0, 1.0)),
    (["The big cat"], ["a big cat sat"], "", (0.0, 0.8)),
    (["1,226,114"], ["1.22611e+06"], "", (1.0, 1.0)),  # a gold printed to six significant digits
    (["1,226,160"], ["1.22611e+06"], "", (0.0, 0.0)),
    ([], ["2019"], "", (0.0, 0.0)),
])
def test_short_scores_on_hand_worked_rows(predicted: list[str], gold: list[str], scale: str,
                                          expected: tuple[float, float]) -> None:
    exact, f1 = short_scores(predicted, gold, scale)
    assert (exact, round(f1, 4)) == expected


@pytest.mark.parametrize(("text", "value"), [
    ("$1,496.5 million", (1496.5, "million", 1)),
    ("-22.22%", (-22.22, "percent", 2)),
    ("(12.6)", (-12.6, "", 1)),
    ("fixed-price type", None),
    ("1.22611e+06", (1226110.0, "", -1)),
])
def test_read_value(text: str, value: tuple[float, str, int] | None) -> None:
    assert read_value(text) == value


def test_short_summary_by_kind_and_wrong_rate_per_question() -> None:
    rows = [
        {"short_exact": 1.0, "short_f1": 1.0, "short_given": 1.0, "wrong_short": 0.0, "type": "span"},
        {"short_exact": 0.0, "short_f1": 0.5, "short_given": 1.0, "wrong_short": 1.0, "type": "arithmetic"},
        {"short_exact": 0.0, "short_f1": 0.0, "short_given": 0.0, "wrong_short": 0.0, "type": "arithmetic"},
        {"answerable": True},  # no gold: not scored
    ]
    summary = short_summary(rows)
    assert summary["short_exact"] == pytest.approx(1 / 3, abs=1e-4)
    assert summary["wrong_short_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert summary["short_precision"] == 0.5
    assert summary["short_exact[arithmetic]"] == 0.0 and summary["short_questions[arithmetic]"] == 2
    assert summary["short_exact[span]"] == 1.0


SOURCES = ["reports/3M_2018.pdf", "reports/AMD_2022.pdf", "notes/a.md"]


@pytest.mark.parametrize(("patterns", "chosen"), [
    ([], None),
    (["notes/a.md"], {"notes/a.md"}),
    (["reports/*.pdf"], {"reports/3M_2018.pdf", "reports/AMD_2022.pdf"}),
    (["corpus/notes/a.md"], {"notes/a.md"}),
    (["./notes/a.md", "reports/3M*"], {"notes/a.md", "reports/3M_2018.pdf"}),
])
def test_scope_patterns(patterns: list[str], chosen: set[str] | None) -> None:
    result = resolve_scope(patterns, SOURCES, "corpus")
    assert result == (frozenset(chosen) if chosen is not None else None)


def test_an_unknown_document_is_an_error_naming_it() -> None:
    with pytest.raises(ScopeError, match=r"'3M_2018.pdf' is not in the index \(did you mean reports/3M_2018.pdf\?\)"):
        resolve_scope(["3M_2018.pdf"], SOURCES, "corpus")


def test_question_rows_carry_scope_gold_spans_and_kinds(tmp_path: Path) -> None:
    from rag.eval.questions import QuestionSetError, load_questions

    path = tmp_path / "qa.jsonl"
    path.write_text(json.dumps({"id": "q1", "question": "What were the items?", "answer": "a; b",
                                "answers": ["a", "b", ""], "scale": "million", "type": "multi-span",
                                "answer_from": "table", "scope": ["r.html"]}) + "\n", "utf-8")
    (q,) = load_questions(path)
    assert q.scope == ("r.html",) and q.answers == ("a", "b") and q.scale == "million"
    assert (q.type, q.answer_from) == ("multi-span", "table")
    path.write_text(json.dumps({"id": "q1", "question": "Q?", "answer": "a", "scope": "r.html"}) + "\n", "utf-8")
    with pytest.raises(QuestionSetError, match=r"qa.jsonl:1: field 'scope' must be a list"):
        load_questions(path)
