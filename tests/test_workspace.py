"""The workspace behind the UI: safe uploads, removal, feedback, and feedback as a question set."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import rag.cli
from rag.app.feedback import feedback_to_questions
from rag.app.uploads import UPLOAD_DIR, safe_name
from rag.app.workspace import Workspace, WorkspaceError
from rag.embed.base import Embedder
from rag.embed.hashing import HashingEmbedder
from rag.eval.questions import load_questions
from rag.packs import installed
from rag.types import Answer, Chunk, Citation, Hit

ZEPHYR = "The Zephyr-9 reactor produces 42 megawatts."
ZEPHYR_QUESTION = "How many megawatts does the Zephyr-9 reactor produce?"
SHELL = set(";|&$`<>*?\"'!\\/")


# ---------------------------------------------------------------- safe_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("/etc/passwd.txt", "passwd.txt"),
        ("report.txt", "report.txt"),
        ("my report (1).txt", "my report (1).txt"),
        ("résumé 2025.md", "résumé 2025.md"),
        ("報告.pdf", "報告.pdf"),
        ("a;rm -rf $(x)|`y`.txt", "a_rm -rf _(x)__y_.txt"),
        ("<b>&'\".html", "_b____.html"),
        (".bashrc", "bashrc"),
        ("..", "upload"),
        ("   ", "upload"),
        ("a\x00b\n.txt", "a_b_.txt"),
    ],
)
def test_safe_name(name: str, expected: str, tmp_path: Path) -> None:
    got = safe_name(name)
    assert got == expected
    assert not SHELL & set(got) and not got.startswith(".")
    assert (tmp_path / got).resolve().parent == tmp_path.resolve()


def test_safe_name_keeps_the_extension_of_a_long_name() -> None:
    got = safe_name("x" * 300 + ".docx")
    assert len(got) == 120 and got.endswith(".docx")


# ---------------------------------------------------------------- adding and removing files


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, "utf-8")
    return path


@pytest.fixture
def small_ws(tmp_path: Path) -> Workspace:
    """A one-document workspace on the hashing embedder, for tests where the model is irrelevant."""
    corpus = tmp_path / "corpus"
    write(corpus / "base.txt", "The base document talks about solar panels and wind turbines.")
    ws = Workspace(corpus, tmp_path / "index", HashingEmbedder())
    ws.ingest()
    return ws


def test_upload_with_a_traversal_name_lands_in_the_uploads_folder(small_ws: Workspace, tmp_path: Path) -> None:
    upload = write(tmp_path / "incoming" / "anything.txt", ZEPHYR)
    report, refused = small_ws.add_files([upload], ["../../etc/passwd.txt"])
    stored = small_ws.corpus / UPLOAD_DIR / "passwd.txt"
    assert refused == []
    assert report is not None and report.added == 1
    assert stored.read_text("utf-8") == ZEPHYR
    assert not (tmp_path / "etc").exists() and not (small_ws.corpus.parent.parent / "etc").exists()
    assert dict(small_ws.documents()) == {"base.txt": 1, "uploads/passwd.txt": 1}


def test_bad_uploads_are_refused_with_reasons_and_good_ones_accepted(small_ws: Workspace, tmp_path: Path) -> None:
    good = write(tmp_path / "in" / "good.txt", ZEPHYR)
    sheet = write(tmp_path / "in" / "sheet.xlsx", b"PK\x03\x04")
    empty = write(tmp_path / "in" / "empty.txt", "")
    binary = write(tmp_path / "in" / "binary.txt", bytes(range(256)) * 4)

    report, refused = small_ws.add_files([sheet, good, empty, binary])

    assert report is not None and (report.added, report.failed) == (1, [])
    reasons = {r.name: r.reason for r in refused}
    assert set(reasons) == {"sheet.xlsx", "empty.txt", "binary.txt"}
    assert reasons["sheet.xlsx"].startswith("unsupported file type '.xlsx'") and ".txt" in reasons["sheet.xlsx"]
    assert reasons["empty.txt"] == "empty file"
    assert "not a text file" in reasons["binary.txt"]
    uploads = small_ws.corpus / UPLOAD_DIR
    assert sorted(p.name for p in uploads.iterdir()) == ["good.txt"]  # refused files never join the corpus
    assert [s for s, _ in small_ws.documents()] == ["base.txt", "uploads/good.txt"]


def test_nothing_accepted_means_no_reindex(small_ws: Workspace, tmp_path: Path) -> None:
    before = small_ws.engine
    report, refused = small_ws.add_files([write(tmp_path / "notes.xlsx", "x")])
    assert report is None and [r.name for r in refused] == ["notes.xlsx"]
    assert small_ws.engine is before


def test_remove_deletes_from_corpus_and_index(small_ws: Workspace, tmp_path: Path) -> None:
    small_ws.add_files([write(tmp_path / "zephyr.txt", ZEPHYR)])
    store = small_ws.engine.retriever.store
    assert store.rows_for("uploads/zephyr.txt")

    report = small_ws.remove("uploads/zephyr.txt")

    assert report.removed == 1
    assert not (small_ws.corpus / UPLOAD_DIR / "zephyr.txt").exists()
    store = small_ws.engine.retriever.store
    assert store.rows_for("uploads/zephyr.txt") == []
    assert {c.source for c in store.chunks} == {"base.txt"}
    assert [h.chunk.source for h in small_ws.engine.retriever.search("Zephyr-9 reactor megawatts", 5)] == ["base.txt"]


@pytest.mark.parametrize("source", ["../outside.txt", "../../outside.txt", "/etc/hostname", "uploads", "missing.txt"])
def test_remove_refuses_anything_but_a_corpus_document(small_ws: Workspace, tmp_path: Path, source: str) -> None:
    outside = write(tmp_path / "outside.txt", "keep me")
    with pytest.raises(WorkspaceError, match="is not a document in"):
        small_ws.remove(source)
    assert outside.read_text("utf-8") == "keep me"
    assert [s for s, _ in small_ws.documents()] == ["base.txt"]


@pytest.mark.model
def test_an_upload_is_searchable_at_once(
    corpus_copy: Path, shipped_index: Path, real_embedder: Embedder, tmp_path: Path
) -> None:
    index = tmp_path / "index"
    shutil.copytree(shipped_index, index)
    ws = Workspace(corpus_copy, index, real_embedder, packs=installed())  # as the app builds it
    _, before = ws.ask(ZEPHYR_QUESTION)
    assert before.abstained and not any(c.source.startswith(UPLOAD_DIR) for c in before.citations)

    report, refused = ws.add_files([write(tmp_path / "in" / "zephyr.txt", ZEPHYR + "\n")])

    assert refused == [] and report is not None
    assert (report.added, report.unchanged, report.chunks_embedded) == (1, 2, 1)  # only the new file is embedded
    query, answer = ws.ask(ZEPHYR_QUESTION)
    assert query == ZEPHYR_QUESTION
    assert not answer.abstained
    assert ZEPHYR in answer.text
    assert [(c.source, c.quote) for c in answer.citations] == [("uploads/zephyr.txt", ZEPHYR)]


# ---------------------------------------------------------------- feedback


def make_answer(question: str, text: str, sources: tuple[str, ...], abstained: bool = False) -> Answer:
    chunks = [Chunk(f"c{i}", s, f"passage from {s}", 0, 20) for i, s in enumerate(sources)]
    citations = () if abstained else tuple(
        Citation(i, c.source, None, c.start, c.end, c.text) for i, c in enumerate(chunks, start=1)
    )
    return Answer(question, text, abstained, "extractive", citations, tuple(Hit(c, 0.5) for c in chunks))


def test_record_feedback_appends_one_line_per_rating(small_ws: Workspace) -> None:
    liked = make_answer("Why is CoreWeave unprofitable?", "It carries heavy debt. [1]", ("a.txt",))
    disliked = make_answer("What is Meta's capex?", "Not found in the documents.", ("b.txt",), abstained=True)

    small_ws.record_feedback("Why is it unprofitable?", liked, True)
    small_ws.record_feedback("What is Meta's capex?", disliked, False)

    lines = small_ws.feedback_path.read_text("utf-8").splitlines()
    assert small_ws.feedback_path == small_ws.index / "feedback.jsonl"
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["liked"] is True and second["liked"] is False
    assert first["question"] == "Why is CoreWeave unprofitable?"  # what was searched
    assert first["asked"] == "Why is it unprofitable?"  # what the person typed
    assert first["answer"] == "It carries heavy debt. [1]"
    assert first["citations"] == [
        {"id": 1, "source": "a.txt", "page": None, "start": 0, "end": 20, "quote": "passage from a.txt"}
    ]
    assert second["abstained"] is True and second["citations"] == []


def feedback_lines() -> list[str]:
    rows = [
        {"liked": True, "question": "Why is CoreWeave unprofitable?", "answer": "Debt. [1]", "abstained": False,
         "citations": [{"source": "b.txt"}, {"source": "a.txt"}, {"source": "b.txt"}]},
        {"liked": False, "question": "Bad one?", "answer": "Wrong. [1]", "abstained": False,
         "citations": [{"source": "a.txt"}]},
        {"liked": True, "question": "What is the boiling point on Mars?", "answer": "Not found.", "abstained": True,
         "citations": []},
    ]
    return [json.dumps(r) for r in rows[:2]] + [""] + [json.dumps(rows[2])]


def test_feedback_to_questions() -> None:
    questions, disliked = feedback_to_questions(feedback_lines())
    assert disliked == 1
    assert questions == [
        {"id": "fb0001", "question": "Why is CoreWeave unprofitable?", "answer": "Debt. [1]", "facts": [],
         "sources": ["a.txt", "b.txt"]},
        {"id": "fb0004", "question": "What is the boiling point on Mars?", "answer": None, "facts": [],
         "sources": []},
    ]


def test_feedback_export_writes_a_question_set(tmp_path: Path) -> None:
    index = tmp_path / "index"
    write(index / "feedback.jsonl", "\n".join(feedback_lines()) + "\n")
    out = tmp_path / "from-feedback.jsonl"

    result = CliRunner().invoke(rag.cli.main, ["feedback", "export", "--index", str(index), "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert "wrote 2 questions" in result.output and "1 disliked" in result.output
    loaded = load_questions(out)
    assert [(q.id, q.question, q.answerable, q.sources) for q in loaded] == [
        ("fb0001", "Why is CoreWeave unprofitable?", True, ("a.txt", "b.txt")),
        ("fb0004", "What is the boiling point on Mars?", False, ()),
    ]


def test_feedback_export_without_feedback_says_what_to_do(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(rag.cli.main, ["feedback", "export", "--index", str(tmp_path), "--out", str(out)])
    assert result.exit_code == 1
    assert "no feedback yet" in result.output and "rag ui" in result.output
    assert "Traceback" not in result.output and not out.exists()


@pytest.mark.model
def test_feedback_from_a_real_answer_round_trips_to_a_question_set(
    shipped_corpus: Path, shipped_index: Path, real_embedder: Embedder, tmp_path: Path
) -> None:
    ws = Workspace(shipped_corpus, shipped_index, real_embedder, feedback_path=tmp_path / "index" / "feedback.jsonl")
    query, answer = ws.ask("Why is CoreWeave unprofitable?")
    assert not answer.abstained and answer.citations
    ws.record_feedback(query, answer, True)
    out = tmp_path / "qa.jsonl"

    result = CliRunner().invoke(rag.cli.main, ["feedback", "export", "--index", str(tmp_path / "index"),
                                               "--out", str(out)])

    assert result.exit_code == 0, result.output
    [question] = load_questions(out)
    assert question.question == answer.question and question.answer == answer.text
    assert set(question.sources) == {c.source for c in answer.citations}


# ---------------------------------------------------------------- domain packs, switched on by the documents


def test_articles_are_answered_exactly_as_with_no_pack_installed(shipped_corpus: Path, shipped_index: Path,
                                                                  real_embedder: Embedder, tmp_path: Path) -> None:
    """The finance pack installed changes nothing for a corpus it does not recognise: same passages, same
    answers, word for word, on every seed question."""
    with_pack = Workspace(shipped_corpus, shipped_index, real_embedder, packs=installed())
    without = Workspace(shipped_corpus, tmp_path / "index", real_embedder)  # no pack installed
    without.ingest()
    assert set(with_pack.profiles().values()) == {None}
    questions = load_questions(Path(__file__).parent / "eval" / "seed_qa.jsonl")
    assert len(questions) >= 15
    for q in questions:
        (_, a), (_, b) = with_pack.ask(q.question), without.ask(q.question)
        assert (a.text, a.citations, a.short, a.abstained) == (b.text, b.citations, b.short, b.abstained), q.id
        assert [h.chunk.id for h in a.hits] == [h.chunk.id for h in b.hits], q.id


def test_a_filing_switches_the_finance_pack_on_by_its_cover_not_its_name(tmp_path: Path) -> None:
    """3M's 10-K excerpt saved as 'doc-01.pdf' beside an article: the filing is profiled from its cover and the
    retriever steers questions that name 3M; without the pack, no profile and no steering."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copyfile(Path(__file__).parent / "data" / "3M_2018_10K_excerpt.pdf", corpus / "doc-01.pdf")
    write(corpus / "notes.md", "# Notes\n\nThe company reported its results to the board in March.\n")
    on = Workspace(corpus, tmp_path / "on", HashingEmbedder(), packs=installed())
    on.ingest()
    profile = on.profiles()["doc-01.pdf"]
    assert profile is not None and profile.label() == "3M Company · 10-K · FY2018" and profile.pack == "finance"
    assert on.profiles()["notes.md"] is None
    assert on.retriever.steer is not None
    assert on.retriever.steer("What was 3M's capex in FY2018?").routed == {"doc-01.pdf"}
    off = Workspace(corpus, tmp_path / "off", HashingEmbedder())
    off.ingest()
    assert set(off.profiles().values()) == {None} and off.retriever.steer is None


