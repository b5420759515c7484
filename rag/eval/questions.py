"""Question sets: JSONL rows of question, reference answer, facts, sources and evidence pages, checked
before any work."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


class QuestionSetError(ValueError):
    """A question set line that cannot be used; the message names file and line."""


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answer: str | None
    facts: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    # 1-based pages of the listed sources that hold the evidence (FinanceBench's `pages`).
    pages: tuple[int, ...] = ()
    # The documents the question is asked of (retrieval searches only these); empty: all.
    scope: tuple[str, ...] = ()
    # The short answer's gold: one span or figure, or several spans (TAT-QA's `answers`), with the scale a
    # figure is stated in ("thousand", "million", "billion", "percent" or ""); empty: the `facts` are the spans.
    answers: tuple[str, ...] = ()
    scale: str = ""
    # What kind of question it is, where rows say so: TAT-QA's `type` (span, multi-span, arithmetic,
    # count) and `answer_from` (table, text, table-text); FinanceBench's question type.
    type: str = ""
    answer_from: str = ""

    @property
    def answerable(self) -> bool:
        return self.answer is not None


def load_questions(path: Path) -> list[Question]:
    """Parse a JSONL question set, failing fast (before any model work) on a bad line."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError as exc:
        raise QuestionSetError(f"{path}: cannot read question set ({exc.strerror})") from None
    out: list[Question] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionSetError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise QuestionSetError(f"{where}: expected a JSON object")
        qid, text, answer = row.get("id"), row.get("question"), row.get("answer")
        facts, sources = row.get("facts", []), row.get("sources", [])
        if not isinstance(text, str) or not text.strip():
            raise QuestionSetError(f"{where}: field 'question' must be a non-empty string")
        if answer is not None and not isinstance(answer, str):
            raise QuestionSetError(f"{where}: field 'answer' must be a string or null")
        for name, value in (("facts", facts), ("sources", sources)):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise QuestionSetError(f"{where}: field '{name}' must be a list of strings")
        pages = row.get("pages", [])
        if not isinstance(pages, list) or not all(isinstance(p, int) and not isinstance(p, bool) and p >= 1
                                                  for p in pages):
            raise QuestionSetError(f"{where}: field 'pages' must be a list of page numbers (1-based integers)")
        if pages and not sources:
            raise QuestionSetError(f"{where}: field 'pages' needs 'sources': the pages of which document?")
        scope, answers = row.get("scope", []), row.get("answers", [])
        if not isinstance(scope, list) or not all(isinstance(v, str) and v for v in scope):
            raise QuestionSetError(f"{where}: field 'scope' must be a list of non-empty strings (document sources)")
        if not isinstance(answers, list) or not all(isinstance(v, str) for v in answers):
            raise QuestionSetError(f"{where}: field 'answers' must be a list of strings")
        answers = [a for a in answers if a.strip()]  # an empty gold span (a row with no label) cannot be stated
        labels = {name: row.get(name, "") for name in ("scale", "type", "answer_from")}
        for name, value in labels.items():
            if value is None:
                labels[name] = ""
            elif not isinstance(value, str):
                raise QuestionSetError(f"{where}: field '{name}' must be a string")
        qid = str(qid) if qid is not None else f"line{number}"
        if qid in seen:
            raise QuestionSetError(f"{where}: duplicate id {qid!r}")
        seen.add(qid)
        out.append(Question(qid, text, answer, tuple(facts), tuple(sources), tuple(pages), tuple(scope),
                            tuple(answers), labels["scale"], labels["type"], labels["answer_from"]))
    if not out:
        raise QuestionSetError(f"{path}: no questions")
    return out
