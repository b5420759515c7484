"""Index and incremental ingest, with the hashing fake embedder and tiny corpora in tmp_path."""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import bm25s
import faiss
import numpy as np
import pytest

import rag
import rag.store.folder.generation
from rag.embed.hashing import HashingEmbedder
from rag.ingest import IngestReport, ingest
from rag.store.base import FileEntry, IndexUnavailable
from rag.store.folder.generation import live_generation, write_generation
from rag.store.folder.index import FolderIndex
from rag.store.folder.manifest import Manifest
from rag.store.folder.store import FolderStore
from rag.types import Chunk

FILES = {
    "a.txt": "Alpha report\n\nThe alpha plant makes steel beams. It runs three shifts a day. "
    "Output rose to 1,200 tonnes in 2024. The plant sits near the river.\n\n"
    "Staff\n\nWorkers unionised in March. Wages rose by 4%. Overtime is common in winter.\n",
    "b.md": "# Beta notes\n\nBeta sells garden tools online. Its best seller is a steel rake.\n\n"
    "## Risks\n\n- Shipping costs are rising.\n- A rival cut prices in May.\n- Returns doubled last year.\n",
    "sub/c.txt": "Gamma is a small bakery. It bakes rye bread and sourdough every morning. "
    "The oven was replaced in 2023. Sales grew slowly.\n",
}
CHUNK_TOKENS = 24
OVERLAP = 6


class RecordingEmbedder(HashingEmbedder):
    """The hashing fake, remembering every text it was asked to embed."""

    def __init__(self, dim: int = 64) -> None:
        super().__init__(dim=dim)
        self.embedded: list[str] = []

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded.extend(texts)
        return super().embed_documents(texts)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, "utf-8")
    return root


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


def run(corpus: Path, index_dir: Path, embedder: HashingEmbedder | None = None, **kwargs: object) -> IngestReport:
    kwargs = {"chunk_tokens": CHUNK_TOKENS, "chunk_overlap": OVERLAP, **kwargs}
    return ingest(corpus, FolderStore(index_dir), embedder or RecordingEmbedder(), **kwargs)  # type: ignore[arg-type]


def by_source(store: FolderIndex) -> dict[str, list[Chunk]]:
    out: dict[str, list[Chunk]] = {}
    for chunk in store.chunks:
        out.setdefault(chunk.source, []).append(chunk)
    return out


def generations(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("gen-"))


def leftovers(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith((".tmp-", ".CURRENT.")))


def assert_store_matches_files(store: FolderIndex, corpus: Path) -> None:
    """Every chunk quotes its file exactly, and row i of FAISS is the vector of chunk i."""
    for chunk in store.chunks:
        assert (corpus / chunk.source).read_bytes().decode("utf-8")[chunk.start : chunk.end] == chunk.text
    expected = HashingEmbedder(dim=store.manifest.dim).embed_documents([c.indexed_text for c in store.chunks])
    np.testing.assert_allclose(store.vectors(range(len(store))), expected, atol=1e-6)


# ---------------------------------------------------------------- incremental ingest

def test_first_ingest_indexes_every_file(corpus: Path, index_dir: Path) -> None:
    embedder = RecordingEmbedder()
    report = run(corpus, index_dir, embedder)
    store = FolderIndex.load(index_dir)

    assert (report.added, report.updated, report.removed, report.unchanged, report.failed) == (3, 0, 0, 0, [])
    assert set(by_source(store)) == set(FILES)
    assert all(len(chunks) >= 2 for chunks in by_source(store).values()), "small chunks: several per file"
    assert report.chunks_total == report.chunks_embedded == len(store) == store.manifest.chunks
    assert Counter(embedder.embedded) == Counter(c.indexed_text for c in store.chunks)
    assert {s: e.chunks for s, e in store.manifest.files.items()} == {s: len(c) for s, c in by_source(store).items()}
    assert_store_matches_files(store, corpus)


def test_unchanged_corpus_embeds_nothing_and_writes_nothing(corpus: Path, index_dir: Path) -> None:
    run(corpus, index_dir)
    current = (index_dir / "CURRENT").read_text()
    before = FolderIndex.load(index_dir)

    embedder = RecordingEmbedder()
    report = run(corpus, index_dir, embedder)

    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 3)
    assert report.chunks_embedded == 0 and embedder.embedded == []
    assert report.chunks_total == len(before)
    assert (index_dir / "CURRENT").read_text() == current
    assert generations(index_dir) == [current.strip()]


