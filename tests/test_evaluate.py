"""Metric functions and question-set parsing, against values worked out by hand.

Every expected value below was computed on paper from the metric's definition (SQuAD
token F1, nearest-rank percentile, ALCE citation recall/precision), not by running the code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rag.answer.cite import answer_sentences
from rag.eval.metrics import (
    citation_scores,
    contains_all,
    normalize,
    page_hit,
    percentile,
    plain_text,
    prf,
    reciprocal_rank,
    supported,
    token_f1,
)
from rag.eval.questions import Question, QuestionSetError, load_questions
from rag.eval.runner import evaluate_one, summarize
from rag.types import Answer, Chunk, Citation, Document, Hit

# ---------------------------------------------------------------- text normalisation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The $1,500  Bn", "the 1500 bn"),
        ("2020–2021", "2020-2021"),  # en dash
        ("A — B", "a - b"),  # em dash
        ("1,234,567 units", "1234567 units"),
        ("12,34", "12,34"),  # not a thousands separator
        ("  Tabs\tand\nnew lines  ", "tabs and new lines"),
        ("", ""),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "facts", "expected"),
    [
        ("Revenue of $5.15–$5.35 billion", ["$5.15", "$5.35 billion"], True),
        ("It reached $1,500 million.", ["$1500 million"], True),
        ("Went public in MARCH 2025", ["March 2025"], True),
        ("grew 26.6%.", ["26.6%"], True),
        ("Went public in March 2025", ["March 2025", "$11.9 billion"], False),
        ("anything at all", [], True),
        # A wrong figure must not pass for the right one by containing it.
        ("a $14 billion deal", ["$4 billion"], False),
        ("grew 5.15%", ["5.1"], False),
        ("about 2.5 billion", ["5 billion"], False),
        ("a $4 billion expansion", ["$4 billion"], True),
    ],
)
def test_contains_all(text: str, facts: list[str], expected: bool) -> None:
    assert contains_all(text, facts) is expected


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("the big cat", "a big cat", 1.0),  # articles dropped
        ("", "", 1.0),  # SQuAD: both empty -> 1
        ("", "cat", 0.0),
        ("cat", "", 0.0),
        ("the", "a", 1.0),  # both empty once articles go
        ("big cat", "dog", 0.0),
        ("the cat sat", "cat sat down", 0.8),  # P = 2/2, R = 2/3, F1 = (4/3) / (5/3)
        ("cat cat", "cat", 2 / 3),  # overlap counts min(2, 1) = 1: P = 1/2, R = 1
        ("Revenue: $1,500!", "revenue 1500", 1.0),  # punctuation, '$' and separators
    ],
)
def test_token_f1(prediction: str, reference: str, expected: float) -> None:
    assert token_f1(prediction, reference) == pytest.approx(expected)


# ---------------------------------------------------------------- ranking and counts


@pytest.mark.parametrize(
    ("retrieved", "gold", "expected"),
    [
        (["b", "a"], ["a"], 0.5),
        (["a"], ["a"], 1.0),
        (["c", "d", "a", "a"], ["x", "a"], 1 / 3),
        (["b"], ["a"], 0.0),
        ([], ["a"], 0.0),
        (["a"], [], 0.0),
    ],
)
def test_reciprocal_rank(retrieved: list[str], gold: list[str], expected: float) -> None:
    assert reciprocal_rank(retrieved, gold) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("tp", "predicted", "actual", "expected"),
    [
        (2, 4, 5, (0.5, 0.4, 0.4 / 0.9)),  # F1 = 2 * 0.5 * 0.4 / 0.9
        (3, 3, 3, (1.0, 1.0, 1.0)),
        (0, 0, 0, (0.0, 0.0, 0.0)),  # nothing predicted, nothing to find
        (0, 3, 0, (0.0, 0.0, 0.0)),  # recall undefined
        (0, 0, 3, (0.0, 0.0, 0.0)),  # precision undefined
        (0, 2, 2, (0.0, 0.0, 0.0)),  # P + R = 0
    ],
)
def test_prf(tp: int, predicted: int, actual: int, expected: tuple[float, float, float]) -> None:
    assert prf(tp, predicted, actual) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1, 2, 3, 4], 0.5, 2),
        ([4, 1, 3, 2], 0.5, 2),  # order of input does not matter
        # Wikipedia's nearest-rank example: rank = ceil(q * n).
        ([15, 20, 35, 40, 50], 0.05, 15),
        ([15, 20, 35, 40, 50], 0.3, 20),
        ([15, 20, 35, 40, 50], 0.4, 20),
        ([15, 20, 35, 40, 50], 0.5, 35),
        ([15, 20, 35, 40, 50], 1.0, 50),
        ([7], 0.95, 7),
        (list(range(1, 21)), 0.95, 19),
        (list(range(1, 101)), 0.07, 7),  # 0.07 * 100 is 7.000000000000001 in floating point
        (list(range(1, 101)), 0.0, 1),
        ([], 0.5, 0.0),
    ],
)
def test_percentile_nearest_rank(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == expected


# ---------------------------------------------------------------- claims and citations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- A rose. [1]\n- B fell. [2][3]", [("A rose.", [1]), ("B fell.", [2, 3])]),
        ("* A rose. [1]\n\n• B fell. [2] [3]", [("A rose.", [1]), ("B fell.", [2, 3])]),
        ("  - indented bullet [4]", [("indented bullet", [4])]),
        ("Revenue rose [1] and costs fell [2].", [("Revenue rose and costs fell.", [1, 2])]),
        ("Plain sentence, no marker.", [("Plain sentence, no marker.", [])]),
        ("-5% change [1]", [("-5% change", [1])]),  # a minus sign is not a bullet
        ("", []),
    ],
)
def test_answer_sentences(text: str, expected: list[tuple[str, list[int]]]) -> None:
    assert answer_sentences(text) == expected


def test_plain_text_drops_bullets_and_markers() -> None:
    assert plain_text("- A rose. [1]\n- B fell. [2][3]") == "A rose. B fell."


META = "CoreWeave signed a cloud computing deal with Meta worth up to $14.2 billion that runs through December 2031."
AZURE = "Azure grew 39% in the quarter."


@pytest.mark.parametrize(
    ("claim", "passages", "expected"),
    [
        # Verbatim (extractive answers), also after case and white space normalisation.
        ("CoreWeave signed a cloud computing deal with Meta worth up to $14.2 billion", [META], True),
        ("coreweave SIGNED a cloud computing   deal with meta", [META], True),
        # Paraphrase keeping every number and most content words.
        ("Meta's deal with CoreWeave is worth $14.2 billion.", [META], True),
        ("The Meta deal runs until December 2031.", [META], True),
        # Support may come from several passages together.
        ("CoreWeave signed a deal worth $14.2 billion.", ["CoreWeave signed a deal with Meta", "worth $14.2 billion"],
         True),
        # A wrong number is never supported.
        ("Meta's deal with CoreWeave is worth $14.5 billion.", [META], False),
        ("The Meta deal runs through December 2032.", [META], False),
        # A wrong name is not supported: every capitalised name must occur in the passages.
        ("Microsoft signed a deal with Meta.", [META], False),
        ("Oracle signed with Meta.", [META], False),
        ("Azure revenue grew.", [META], False),
        ("It is what it is.", [META], False),  # no content words at all
        ("Oracle's deal with Meta runs through December 2031.", [META], False),  # a wrong name
    ],
)
def test_supported(claim: str, passages: list[str], expected: bool) -> None:
    assert supported(claim, passages) is expected


CLAIM = "CoreWeave's deal with Meta is worth $14.2 billion."
BOTH = "CoreWeave's Meta deal is worth $14.2 billion and Azure grew 39%."
QUOTES = {1: META, 2: AZURE, 3: "Meta's deal with CoreWeave is worth up to $14.2 billion."}


@pytest.mark.parametrize(
    ("claims", "expected_recall", "expected_precision"),
    [
        # Two citations, only [1] supports: [2] is irrelevant (fails alone, [1] suffices without it).
        ([(CLAIM, [1, 2])], 1.0, 0.5),
        ([(CLAIM, [2])], 0.0, 0.0),  # unsupported claim
        ([(CLAIM, [1, 3])], 1.0, 1.0),  # redundant pair: each alone supports, both count
        ([(BOTH, [1, 2])], 1.0, 1.0),  # neither alone, both needed
        ([(CLAIM, [1]), (BOTH, [2])], 0.5, 0.5),  # 1 of 2 claims; 1 of 2 citations
        ([(CLAIM, [1, 9])], 1.0, 0.5),  # [9] has no verified quote: it cannot count
        ([(CLAIM, [])], 0.0, 0.0),  # uncited claim
        ([], 0.0, 0.0),
    ],
)
def test_citation_scores_alce(
    claims: list[tuple[str, list[int]]], expected_recall: float, expected_precision: float
) -> None:
    recall, precision = citation_scores(claims, QUOTES)
    assert (recall, precision) == pytest.approx((expected_recall, expected_precision))


# ---------------------------------------------------------------- one question, scored


DOC_TEXT = "Intro line.\nCoreWeave went public in March 2025. Meta signed later."
QUOTE = "CoreWeave went public in March 2025."
QUOTE_START = 12  # len("Intro line.\n")


def _answer(start: int) -> Answer:
    chunk = Chunk(id="a.txt#0", source="a.txt", text=DOC_TEXT, start=0, end=len(DOC_TEXT))
    citation = Citation(id=1, source="a.txt", page=None, start=start, end=start + len(QUOTE), quote=QUOTE)
    return Answer(question="When did CoreWeave go public?", text=f"- {QUOTE} [1]", abstained=False,
                  mode="extractive", citations=(citation,), hits=(Hit(chunk=chunk, score=0.9),))


def test_evaluate_one_scores_a_verbatim_cited_answer() -> None:
    q = Question("q1", "When did CoreWeave go public?", QUOTE, ("March 2025",), ("a.txt",))
    doc = Document(source="a.txt", text=DOC_TEXT, sha256="x")
    assert doc.text[QUOTE_START : QUOTE_START + len(QUOTE)] == QUOTE  # the fixture itself is right
    row = evaluate_one(q, _answer(QUOTE_START), 12.345, {"a.txt": doc}, similarity=0.8)
    assert row["quotes_verbatim"] is True
    assert (row["hit_at_k"], row["mrr"], row["fact_recall"], row["source_recall"]) == (1.0, 1.0, 1.0, 1.0)
    assert row["token_f1"] == 1.0  # the bullet and the [1] marker are not answer words
    assert (row["citation_recall"], row["citation_precision"]) == (1.0, 1.0)
    assert row["latency_ms"] == 12.35


@pytest.mark.parametrize(
    ("spans", "sources", "pages", "expected"),
    [
        ([("a.pdf", 4, 4)], ["a.pdf"], [4], True),
        ([("a.pdf", 3, 4)], ["a.pdf"], [4], True),  # runs onto the evidence page
        ([("a.pdf", 4, 6)], ["a.pdf"], [5], True),  # spans it
        ([("a.pdf", 3, 3), ("a.pdf", 5, 5)], ["a.pdf"], [4], False),  # around it, never on it
        ([("b.pdf", 4, 4)], ["a.pdf"], [4], False),  # the right page of another document
        ([("a.pdf", None, None)], ["a.pdf"], [1], False),  # no page known
        ([("a.pdf", 7, None)], ["a.pdf"], [7], True),  # last page unknown: the first counts
        ([], ["a.pdf"], [1], False),
    ],
)
def test_page_hit(spans: list[tuple[str, int | None, int | None]], sources: list[str], pages: list[int],
                  expected: bool) -> None:
    assert page_hit(spans, sources, pages) is expected


def test_evaluate_one_reads_pages_of_passages_and_quotes() -> None:
    """A three-page document; the evidence is on page 2. The first passage starts on page 1 and runs
    onto page 2 (a page hit); the quote sits on page 3 (no cited page hit)."""
    text = "Page one text. " * 4 + "Page two holds the figure 42. " + "Page three says 7. "
    starts = [0, 60, 90]
    doc = Document(source="r.pdf", text=text, sha256="x", page_starts=starts)
    assert doc.page_at(75) == 2 and doc.page_at(95) == 3  # the fixture itself is right
    quote = "Page three says 7."
    passage = Chunk(id="r.pdf#0", source="r.pdf", text=text[30:80], start=30, end=80, page=1)
    cited = Citation(id=1, source="r.pdf", page=3, start=90, end=90 + len(quote), quote=quote)
    answer = Answer("q", f"- {quote} [1]", False, "extractive", (cited,), (Hit(passage, 0.5),))
    q = Question("q1", "What figure?", "42", (), ("r.pdf",), (2,))
    row = evaluate_one(q, answer, 1.0, {"r.pdf": doc}, similarity=0.5)
    assert (row["page_hit_at_k"], row["cited_page_hit"], row["pages"]) == (1.0, 0.0, [2])
    assert row["retrieved"] == [{"source": "r.pdf", "chunk_id": "r.pdf#0", "page": 1, "section": None,
                                 "score": 0.5}]
    # Without the document, a passage counts by its start page only.
    alone = evaluate_one(q, answer, 1.0, {}, similarity=0.5)
    assert (alone["page_hit_at_k"], alone["cited_page_hit"]) == (0.0, 0.0)
    # A question without pages gets no page metrics.
    unpaged = evaluate_one(Question("q2", "What figure?", "42", (), ("r.pdf",)), answer, 1.0, {}, similarity=0.5)
    assert "page_hit_at_k" not in unpaged and "pages" not in unpaged


def test_evaluate_one_rejects_a_quote_not_at_its_offsets() -> None:
    q = Question("q1", "When did CoreWeave go public?", QUOTE, ("March 2025",), ("a.txt",))
    doc = Document(source="a.txt", text=DOC_TEXT, sha256="x")
    row = evaluate_one(q, _answer(QUOTE_START + 1), 1.0, {"a.txt": doc}, similarity=0.8)
    assert row["quotes_verbatim"] is False
    assert (row["citation_recall"], row["citation_precision"]) == (0.0, 0.0)


# ---------------------------------------------------------------- question sets


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


GOOD = json.dumps({"id": "q1", "question": "How big?", "answer": "Big.", "facts": ["$1"], "sources": ["a.txt"]})


def test_load_questions_good_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "qa.jsonl", [
        json.dumps({"id": "q1", "question": "How big?", "answer": "Big.", "facts": ["$1"], "sources": ["a.txt"],
                    "notes": "unknown fields are ignored"}),
        "",
        json.dumps({"question": "Who runs it?", "answer": None}),
    ])
    assert load_questions(path) == [
        Question("q1", "How big?", "Big.", ("$1",), ("a.txt",)),
        Question("line3", "Who runs it?", None, (), ()),
    ]
    assert [q.answerable for q in load_questions(path)] == [True, False]


def test_load_questions_reads_evidence_pages(tmp_path: Path) -> None:
    path = _write(tmp_path / "qa.jsonl", [json.dumps({"id": "f1", "question": "Capex?", "answer": "$1,577m",
                                                      "sources": ["3M_2018_10K.pdf"], "pages": [60, 61]})])
    assert load_questions(path) == [Question("f1", "Capex?", "$1,577m", (), ("3M_2018_10K.pdf",), (60, 61))]


def test_load_questions_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "broken.jsonl", [GOOD, json.dumps({"id": "q2", "question": "Q?"}), '{"id": "q3", '])
    with pytest.raises(QuestionSetError, match=r"broken\.jsonl:3: not valid JSON"):
        load_questions(path)


@pytest.mark.parametrize(
    ("row", "named"),
    [
        ({"id": "x", "question": "Q?", "facts": "$1"}, "'facts'"),
        ({"id": "x", "question": "Q?", "facts": [1]}, "'facts'"),
        ({"id": "x", "question": "Q?", "sources": ["a.txt", 2]}, "'sources'"),
        ({"id": "x", "question": ""}, "'question'"),
        ({"id": "x", "question": "   "}, "'question'"),
        ({"id": "x"}, "'question'"),
        ({"id": "x", "question": "Q?", "answer": 5}, "'answer'"),
        (["not", "an", "object"], "JSON object"),
        ({"id": "q1", "question": "Again?"}, "duplicate id 'q1'"),
        ({"id": "x", "question": "Q?", "sources": ["a.pdf"], "pages": [0]}, "'pages'"),
        ({"id": "x", "question": "Q?", "sources": ["a.pdf"], "pages": ["60"]}, "'pages'"),
        ({"id": "x", "question": "Q?", "sources": ["a.pdf"], "pages": 60}, "'pages'"),
        ({"id": "x", "question": "Q?", "sources": ["a.pdf"], "pages": [True]}, "'pages'"),
        ({"id": "x", "question": "Q?", "pages": [3]}, "'pages' needs 'sources'"),
    ],
)
def test_load_questions_bad_fields(tmp_path: Path, row: Any, named: str) -> None:
    path = _write(tmp_path / "qa.jsonl", [GOOD, json.dumps(row)])
    with pytest.raises(QuestionSetError) as info:
        load_questions(path)
    assert "qa.jsonl:2:" in str(info.value)
    assert named in str(info.value)


def test_load_questions_empty_or_missing(tmp_path: Path) -> None:
    with pytest.raises(QuestionSetError, match="no questions"):
        load_questions(_write(tmp_path / "empty.jsonl", ["", "  "]))
    with pytest.raises(QuestionSetError, match=r"missing\.jsonl: cannot read"):
        load_questions(tmp_path / "missing.jsonl")


# ---------------------------------------------------------------- summary


def _row(answerable: bool, abstained: bool, latency: float, **metrics: float) -> dict[str, Any]:
    return {"answerable": answerable, "abstained": abstained, "latency_ms": latency, **metrics}


def test_summarize_by_hand() -> None:
    rows = [
        _row(True, False, 10, hit_at_k=1, mrr=1, context_fact_recall=1, fact_recall=1, token_f1=0.8,
             semantic_similarity=0.9, source_recall=1, citation_recall=1, citation_precision=1,
             sentences_verified=1.0),
        _row(True, True, 20, hit_at_k=1, mrr=0.5, context_fact_recall=0, fact_recall=0, token_f1=0,
             semantic_similarity=0, source_recall=0),  # false abstention
        _row(True, False, 30, hit_at_k=0, mrr=0, context_fact_recall=0, fact_recall=0, token_f1=0.2,
             semantic_similarity=0.3, source_recall=1, citation_recall=0, citation_precision=0.5,
             sentences_verified=0.5),
        _row(False, True, 40),  # correct abstention
        _row(False, False, 50, citation_recall=1, citation_precision=0),  # answered the unanswerable
        _row(False, False, 60),
    ]
    s = summarize(rows)
    # Abstained on 2 (one answerable, one not): precision 1/2; 1 of 3 unanswerable caught: recall 1/3;
    # F1 = 2 * (1/2) * (1/3) / (5/6) = 0.4. One of three answerable abstained on: 1/3.
    expected = {
        "questions": 6, "answerable": 3, "unanswerable": 3,
        "hit_at_k": 0.6667, "mrr": 0.5, "context_fact_recall": 0.3333, "fact_recall": 0.3333,
        "token_f1": 0.3333, "semantic_similarity": 0.4, "source_recall": 0.6667,
        "citation_recall": 0.6667, "citation_precision": 0.5,  # over the 3 rows that have claims
        "sentences_verified": 0.75,  # over the 2 rows that report it: (1 + 0.5) / 2
        "abstention_precision": 0.5, "abstention_recall": 0.3333, "abstention_f1": 0.4,
        "false_abstention_rate": 0.3333,
        "latency_p50_ms": 30, "latency_p95_ms": 60,  # ranks ceil(3) = 3 and ceil(5.7) = 6 of 6
    }
    assert s == pytest.approx(expected)


def test_summarize_page_metrics_over_the_questions_that_list_pages() -> None:
    rows = [
        _row(True, False, 10, page_hit_at_k=1, cited_page_hit=1),
        _row(True, False, 10, page_hit_at_k=1, cited_page_hit=0),
        _row(True, True, 10, page_hit_at_k=0, cited_page_hit=0),  # abstained: no citation, still counted
        _row(True, False, 10),  # no pages listed: not counted
        _row(False, True, 10),
    ]
    s = summarize(rows)
    assert (s["page_questions"], s["page_hit_at_k"], s["cited_page_hit"]) == (3, 0.6667, 0.3333)
    assert "page_hit_at_k" not in summarize(rows[3:])  # a set without pages reports no page metrics
