"""The store contract, run against every store: what ingest, retrieval and answering rely on.

Each test gets a fresh store of one kind in tmp_path: the folder index, or Milvus Lite (an
embedded Milvus in a .db folder, served in process; a new one costs some 30 ms). What holds
here holds whichever store `--store` names; the Milvus-only parts are in test_store_milvus.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from reliability_support import invoke, subprocess_env
from support import use_session_model

from rag.embed.base import Embedder
from rag.embed.hashing import HashingEmbedder
from rag.ingest import SPLITTER, ingest
from rag.load.corpus import load_document
from rag.store.base import FileEntry, IndexInfo, IndexUnavailable, NewFile, Store
from rag.store.uri import make_store
from rag.text import terms
from rag.types import Cell, Chunk, Profile, Table, TableRow

KINDS = ("folder", "milvus-lite")
INFO = IndexInfo("hashing-4", 4, {"max_tokens": 20})
SEED = Path(__file__).parent / "eval" / "seed_qa.jsonl"

MakeStore = Callable[[], Store]


def setting(kind: str, root: Path) -> str:
    return "folder" if kind == "folder" else f"milvus:{root / 'store.db'}"


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make(kind: str, tmp_path: Path) -> Iterator[MakeStore]:
    """Opens the test's store, as a new process would; every store opened is closed afterwards
    (Milvus Lite serves a database to one process, until that process lets it go)."""
    opened: list[Store] = []

    def open_store() -> Store:
        store = make_store(setting(kind, tmp_path), tmp_path / "index")
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        close(store)


@pytest.fixture
def store(make: MakeStore) -> Store:
    return make()


def close(store: Store) -> None:
    closer = getattr(store, "close", None)
    if closer is not None:
        closer()


def no_progress(stage: str, done: int, total: int) -> None:
    pass


def chunks(source: str, *texts: str, **fields: object) -> list[Chunk]:
    out, start = [], 0
    for i, text in enumerate(texts):
        out.append(Chunk(f"{source}-{i}", source, text, start, start + len(text), **fields))  # type: ignore[arg-type]
        start += len(text) + 1
    return out


def new_file(source: str, texts: list[str], vectors: list[list[float]] | None = None,
             profile: Profile | None = None) -> NewFile:
    matrix = np.asarray(vectors, dtype=np.float32) if vectors is not None else \
        HashingEmbedder(dim=4).embed_documents(texts)
    return NewFile(f"sha-{source}", chunks(source, *texts), matrix, profile)


def write(store: Store, new: dict[str, NewFile], keep: set[str] | None = None) -> None:
    with store.lock():
        base = store.open() if keep else None
        store.write(INFO, new, keep or set(), base, no_progress)


def key_of(index: object, source: str, n: int = 0) -> int:
    return index.sections_for(source)[n][0]  # type: ignore[attr-defined, no-any-return]


# ---------------------------------------------------------------- write, open, files, info


def test_an_empty_store_has_no_index_and_says_what_to_run(store: Store) -> None:
    assert not store.exists()
    with pytest.raises(IndexUnavailable, match="run `rag ingest` first"):
        store.open()


def test_write_then_open_gives_info_files_and_chunks(store: Store) -> None:
    profile = Profile(title="Annual report", company="3M Company", form="10-K", period="FY2018")
    write(store, {"b.txt": new_file("b.txt", ["beta one", "beta two"]),
                  "a.txt": new_file("a.txt", ["alpha"], profile=profile)})
    index = store.open()
    assert store.exists() and index.info == INFO and len(index) == 3
    assert dict(index.files()) == {"a.txt": FileEntry("sha-a.txt", 1, profile), "b.txt": FileEntry("sha-b.txt", 2)}
    assert index.chunks_for("b.txt") == chunks("b.txt", "beta one", "beta two")
    assert index.chunks_for("gone.txt") == []
    np.testing.assert_array_equal(index.vectors_for("b.txt"), new_file("b.txt", ["beta one", "beta two"]).vectors)
    assert index.vectors_for("gone.txt").shape == (0, 4)
    sections = index.sections_for("b.txt")
    assert [index.chunk(key) for key, _ in sections] == index.chunks_for("b.txt")


def test_write_keeps_what_it_is_told_to_and_drops_the_rest(store: Store) -> None:
    write(store, {"a.txt": new_file("a.txt", ["alpha"]), "b.txt": new_file("b.txt", ["beta"])})
    first = store.open()
    write(store, {"c.txt": new_file("c.txt", ["gamma"])}, keep={"b.txt"})
    second = store.open()
    assert sorted(second.files()) == ["b.txt", "c.txt"] and second.files()["b.txt"] == first.files()["b.txt"]
    np.testing.assert_array_equal(second.vectors_for("b.txt"), first.vectors_for("b.txt"))
    assert second.chunks_for("a.txt") == [] and len(second) == 2


def test_a_reader_keeps_the_state_it_opened(store: Store) -> None:
    write(store, {"a.txt": new_file("a.txt", ["alpha apples"]), "b.txt": new_file("b.txt", ["beta bananas"])})
    reader = store.open()
    write(store, {}, keep={"b.txt"})
    assert sorted(reader.files()) == ["a.txt", "b.txt"] and len(reader) == 2
    [(key, _)] = reader.sparse_search(terms("apples"), 5)
    assert reader.chunk(key).text == "alpha apples"
    assert store.open().sparse_search(terms("apples"), 5) == []


def test_progress_reports_the_write(store: Store) -> None:
    seen: list[tuple[str, int, int]] = []
    with store.lock():
        store.write(INFO, {"a.txt": new_file("a.txt", ["alpha"])}, set(), None, lambda *tick: seen.append(tick))
    assert seen[0][0] == "write" and seen[-1][0] == "write" and seen[-1][1] == seen[-1][2]


# ---------------------------------------------------------------- chunks verbatim

TRICKY = [
    ("plain", {}),
    ("  leading and trailing space, a tab\tand a\nnew line  ", {"page": 3}),
    ("naïve – 東京都 😀 «quoted» ", {"section": "Item 8 › Cash Flows", "context": "Caption (in $ millions) 2018 2017"}),
    ("an empty section is not a missing one", {"section": ""}),
    ("é" * 40_000, {"page": 1, "section": None}),  # 80,000 UTF-8 bytes: more than one Milvus VARCHAR
]


def test_chunks_round_trip_exactly(store: Store) -> None:
    made = [Chunk(f"t-{i}", "tricky.txt", text, 10 * i, 10 * i + len(text), **fields)  # type: ignore[arg-type]
            for i, (text, fields) in enumerate(TRICKY)]
    vectors = HashingEmbedder(dim=4).embed_documents([c.text for c in made])
    write(store, {"tricky.txt": NewFile("sha", made, vectors)})
    index = store.open()
    assert index.chunks_for("tricky.txt") == made
    assert [index.chunk(key) for key, _ in index.sections_for("tricky.txt")] == made
    assert [section for _, section in index.sections_for("tricky.txt")] == [c.section for c in made]
    for key, _ in index.dense_search(vectors[2], 5):  # chunks that came with search results
        assert index.chunk(key) in made


def table_chunk(source: str, rows: int = 3) -> Chunk:
    """A chunk cut from the middle of a table: its rows (cells on pages 4 and 5, under a parent
    row), and the headers whose lines are in an earlier chunk."""
    lines, body, at = [], [], 500
    for i in range(rows):
        label, values = f"Net sales – région {i} ✓", (f"$ {1_000 + i:,}", f"({i}.5)%")
        line = " | ".join((label, *values))
        cells, cursor = [], at + len(label) + 3
        for column, value in enumerate(values):
            cells.append(Cell(value, cursor, cursor + len(value), column, page=4 + column))
            cursor += len(value) + 3
        body.append(TableRow(label, at, at + len(line), tuple(cells), ("Americas", "Total") if i % 2 else ()))
        lines.append(line)
        at += len(line) + 1
    text = "\n".join(lines)
    table = Table(420, at + 40, "Net sales (in millions) 2022 2021", "Net sales", ("Years ended 2022", "2021"),
                  tuple(body), "million", "$", (440, 470))
    return Chunk(f"{source}-t", source, text, 500, 500 + len(text), page=4, section="Item 8",
                 context=table.caption, tables=(table, Table(0, 10, "An empty one")))


def test_a_chunk_with_tables_comes_back_equal_and_is_kept_equal(store: Store) -> None:
    """Rows, cells with their pages, parents, header span, scale and unit, after the write and after
    a write that replaces another file and keeps this one (an incremental ingest). A table of 600
    rows is longer than one Milvus VARCHAR holds."""
    made = {"t.pdf": [table_chunk("t.pdf"), Chunk("t.pdf-p", "t.pdf", "Plain text.", 900, 911)],
            "big.pdf": [table_chunk("big.pdf", rows=600)]}
    assert len(json.dumps(made["big.pdf"][0].to_json()).encode()) > 65_535
    vectors = HashingEmbedder(dim=4).embed_documents(["a", "b"])
    write(store, {s: NewFile(f"sha-{s}", c, vectors[: len(c)]) for s, c in made.items()}
          | {"b.txt": new_file("b.txt", ["beta"])})
    first = store.open()
    assert {s: first.chunks_for(s) for s in made} == made
    assert [first.chunk(key) for key, _ in first.sections_for("big.pdf")] == made["big.pdf"]

    write(store, {"b.txt": new_file("b.txt", ["beta, rewritten"])}, keep={"t.pdf", "big.pdf"})
    second = store.open()
    assert {s: second.chunks_for(s) for s in made} == made
    assert second.chunks_for("b.txt")[0].text == "beta, rewritten"
    for key, _ in second.dense_search(vectors[0], 5):  # chunks that came with search results
        assert second.chunk(key) in [*made["t.pdf"], *made["big.pdf"], *second.chunks_for("b.txt")]


def test_ingested_chunks_quote_their_documents_verbatim(store: Store, corpus_copy: Path) -> None:
    report = ingest(corpus_copy, store, HashingEmbedder())
    index = store.open()
    assert len(index) == report.chunks_total > 20
    for source in index.files():
        text = load_document(corpus_copy / source, corpus_copy).text
        for chunk in index.chunks_for(source):
            assert text[chunk.start : chunk.end] == chunk.text


# ---------------------------------------------------------------- search

DENSE: dict[str, list[list[float]]] = {
    "a.txt": [[1, 0, 0, 0], [0.8, 0.6, 0, 0]], "b.txt": [[0, 1, 0, 0]], "c.txt": [[0.6, 0.8, 0, 0]],
}


def test_dense_search_is_best_first_within_k_and_sources(store: Store) -> None:
    write(store, {s: new_file(s, [f"{s} {i}" for i in range(len(v))], v) for s, v in DENSE.items()})
    index = store.open()
    a0, a1, b0, c0 = key_of(index, "a.txt"), key_of(index, "a.txt", 1), key_of(index, "b.txt"), key_of(index, "c.txt")
    query = np.array([1, 0, 0, 0], dtype=np.float32)
    found = index.dense_search(query, 10)
    assert [key for key, _ in found] == [a0, a1, c0, b0]
    assert [round(score, 5) for _, score in found] == [1.0, 0.8, 0.6, 0.0]
    assert [key for key, _ in index.dense_search(query, 2)] == [a0, a1]
    assert [key for key, _ in index.dense_search(query, len(index), {"b.txt", "c.txt", "gone.txt"})] == [c0, b0]
    assert index.dense_search(query, 5, set()) == [] and index.dense_search(query, 0) == []


SPARSE = {
    "a.txt": ["GB300 racks shipped to Fairwater", "Revenue of $14.2 billion in the quarter"],
    "b.txt": ["GB300 GB300 demand", "Unrelated words about weather"],
    "c.txt": ["14 racks and 2 more"],
}


def test_sparse_search_is_best_first_within_k_and_sources(store: Store) -> None:
    write(store, {s: new_file(s, texts) for s, texts in SPARSE.items()})
    index = store.open()
    a0, a1, b0 = key_of(index, "a.txt"), key_of(index, "a.txt", 1), key_of(index, "b.txt")
    found = index.sparse_search(terms("Which GB300?"), 10)
    assert [key for key, _ in found] == [b0, a0]
    assert found[0][1] > found[1][1] > 0
    assert [key for key, _ in index.sparse_search(terms("GB300"), 1)] == [b0]
    assert [key for key, _ in index.sparse_search(terms("GB300"), 10, {"a.txt", "c.txt"})] == [a0]
    assert [key for key, _ in index.sparse_search(terms("$14.2 billion"), 10)] == [a1]  # 14.2 is not 14 and 2
    assert index.sparse_search(terms("kangaroo"), 10) == [] and index.sparse_search([], 10) == []
    assert index.sparse_search(terms("GB300"), 10, set()) == []


# ---------------------------------------------------------------- incremental ingest


def write_corpus(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, "utf-8")


CORPUS = {
    "alpha.txt": "Alpha Corp builds turbines. Its revenue rose to $3.1 billion in 2024.",
    "beta.md": "# Beta\n\nBeta Inc ships GB300 racks to Fairwater. Demand doubled.",
    "gamma.txt": "Gamma Ltd mines lithium in Chile. Output fell by 12% last year.",
}


def test_ingest_is_incremental_by_content_hash(store: Store, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus, CORPUS)
    embedder = HashingEmbedder(dim=16)
    first = ingest(corpus, store, embedder)
    assert (first.added, first.chunks_embedded) == (3, first.chunks_total)
    before = store.open()

    unchanged = ingest(corpus, store, embedder)
    assert (unchanged.unchanged, unchanged.chunks_embedded) == (3, 0)
    assert dict(store.open().files()) == dict(before.files())

    (corpus / "beta.md").write_text("# Beta\n\nBeta Inc ships GB200 racks now. Demand tripled.", "utf-8")
    edited = ingest(corpus, store, embedder)
    after = store.open()
    assert (edited.updated, edited.unchanged) == (1, 2)
    assert edited.chunks_embedded == after.files()["beta.md"].chunks
    for source in ("alpha.txt", "gamma.txt"):
        np.testing.assert_array_equal(after.vectors_for(source), before.vectors_for(source))
        assert after.chunks_for(source) == before.chunks_for(source)
    assert after.sparse_search(terms("GB300"), 10) == [] and after.sparse_search(terms("GB200"), 10)

    (corpus / "gamma.txt").unlink()
    removed = ingest(corpus, store, embedder)
    final = store.open()
    assert (removed.removed, removed.chunks_embedded) == (1, 0)
    assert sorted(final.files()) == ["alpha.txt", "beta.md"]
    assert final.sparse_search(terms("lithium"), 10) == []
    assert all(final.chunk(key).source != "gamma.txt" for key, _ in final.dense_search(np.ones(16), 10))


def test_another_model_or_chunking_rebuilds_everything(store: Store, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus, CORPUS)
    ingest(corpus, store, HashingEmbedder(dim=16))
    other = ingest(corpus, store, HashingEmbedder(dim=32))
    assert other.rebuilt is not None and "embedding model changed" in other.rebuilt
    assert other.chunks_embedded == other.chunks_total and store.open().info.embedding_model == "hashing-32"
    rechunked = ingest(corpus, store, HashingEmbedder(dim=32), chunk_tokens=10, chunk_overlap=0)
    assert rechunked.rebuilt is not None and "chunking settings changed" in rechunked.rebuilt
    assert rechunked.chunks_embedded == rechunked.chunks_total == len(store.open())


def test_an_index_chunked_before_tables_were_kept_is_rebuilt(store: Store, tmp_path: Path) -> None:
    """Its chunks read (without table structure) until the next ingest, which re-chunks every file."""
    corpus = tmp_path / "corpus"
    write_corpus(corpus, CORPUS)
    ingest(corpus, store, HashingEmbedder(dim=16))
    current = store.open()
    info = current.info
    old = IndexInfo(info.embedding_model, info.dim, {**info.chunking, "splitter": "sentence-v4"})
    with store.lock():
        store.write(old, {}, set(current.files()), current, no_progress)
    assert len(store.open()) == len(current)
    report = ingest(corpus, store, HashingEmbedder(dim=16))
    assert report.rebuilt is not None and "chunking settings changed" in report.rebuilt
    assert "sentence-v4" in report.rebuilt and SPLITTER in report.rebuilt
    assert report.chunks_embedded == report.chunks_total == len(store.open())


# ---------------------------------------------------------------- kill -9 mid-write

CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from rag.embed.hashing import HashingEmbedder
    from rag.ingest import ingest
    from rag.store.uri import make_store

    setting, folder, corpus, when = sys.argv[1:5]
    store = make_store(setting, Path(folder))
    if hasattr(store, "batch"):
        store.batch = 3  # several inserts, so that a kill can fall between them
    ticks = 0

    def tick(stage, done, total):
        global ticks
        if stage not in ("write", "terms"):
            return
        ticks += 1
        last = stage == ("terms" if setting == "folder" else "write") and done == total and ticks > 1
        if (when == "mid" and ticks == 2) or (when == "late" and last):
            os.kill(os.getpid(), signal.SIGKILL)

    ingest(Path(corpus), store, HashingEmbedder(dim=16), progress=tick)
""")


