"""`rag eval` through click's CliRunner: two real runs on a 6-question subset, and the
user errors that must be reported before the model loads."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from support import use_session_model

import rag.cli
from rag.embed.base import Embedder
from rag.eval.report import GROUPS, PAGE_METRICS

pytestmark = pytest.mark.model

SEED = Path(__file__).parent / "eval" / "seed_qa.jsonl"
SUBSET = ("s01", "s05", "s08", "s09", "s35", "s37")  # 4 answerable, 2 unanswerable
ROW_KEYS = {"id", "question", "answer", "abstained", "citations", "retrieved", "latency_ms"}


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(rag.cli.main, [str(a) for a in args])


def use_model(mp: pytest.MonkeyPatch, embedder: Embedder) -> None:
    use_session_model(mp, embedder, ("RAG_K", "RAG_CHUNK_TOKENS", "RAG_CHUNK_OVERLAP", "RAG_EMBEDDING_MODEL"))


def forbid_model(mp: pytest.MonkeyPatch) -> list[str]:
    """Make loading the model an error, and record any attempt."""
    calls: list[str] = []

    def build(model: str, *_: Any) -> Any:
        calls.append(model)
        raise AssertionError("the model was loaded before the command's input was checked")

    mp.setattr(rag.cli, "_embedder", build)
    return calls


def assert_clean_failure(result: Result, exit_code: int) -> None:
    """A user error: the expected exit code, a message, no Python traceback."""
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def workspace(shipped_corpus: Path, shipped_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A writable corpus copy, a copy of the session index (so nothing is re-embedded) and the subset."""
    root = tmp_path_factory.mktemp("eval-cli")
    shutil.copytree(shipped_corpus, root / "corpus")
    for path in (root / "corpus").iterdir():
        path.chmod(0o644)
    shutil.copytree(shipped_index, root / "index", symlinks=True)
    lines = [line for line in SEED.read_text("utf-8").splitlines() if line.strip()]
    chosen = [line for line in lines if json.loads(line)["id"] in SUBSET]
    assert len(chosen) == len(SUBSET)
    (root / "subset.jsonl").write_text("\n".join(chosen) + "\n", "utf-8")
    return root


def eval_args(root: Path, *extra: str | Path) -> list[str | Path]:
    return ["eval", "--corpus", root / "corpus", "--index", root / "index", *extra]


@pytest.fixture(scope="module")
def first_run(workspace: Path, real_embedder: Embedder) -> tuple[Result, Path]:
    out = workspace / "report"
    with pytest.MonkeyPatch.context() as mp:
        use_model(mp, real_embedder)
        result = invoke(*eval_args(workspace, "--qa", workspace / "subset.jsonl", "--json", "--out", out))
    return result, out


def test_eval_json_prints_one_object_and_writes_reports(first_run: tuple[Result, Path]) -> None:
    result, out = first_run
    assert result.exit_code == 0, result.output
    assert len(result.stdout.strip().splitlines()) == 1, result.stdout
    payload = json.loads(result.stdout)
    assert set(payload) == {"summary", "results"}
    summary, results = payload["summary"], payload["results"]
    assert (summary["questions"], summary["answerable"], summary["unanswerable"]) == (6, 4, 2)
    assert [row["id"] for row in results] == list(SUBSET)
    for row in results:
        assert set(row) >= ROW_KEYS, sorted(ROW_KEYS - set(row))
        assert isinstance(row["abstained"], bool) and row["latency_ms"] > 0
    assert all(row["retrieved"] for row in results)
    assert all(0.0 <= summary[name] <= 1.0 for name in ("hit_at_k", "mrr", "fact_recall", "abstention_f1"))

    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json", "report.md"]
    assert json.loads((out / "report.json").read_text("utf-8")) == payload
    assert "<svg" in (out / "report.html").read_text("utf-8")
    assert "# Evaluation report" in (out / "report.md").read_text("utf-8")