def test_the_one_factory_builds_the_packs_the_settings_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`build` (what the CLI, the UI, eval and bench/ use) takes the packs from settings: all installed by
    default, none when RAG_PACKS is empty, and an unknown one is refused naming the setting, in `rag` too."""
    from rag.app.build import BuildError, build
    from rag.config import Settings

    corpus = write(tmp_path / "corpus" / "a.md", "# A\n\nText.\n").parent
    settings = {"corpus": corpus, "index": tmp_path / "index"}
    assert [p.name for p in build(Settings(**settings), embedder=HashingEmbedder()).packs] == ["finance"]
    assert build(Settings(**settings, packs=[]), embedder=HashingEmbedder()).packs == ()
    with pytest.raises(BuildError, match=r"RAG_PACKS: no pack named 'legal'"):
        build(Settings(**settings, packs=["legal"]), embedder=HashingEmbedder())
    monkeypatch.setattr(rag.cli, "_embedder", lambda *_: HashingEmbedder())
    monkeypatch.setenv("RAG_PACKS", "legal")
    result = CliRunner().invoke(rag.cli.main, ["ingest", "--corpus", str(corpus), "--index", str(tmp_path / "i")])
    assert result.exit_code == 1 and "no pack named 'legal' (installed: finance)" in result.output