@pytest.mark.parametrize("when", ["mid", "late"])
def test_kill_9_mid_write_leaves_the_previous_state_and_the_next_ingest_completes(
    kind: str, make: MakeStore, tmp_path: Path, when: str
) -> None:
    """Killed after the first rows went in ("mid"), or with every row in and nothing live yet
    ("late": the folder index's arrays written, Milvus' rows all inserted)."""
    corpus = tmp_path / "corpus"
    write_corpus(corpus, CORPUS)
    store = make()
    ingest(corpus, store, HashingEmbedder(dim=16))
    before = store.open()
    old = {source: before.chunks_for(source) for source in before.files()}
    close(store)

    (corpus / "beta.md").write_text("# Beta\n\nBeta Inc ships GB200 racks now. Demand tripled.", "utf-8")
    write_corpus(corpus / "more", {f"delta-{i}.txt": f"Delta unit {i} sells {i} kangaroos a day. " * 30
                                   for i in range(4)})
    child = subprocess.run([sys.executable, "-c", CHILD, setting(kind, tmp_path), str(tmp_path / "index"),
                            str(corpus), when], env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]

    store = make()
    index = store.open()
    assert dict(index.files()) == dict(before.files())
    assert {source: index.chunks_for(source) for source in index.files()} == old
    assert index.sparse_search(terms("kangaroos"), 10) == []
    [(key, _), *_] = index.sparse_search(terms("GB300"), 10)
    assert index.chunk(key).source == "beta.md"

    report = ingest(corpus, store, HashingEmbedder(dim=16))
    assert (report.added, report.updated, report.unchanged, report.failed) == (4, 1, 2, [])
    after = store.open()
    assert report.chunks_embedded == sum(after.files()[s].chunks for s in after.files() if s != "alpha.txt"
                                         and s != "gamma.txt")
    assert len(after) == report.chunks_total and after.sparse_search(terms("kangaroos"), 10)