def test_eval_gate_failure_and_comparison(
    first_run: tuple[Result, Path], workspace: Path, real_embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A gate no run can meet exits 1 and says which; --compare shows each metric's previous value."""
    first, out = first_run
    assert first.exit_code == 0, first.output
    old = json.loads((out / "report.json").read_text("utf-8"))["summary"]
    use_model(monkeypatch, real_embedder)
    result = invoke(*eval_args(workspace, "--qa", workspace / "subset.jsonl", "--fail-under", "fact_recall=1.01",
                               "--compare", out / "report.json"))
    assert result.exit_code == 1, result.output
    assert re.search(r"gate failed: fact_recall = [\d.]+ is below the gate 1\.01", result.output), result.output
    assert "6 questions (4 answerable, 2 unanswerable)" in result.stdout
    # Same index, same model, same questions: the answers, so fact_recall, are unchanged.
    assert re.search(rf"fact_recall\s+\S+\s+\(was {re.escape(str(old['fact_recall']))}, \+0\.0000\)", result.stdout)
    # Every metric the seed set measures; it lists no evidence pages, so no page metrics.
    assert result.stdout.count("(was ") == sum(len(names) for names in GROUPS.values()) - len(PAGE_METRICS)


def test_unknown_gate_is_a_usage_error_before_the_model_loads(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = forbid_model(monkeypatch)
    result = invoke(*eval_args(workspace, "--qa", workspace / "subset.jsonl", "--fail-under", "nonsense=0.5"))
    assert_clean_failure(result, 2)
    assert "unknown metric 'nonsense'" in result.output
    assert calls == []


def test_malformed_question_file_fails_before_the_model_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = forbid_model(monkeypatch)
    qa = tmp_path / "bad-questions.jsonl"
    good = [json.dumps({"id": f"q{i}", "question": "How big is the market?", "answer": None}) for i in (1, 2)]
    qa.write_text("\n".join([*good, '{"id": "q3", "question": ']) + "\n", "utf-8")
    result = invoke(*eval_args(tmp_path, "--qa", qa))
    assert_clean_failure(result, 1)
    assert "bad-questions.jsonl:3:" in result.output
    assert calls == []
    assert not (tmp_path / "index").exists()  # nothing was ingested either


def test_unreadable_previous_report_fails_before_the_model_loads(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = forbid_model(monkeypatch)
    old = tmp_path / "old-report.json"
    old.write_text("{truncated", "utf-8")
    result = invoke(*eval_args(workspace, "--qa", workspace / "subset.jsonl", "--compare", old))
    assert_clean_failure(result, 1)
    assert "old-report.json" in result.output
    assert calls == []


def test_eval_scores_evidence_pages_of_a_pdf(tmp_path: Path, real_embedder: Embedder,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Five pages of 3M's 10-K; the capex figure sits in the cash-flow statement on page 4."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    name = "3M_2018_10K_excerpt.pdf"
    shutil.copy(Path(__file__).parent / "data" / name, corpus / name)
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"id": "p1", "answer": "$1,577 million", "sources": [name], "pages": [4],
                              "question": "How much did 3M spend on purchases of property, plant and equipment "
                                          "in 2018?"}) + "\n", "utf-8")
    use_model(monkeypatch, real_embedder)
    result = invoke("eval", "--corpus", corpus, "--index", tmp_path / "index", "--qa", qa, "--json", "--out",
                    tmp_path / "report", "--fail-under", "page_hit_at_k=1", "cited_page_hit=1")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    summary, row = payload["summary"], payload["results"][0]
    assert (summary["page_questions"], summary["page_hit_at_k"], summary["cited_page_hit"]) == (1, 1.0, 1.0)
    assert row["pages"] == [4] and any(c["page"] == 4 for c in row["citations"])
    on_page = [r for r in row["retrieved"] if r["page"] == 4]
    assert on_page and all(r["section"] for r in on_page)  # the statement's section path travels with it
    assert "page_hit_at_k" in (tmp_path / "report" / "report.md").read_text("utf-8")