def test_editing_one_file_embeds_only_that_file(corpus: Path, index_dir: Path) -> None:
    run(corpus, index_dir)
    before = by_source(FolderIndex.load(index_dir))
    (corpus / "b.md").write_text(FILES["b.md"] + "\n## Outlook\n\nBeta expects a calm spring season.\n", "utf-8")

    embedder = RecordingEmbedder()
    report = run(corpus, index_dir, embedder)
    store = FolderIndex.load(index_dir)
    after = by_source(store)

    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 1, 0, 2)
    assert report.chunks_embedded == len(after["b.md"])
    assert Counter(embedder.embedded) == Counter(c.indexed_text for c in after["b.md"])
    assert any("calm spring" in c.text for c in after["b.md"])
    assert after["a.txt"] == before["a.txt"] and after["sub/c.txt"] == before["sub/c.txt"]
    assert len(generations(index_dir)) == 1, "the previous generation is pruned"
    assert_store_matches_files(store, corpus)


def test_deleting_a_file_removes_its_chunks(corpus: Path, index_dir: Path) -> None:
    run(corpus, index_dir)
    (corpus / "a.txt").unlink()

    embedder = RecordingEmbedder()
    report = run(corpus, index_dir, embedder)
    store = FolderIndex.load(index_dir)

    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 1, 2)
    assert embedder.embedded == []
    assert set(by_source(store)) == {"b.md", "sub/c.txt"}
    assert "a.txt" not in store.manifest.files
    assert not any("alpha" in c.text.lower() for c in store.chunks)
    assert store.sparse_search(["alpha"], 5) == []
    assert_store_matches_files(store, corpus)


def test_adding_a_file_embeds_only_the_new_file(corpus: Path, index_dir: Path) -> None:
    run(corpus, index_dir)
    (corpus / "sub" / "d.md").write_text("# Delta\n\nDelta repairs bicycles. It opened a second shop.\n", "utf-8")

    embedder = RecordingEmbedder()
    report = run(corpus, index_dir, embedder)
    store = FolderIndex.load(index_dir)

    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 0, 0, 3)
    assert Counter(embedder.embedded) == Counter(c.indexed_text for c in by_source(store)["sub/d.md"])
    assert report.chunks_total == len(store)
    assert_store_matches_files(store, corpus)


def test_empty_file_is_reported_and_the_rest_indexed(corpus: Path, index_dir: Path) -> None:
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "notes.xyz").write_text("not a supported format", "utf-8")

    report = run(corpus, index_dir)
    store = FolderIndex.load(index_dir)

    assert [f["path"] for f in report.failed] == ["empty.txt"]
    assert "empty" in report.failed[0]["error"]
    assert [s["path"] for s in report.skipped] == ["notes.xyz"]
    assert report.added == 3
    assert set(by_source(store)) == set(FILES)


def test_file_that_breaks_keeps_its_last_good_version(corpus: Path, index_dir: Path) -> None:
    run(corpus, index_dir)
    before = by_source(FolderIndex.load(index_dir))["a.txt"]
    (corpus / "a.txt").write_bytes(b"")

    report = run(corpus, index_dir)

    assert [f["path"] for f in report.failed] == ["a.txt"]
    assert by_source(FolderIndex.load(index_dir))["a.txt"] == before


# ---------------------------------------------------------------- manifest compatibility

def _renamed(embedder: HashingEmbedder, name: str) -> HashingEmbedder:
    embedder.name = name
    return embedder


@pytest.mark.parametrize(
    ("second_run", "reason"),
    [
        ({"chunk_tokens": 40}, "chunking settings changed"),
        ({"chunk_overlap": 2}, "chunking settings changed"),
        ({"embedder": RecordingEmbedder(dim=32)}, "embedding model changed"),
        # Same name, other dimension: the dimension alone must force a rebuild.
        ({"embedder": _renamed(RecordingEmbedder(dim=32), "hashing-64")}, "dim 32"),
    ],
    ids=["chunk_tokens", "chunk_overlap", "model", "dim-only"],
)
def test_incompatible_settings_rebuild_everything(
    corpus: Path, index_dir: Path, second_run: dict[str, object], reason: str
) -> None:
    run(corpus, index_dir)
    report = run(corpus, index_dir, **second_run)  # type: ignore[arg-type]
    store = FolderIndex.load(index_dir)

    assert report.rebuilt is not None and reason in report.rebuilt
    assert report.unchanged == 0
    assert report.chunks_embedded == report.chunks_total == len(store)
    assert_store_matches_files(store, corpus)