# ---------------------------------------------------------------- the two stores side by side


@pytest.mark.model
def test_both_stores_rank_the_seed_questions_alike(shipped_corpus: Path, real_embedder: Embedder,
                                                   tmp_path: Path) -> None:
    """Same chunks under the same keys; the same dense ranking, and the same BM25 ranking, since
    Milvus' BM25 reads the folder index's terms with bm25s' k1 and b."""
    stores = [make_store(setting(kind, tmp_path / kind), tmp_path / kind / "index") for kind in KINDS]
    try:
        for store in stores:
            ingest(shipped_corpus, store, real_embedder)
        folder, milvus = (store.open() for store in stores)
        assert dict(folder.files()) == dict(milvus.files()) and len(folder) == len(milvus)
        assert [folder.chunk(key) for key in range(len(folder))] == [milvus.chunk(key) for key in range(len(milvus))]
        questions = [json.loads(line)["question"] for line in SEED.read_text("utf-8").splitlines() if line.strip()]
        for question in questions:
            words, vector = terms(question), real_embedder.embed_query(question)
            assert [k for k, _ in folder.sparse_search(words, 40)] == [k for k, _ in milvus.sparse_search(words, 40)]
            dense = folder.dense_search(vector, 40), milvus.dense_search(vector, 40)
            assert [k for k, _ in dense[0]] == [k for k, _ in dense[1]], question
            assert np.allclose([s for _, s in dense[0]], [s for _, s in dense[1]], atol=1e-5)
    finally:
        for store in stores:
            close(store)


