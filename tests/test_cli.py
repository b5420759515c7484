"""The `rag` command through click's CliRunner, with the real model and throwaway folders."""

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

pytestmark = pytest.mark.model

FACTUAL = "What is the value of the Meta agreement?"


@pytest.fixture(autouse=True)
def one_model(monkeypatch: pytest.MonkeyPatch, real_embedder: Embedder) -> None:
    """The CLI builds its embedder from settings; hand it the session's copy instead of loading another."""
    use_session_model(monkeypatch, real_embedder)


def invoke(*args: str | Path, input: str | None = None) -> Result:
    return CliRunner().invoke(rag.cli.main, [str(a) for a in args], input=input)


def ask_json(shipped_corpus: Path, shipped_index: Path, question: str, *extra: str) -> dict[str, Any]:
    result = invoke("ask", question, "--json", "--corpus", shipped_corpus, "--index", shipped_index, *extra)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


def assert_clean_failure(result: Result) -> None:
    """A user error: non-zero exit, a message, and no Python traceback."""
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output


# ---------------------------------------------------------------- ingest


def test_ingest_lists_each_filings_profile(tmp_path: Path) -> None:
    corpus = tmp_path / "filings"
    corpus.mkdir()
    shutil.copy(Path(__file__).parent / "data" / "3M_2018_10K_excerpt.pdf", corpus)
    result = invoke("ingest", "--corpus", corpus, "--index", tmp_path / "index")
    assert result.exit_code == 0, result.output
    assert "3M_2018_10K_excerpt.pdf: 3M Company · 10-K · FY2018" in result.stdout  # as its cover names it
    rebuilt = invoke("ingest", "--json", "--rebuild", "--corpus", corpus, "--index", tmp_path / "index")
    summary = json.loads(rebuilt.stdout)
    assert summary["profiles"] == [{"path": "3M_2018_10K_excerpt.pdf", "profile": "3M Company · 10-K · FY2018"}]