def test_rebuild_flag_reembeds_everything(corpus: Path, index_dir: Path) -> None:
    run(corpus, index_dir)
    report = run(corpus, index_dir, rebuild=True)
    assert report.rebuilt == "requested"
    assert report.chunks_embedded == report.chunks_total > 0


# ---------------------------------------------------------------- atomic writes

def _raise(*_args: object, **_kwargs: object) -> None:
    raise OSError("simulated crash while writing")


def _sabotage_faiss(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(faiss, "write_index", _raise)


def _sabotage_bm25(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(bm25s.BM25, "save", _raise)


def _sabotage_current_switch(mp: pytest.MonkeyPatch) -> None:
    """The new generation is complete on disk, but the process dies before CURRENT points at it."""
    real_replace = os.replace

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst).name == "CURRENT":
            _raise()
        real_replace(src, dst)

    mp.setattr(rag.store.folder.generation.os, "replace", replace)


@pytest.mark.parametrize(
    "sabotage", [_sabotage_faiss, _sabotage_bm25, _sabotage_current_switch], ids=["faiss", "bm25", "current"]
)
def test_interrupted_write_leaves_previous_index_live(
    corpus: Path, index_dir: Path, monkeypatch: pytest.MonkeyPatch, sabotage: Callable[[pytest.MonkeyPatch], None]
) -> None:
    run(corpus, index_dir)
    before = FolderIndex.load(index_dir)
    (corpus / "a.txt").write_text("Alpha closed the plant. Everyone went home.\n", "utf-8")

    with monkeypatch.context() as mp:
        sabotage(mp)
        with pytest.raises(OSError, match="simulated crash"):
            run(corpus, index_dir)

    survivor = FolderIndex.load(index_dir)
    assert list(survivor.chunks) == list(before.chunks)
    np.testing.assert_array_equal(survivor.vectors(range(len(survivor))), before.vectors(range(len(before))))
    assert leftovers(index_dir) or len(generations(index_dir)) > 1, "the failed attempt left something behind"

    report = run(corpus, index_dir)
    store = FolderIndex.load(index_dir)
    assert report.updated == 1
    assert any("closed the plant" in c.text for c in store.chunks)
    assert leftovers(index_dir) == []
    assert generations(index_dir) == [live_generation(index_dir).name]  # type: ignore[union-attr]


# ---------------------------------------------------------------- damaged index

def _truncate_vectors(gen: Path) -> None:
    data = (gen / "vectors.faiss").read_bytes()
    (gen / "vectors.faiss").write_bytes(data[: len(data) // 2])


def _empty_vectors(gen: Path) -> None:
    (gen / "vectors.faiss").write_bytes(b"")


def _drop_chunk_line(gen: Path) -> None:
    lines = (gen / "chunks.jsonl").read_text("utf-8").splitlines(keepends=True)
    (gen / "chunks.jsonl").write_text("".join(lines[:-1]), "utf-8")


def _garble_manifest(gen: Path) -> None:
    (gen / "manifest.json").write_text("{not json", "utf-8")


def _remove_bm25(gen: Path) -> None:
    shutil.rmtree(gen / "bm25")


def _dangling_current(gen: Path) -> None:
    (gen.parent / "CURRENT").write_text("gen-that-does-not-exist\n", "utf-8")


@pytest.mark.parametrize(
    "damage", [_truncate_vectors, _empty_vectors, _drop_chunk_line, _garble_manifest, _remove_bm25, _dangling_current]
)
def test_damaged_index_raises_index_unavailable_naming_the_command(
    corpus: Path, index_dir: Path, damage: Callable[[Path], None]
) -> None:
    run(corpus, index_dir)
    damage(live_generation(index_dir))  # type: ignore[arg-type]

    with pytest.raises(IndexUnavailable, match=r"`rag ingest"):
        FolderIndex.load(index_dir)

    report = run(corpus, index_dir)  # the next ingest repairs it
    assert report.chunks_embedded == report.chunks_total > 0
    assert_store_matches_files(FolderIndex.load(index_dir), corpus)


def test_missing_index_says_to_run_ingest(tmp_path: Path) -> None:
    with pytest.raises(IndexUnavailable, match=r"run `rag ingest` first"):
        FolderIndex.load(tmp_path / "nothing-here")


# ---------------------------------------------------------------- on-disk format

def test_write_generation_round_trip(tmp_path: Path) -> None:
    chunks = [
        Chunk("c0", "a.txt", "Alpha beta gamma.", 0, 17),
        Chunk("c1", "dir/b.pdf", "Délta — 日本 “quoted” text", 40, 65, page=3, section="Risks ✓"),
        Chunk("c2", "dir/b.pdf", "Omega last words.", 70, 87, page=4, section=None),
    ]
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    manifest = Manifest(
        "fake-model", 8, {"max_tokens": 50, "overlap_tokens": 5, "splitter": "x"},
        {"a.txt": FileEntry("1" * 64, 1), "dir/b.pdf": FileEntry("2" * 64, 2)}, chunks=3, created=123.5,
    )
    write_generation(tmp_path, manifest, chunks, vectors, [["alpha", "beta"], ["délta", "quot"], ["omega"]])

    store = FolderIndex.load(tmp_path)
    assert list(store.chunks) == chunks
    assert store.manifest == manifest
    np.testing.assert_array_equal(store.vectors([0, 1, 2]), vectors)
    assert next(row for row, _ in store.dense_search(vectors[1], 3)) == 1
    assert [row for row, _ in store.sparse_search(["omega", "unknown-term"], 3)] == [2]
    assert store.rows_for("dir/b.pdf") == [1, 2]


def test_empty_generation_round_trip(tmp_path: Path) -> None:
    manifest = Manifest("fake-model", 8, {"max_tokens": 50})
    write_generation(tmp_path, manifest, [], np.zeros((0, 8), dtype=np.float32), [])
    store = FolderIndex.load(tmp_path)
    assert len(store) == 0
    assert store.dense_search(np.ones(8, dtype=np.float32), 5) == []
    assert store.sparse_search(["anything"], 5) == []


def test_index_files_are_plain_data(corpus: Path, index_dir: Path) -> None:
    run(corpus, index_dir)
    gen = live_generation(index_dir)
    assert gen is not None
    files = [p for p in gen.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} <= {".json", ".jsonl", ".faiss", ".npy"}
    for path in files:
        if path.suffix == ".npy":
            np.load(path, allow_pickle=False)  # raises if an object array needs unpickling


_PICKLE_PATTERNS = [
    r"^\s*(?:import|from)\s+(?:pickle|cPickle|_pickle|dill|cloudpickle|joblib|shelve)\b",
    r"allow_pickle\s*=\s*True",
    r"\bload_local\s*\(",
    r"allow_dangerous_deserialization",
    r"weights_only\s*=\s*False",
]


@pytest.mark.parametrize("pattern", _PICKLE_PATTERNS)
def test_package_never_unpickles(pattern: str) -> None:
    package = Path(rag.__file__).parent
    sources = sorted(package.rglob("*.py"))
    assert len(sources) >= 10, "the package source was not found"
    offenders = [
        f"{path.name}:{text[: m.start()].count(chr(10)) + 1}"
        for path in sources
        for text in [path.read_text("utf-8")]
        for m in re.finditer(pattern, text, re.MULTILINE)
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("snippet", "caught"),
    [
        ("import pickle\n", True),
        ("    from joblib import load\n", True),
        ("np.load(path, allow_pickle=True)\n", True),
        ("FAISS.load_local(folder, emb)\n", True),
        ("np.load(path, allow_pickle=False)  # never pickle\n", False),
    ],
)
def test_pickle_patterns_catch_what_they_should(snippet: str, caught: bool) -> None:
    """The scan above is only worth something if its patterns match real offending lines."""
    assert any(re.search(p, snippet, re.MULTILINE) for p in _PICKLE_PATTERNS) is caught