@pytest.fixture
def session_index_copy(shipped_index: Path, tmp_path: Path) -> Path:
    target = tmp_path / "folder-index"
    shutil.copytree(shipped_index, target)
    return target


@pytest.mark.model
def test_the_seed_set_scores_the_same_on_both_stores(
    shipped_corpus: Path, session_index_copy: Path, real_embedder: Embedder, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_session_model(monkeypatch, real_embedder, ("RAG_K", "RAG_CHUNK_TOKENS", "RAG_CHUNK_OVERLAP",
                                                    "RAG_EMBEDDING_MODEL", "RAG_STORE", "RAG_INDEX"))
    summaries = {}
    for kind, index in (("folder", session_index_copy), ("milvus-lite", tmp_path / "milvus-workspace")):
        result = invoke("eval", "--qa", SEED, "--corpus", shipped_corpus, "--index", index,
                        "--store", setting(kind, tmp_path), "--json")
        assert result.exit_code == 0, result.output
        summaries[kind] = json.loads(result.stdout)["summary"]
    folder, milvus = summaries["folder"], summaries["milvus-lite"]
    assert folder["questions"] == milvus["questions"] == 49
    for name in ("fact_recall", "hit_at_k", "citation_precision", "abstention_f1"):
        assert abs(folder[name] - milvus[name]) <= 0.02, (name, folder[name], milvus[name])
    assert os.path.isdir(tmp_path / "store.db")