def test_ingest_json_reports_counts_then_nothing_to_do(corpus_copy: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    keys = {"added", "updated", "removed", "unchanged", "failed", "warnings", "profiles", "chunks_embedded",
            "chunks_total", "seconds"}

    first = invoke("ingest", "--json", "--corpus", corpus_copy, "--index", index)
    assert first.exit_code == 0, first.output
    assert len(first.stdout.strip().splitlines()) == 1
    report = json.loads(first.stdout)
    assert set(report) == keys
    assert (report["added"], report["unchanged"], report["failed"]) == (2, 0, [])
    assert report["chunks_embedded"] == report["chunks_total"] > 0

    second = json.loads(invoke("ingest", "--json", "--corpus", corpus_copy, "--index", index).stdout)
    assert set(second) == keys
    assert (second["added"], second["updated"], second["removed"], second["unchanged"]) == (0, 0, 0, 2)
    assert second["chunks_embedded"] == 0
    assert second["chunks_total"] == report["chunks_total"]


def test_ingest_human_summary(corpus_copy: Path, tmp_path: Path) -> None:
    result = invoke("ingest", "--corpus", corpus_copy, "--index", tmp_path / "index")
    assert result.exit_code == 0, result.output
    summary = r"added 2, updated 0, removed 0, unchanged 0, failed 0; embedded (\d+) of \1 chunks"
    assert re.search(summary, result.stdout), result.stdout


@pytest.mark.parametrize("command", [["ingest"], ["ask", FACTUAL], ["chat"]])
def test_missing_corpus_is_named(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "no-such-folder"
    result = invoke(*command, "--corpus", missing, "--index", tmp_path / "index", input="exit\n")
    assert_clean_failure(result)
    assert str(missing) in result.stderr


# ---------------------------------------------------------------- ask


def test_ask_doc_restricts_the_answer_to_the_chosen_document(shipped_corpus: Path, shipped_index: Path) -> None:
    sources = sorted(p.relative_to(shipped_corpus).as_posix() for p in shipped_corpus.rglob("*") if p.is_file())
    chosen = next(s for s in sources if s.endswith(".md"))
    out = ask_json(shipped_corpus, shipped_index, FACTUAL, "--doc", chosen)
    assert out["retrieved"] and {r["source"] for r in out["retrieved"]} == {chosen}
    assert {c["source"] for c in out["citations"]} <= {chosen}


def test_ask_unknown_doc_is_an_error_naming_it(shipped_corpus: Path, shipped_index: Path) -> None:
    result = invoke("ask", FACTUAL, "--corpus", shipped_corpus, "--index", shipped_index, "--doc", "no-such-file.pdf")
    assert result.exit_code == 2
    assert "'no-such-file.pdf' is not in the index" in result.output


def test_ask_json_shape(shipped_corpus: Path, shipped_index: Path) -> None:
    out = ask_json(shipped_corpus, shipped_index, FACTUAL)

    assert set(out) - {"short"} == {"question", "answer", "abstained", "mode", "citations", "retrieved",
                                    "timings_ms", "short_answer", "short_answer_derivation"}
    assert out["question"] == FACTUAL
    assert out["abstained"] is False and out["mode"] == "extractive"
    assert "$14.2 billion" in out["answer"]
    assert out["citations"]
    for c in out["citations"]:
        assert set(c) - {"header"} == {"id", "source", "page", "start", "end", "quote"}
        assert f"[{c['id']}]" in out["answer"]
        assert not Path(c["source"]).is_absolute() and (shipped_corpus / c["source"]).is_file()
        assert (shipped_corpus / c["source"]).read_text("utf-8")[c["start"] : c["end"]] == c["quote"]
    assert out["retrieved"]
    for r in out["retrieved"]:
        assert set(r) == {"source", "chunk_id", "page", "section", "score"}
        assert (shipped_corpus / r["source"]).is_file()
    assert set(out["timings_ms"]) == {"retrieve", "answer", "total"}


def test_ask_plain_output_lists_sources(shipped_corpus: Path, shipped_index: Path) -> None:
    result = invoke("ask", FACTUAL, "--corpus", shipped_corpus, "--index", shipped_index)
    assert result.exit_code == 0, result.output
    assert "$14.2 billion" in result.stdout
    assert "Sources:" in result.stdout and "[1] coreweave-vs-microsoft-ai-infrastructure.txt" in result.stdout


@pytest.mark.parametrize(("env", "flag", "expected"), [(None, "3", 3), ("2", None, 2), ("2", "4", 4), (None, None, 5)])
def test_k_from_flag_env_and_default(
    shipped_corpus: Path, shipped_index: Path, monkeypatch: pytest.MonkeyPatch,
    env: str | None, flag: str | None, expected: int,
) -> None:
    if env is not None:
        monkeypatch.setenv("RAG_K", env)
    out = ask_json(shipped_corpus, shipped_index, FACTUAL, *(["-k", flag] if flag else []))
    assert len(out["retrieved"]) == expected


@pytest.mark.parametrize(("args", "env"), [(["-k", "0"], None), (["-k", "51"], None), ([], "0")])
def test_invalid_k_is_a_clear_error(
    shipped_corpus: Path, shipped_index: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], env: str | None
) -> None:
    if env is not None:
        monkeypatch.setenv("RAG_K", env)
    result = invoke("ask", FACTUAL, "--corpus", shipped_corpus, "--index", shipped_index, *args)
    assert_clean_failure(result)
    assert re.search(r"\bk\b", result.stderr), result.stderr
    assert "invalid setting" in result.stderr


def test_ask_on_empty_index_folder_ingests_first(corpus_copy: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    index.mkdir()
    result = invoke("ask", FACTUAL, "--json", "--corpus", corpus_copy, "--index", index)
    assert result.exit_code == 0, result.output
    assert "No index" in result.stderr and str(corpus_copy) in result.stderr
    assert (index / "CURRENT").is_file()
    assert "$14.2 billion" in json.loads(result.stdout)["answer"]


def test_ask_off_corpus_question_abstains(shipped_corpus: Path, shipped_index: Path) -> None:
    out = ask_json(shipped_corpus, shipped_index, "What is the boiling point of water on Mars?")
    assert out["abstained"] is True
    assert out["answer"] == "I couldn't find this in the documents."
    assert out["citations"] == [] and out["retrieved"]


def test_ask_empty_question_is_a_usage_error(shipped_corpus: Path, shipped_index: Path) -> None:
    result = invoke("ask", "   ", "--corpus", shipped_corpus, "--index", shipped_index)
    assert_clean_failure(result)
    assert "empty" in result.stderr


def test_ask_on_damaged_index_says_what_to_run(corpus_copy: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    assert invoke("ingest", "--corpus", corpus_copy, "--index", index).exit_code == 0
    gen = index / (index / "CURRENT").read_text().strip()
    (gen / "vectors.faiss").write_bytes(b"")
    result = invoke("ask", FACTUAL, "--corpus", corpus_copy, "--index", index)
    assert_clean_failure(result)
    assert "rag ingest" in result.stderr


# ---------------------------------------------------------------- chat


def test_chat_answers_until_exit(shipped_corpus: Path, shipped_index: Path) -> None:
    result = invoke("chat", "--corpus", shipped_corpus, "--index", shipped_index,
                    input="Why is CoreWeave unprofitable?\nexit\n")
    assert result.exit_code == 0, result.output
    assert "[1]" in result.stdout
    assert "Sources:" in result.stdout


def test_chat_ends_on_end_of_input(shipped_corpus: Path, shipped_index: Path) -> None:
    result = invoke("chat", "--corpus", shipped_corpus, "--index", shipped_index, input="")
    assert result.exit_code == 0, result.output

