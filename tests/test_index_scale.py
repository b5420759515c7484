"""The index at scale: chunks read lazily, file rows from the manifest, the vector index
chosen by size (flat or IVF with 8-bit codes), and vectors reused without drift."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import bm25s
import numpy as np
import pytest

import rag.load.corpus
import rag.store.folder.chunks
import rag.store.folder.vectors
from rag.embed.hashing import HashingEmbedder
from rag.ingest import ingest
from rag.store.base import FileEntry, IndexUnavailable
from rag.store.folder.generation import live_generation, write_generation
from rag.store.folder.index import FolderIndex
from rag.store.folder.manifest import Manifest
from rag.store.folder.store import FolderStore
from rag.store.folder.vectors import ANN_RECALL
from rag.text import terms
from rag.types import Chunk

WORDS = "steel river bakery shift wage rye oven rake price winter spring plant union tonne".split()


def clustered(n: int, dim: int = 48, centres: int = 40, noise: float = 0.6, seed: int = 0) -> np.ndarray:
    """Unit vectors around random unit centres, as embeddings of a corpus with topics are."""
    rng = np.random.default_rng(seed)
    middle = rng.normal(size=(centres, dim))
    middle /= np.linalg.norm(middle, axis=1, keepdims=True)
    x = middle[rng.integers(0, centres, n)] + rng.normal(scale=noise / np.sqrt(dim), size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def synthetic(n: int, files: int = 7) -> tuple[list[Chunk], dict[str, FileEntry]]:
    """n chunks spread over `files` sources, grouped by source in sorted order as the ingest writes them."""
    sources = sorted(f"dir{f % 3}/file-{f:02d}.txt" for f in range(files))
    per_file = np.array_split(np.arange(n), files)
    chunks: list[Chunk] = []
    for source, rows in zip(sources, per_file, strict=True):
        for row in rows:
            text = " ".join(WORDS[(row * 7 + j) % len(WORDS)] for j in range(5 + row % 4)) + f" r{row}"
            chunks.append(Chunk(f"c{row}", source, text, int(row) * 10, int(row) * 10 + len(text), page=None))
    entries = {s: FileEntry("0" * 64, len(r)) for s, r in zip(sources, per_file, strict=True)}
    return chunks, entries


def write(root: Path, vectors: np.ndarray, vector_index: str | None = None) -> tuple[FolderIndex, list[Chunk]]:
    chunks, entries = synthetic(len(vectors))
    manifest = Manifest("fake", vectors.shape[1], {"max_tokens": 50}, entries, chunks=len(chunks))
    write_generation(root, manifest, chunks, vectors, (terms(c.text) for c in chunks), vector_index=vector_index)
    return FolderIndex.load(root), chunks


def recall_at_10(approx: FolderIndex, exact: FolderIndex, queries: np.ndarray) -> float:
    found = [
        len({r for r, _ in approx.dense_search(q, 10)} & {r for r, _ in exact.dense_search(q, 10)}) / 10
        for q in queries
    ]
    return float(np.mean(found))


@pytest.fixture
def small_flat_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setattr(rag.store.folder.vectors, "FLAT_LIMIT", 1000)
    yield 1000


# ---------------------------------------------------------------- chunks on disk


def test_chunks_are_read_lazily_and_exactly_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chunks, entries = synthetic(40, files=2)
    chunks[3] = Chunk("odd", chunks[3].source, "line\nbreak \u2028 sep “quotes” 日本 ✓\r\n", 5, 9, page=2, section="Ü")
    manifest = Manifest("fake", 8, {}, entries, chunks=len(chunks))
    vectors = clustered(len(chunks), dim=8)
    write_generation(tmp_path, manifest, chunks, vectors, (terms(c.text) for c in chunks))

    built: list[Chunk] = []

    class Counting:
        @staticmethod
        def from_json(fields: dict[str, object]) -> Chunk:
            built.append(Chunk.from_json(fields))
            return built[-1]

    monkeypatch.setattr(rag.store.folder.chunks, "Chunk", Counting)
    store = FolderIndex.load(tmp_path)
    assert built == [], "loading the index parses no chunk"
    assert store.chunks[3] == chunks[3] and len(built) == 1
    assert store.chunks[-1] == chunks[-1]
    assert store.chunks[10:13] == chunks[10:13]
    assert list(store.chunks) == chunks
    assert len(store.chunks) == len(store) == 40
    with pytest.raises(IndexError):
        store.chunks[40]


def test_rows_for_comes_from_the_manifest_and_matches_the_written_order(tmp_path: Path) -> None:
    store, chunks = write(tmp_path, clustered(300, dim=8))
    expected: dict[str, list[int]] = {}
    for row, chunk in enumerate(chunks):
        expected.setdefault(chunk.source, []).append(row)

    assert {source: store.rows_for(source) for source in store.manifest.files} == expected
    assert store.rows_for("not/indexed.txt") == []


def test_write_generation_refuses_chunks_out_of_manifest_order(tmp_path: Path) -> None:
    chunks, entries = synthetic(20, files=2)
    swapped = chunks[10:] + chunks[:10]
    manifest = Manifest("fake", 8, {}, entries, chunks=len(chunks))
    with pytest.raises(ValueError, match="sorted-source order"):
        write_generation(tmp_path, manifest, swapped, clustered(20, dim=8), ([] for _ in swapped))
    assert live_generation(tmp_path) is None


def test_write_generation_refuses_counts_that_disagree_with_the_manifest(tmp_path: Path) -> None:
    chunks, entries = synthetic(20, files=2)
    short = {s: FileEntry(e.sha256, e.chunks - 1) for s, e in entries.items()}
    with pytest.raises(ValueError, match="do not match the manifest"):
        write_generation(tmp_path, Manifest("fake", 8, {}, short, chunks=20), chunks, clustered(20, dim=8), [])
    with pytest.raises(ValueError, match="do not match the manifest"):
        write_generation(tmp_path, Manifest("fake", 8, {}, entries, chunks=20), chunks, clustered(19, dim=8), [])


# ---------------------------------------------------------------- vector index by size


def test_flat_up_to_the_limit_and_ivf_above_it(tmp_path: Path, small_flat_limit: int) -> None:
    at_limit, _ = write(tmp_path / "at", clustered(small_flat_limit))
    above, _ = write(tmp_path / "above", clustered(small_flat_limit + 1))

    assert at_limit.manifest.vector_index == {"type": "flat"}
    info = above.manifest.vector_index
    assert info["type"] == "ivf-sq8"
    assert 1 <= int(info["nprobe"]) <= int(info["nlist"]) and float(info["recall_at_10"]) >= ANN_RECALL
    assert (above.path / "vectors.f16.npy").is_file() and not (at_limit.path / "vectors.f16.npy").exists()
    on_disk = json.loads((above.path / "manifest.json").read_text("utf-8"))
    assert on_disk["vector_index"] == info and on_disk["format"] == 2


@pytest.mark.parametrize(("size", "forced"), [(50, "ivf-sq8"), (3000, "flat")])
def test_vector_index_can_be_forced(tmp_path: Path, small_flat_limit: int, size: int, forced: str) -> None:
    store, _ = write(tmp_path, clustered(size), vector_index=forced)
    assert store.manifest.vector_index["type"] == forced


def test_ivf_recall_at_10_against_flat(tmp_path: Path) -> None:
    vectors = clustered(5000, dim=64, centres=50)
    approx, _ = write(tmp_path / "ivf", vectors, vector_index="ivf-sq8")
    exact, _ = write(tmp_path / "flat", vectors, vector_index="flat")
    rng = np.random.default_rng(7)
    near = vectors[rng.integers(0, len(vectors), 200)] + rng.normal(scale=0.6 / 8, size=(200, 64))
    queries = (near / np.linalg.norm(near, axis=1, keepdims=True)).astype(np.float32)  # unseen, near the data

    assert int(approx.manifest.vector_index["nlist"]) > 1
    assert recall_at_10(approx, exact, queries) >= 0.9
    assert approx.dense_search(vectors[123], 1)[0][0] == 123


def test_ivf_vectors_are_the_written_ones_in_float16(tmp_path: Path) -> None:
    vectors = clustered(2000)
    store, _ = write(tmp_path, vectors, vector_index="ivf-sq8")
    rows = [0, 7, 1999, 1000]
    np.testing.assert_array_equal(store.vectors(rows), vectors[rows].astype(np.float16).astype(np.float32))
    assert store.vectors([]).shape == (0, vectors.shape[1])


def test_incremental_ingest_over_ivf_reuses_vectors_without_drift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rag.store.folder.vectors, "FLAT_LIMIT", 0)
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    for name in ("a", "b", "c"):
        text = " ".join(f"{name} sentence number {i} about {WORDS[i % len(WORDS)]}." for i in range(40))
        (corpus / f"{name}.txt").write_text(text, "utf-8")
    ingest(corpus, FolderStore(index), HashingEmbedder(), chunk_tokens=24, chunk_overlap=4)
    first = FolderIndex.load(index)
    assert first.manifest.vector_index["type"] == "ivf-sq8"
    kept = {s: first.vectors(first.rows_for(s)) for s in ("a.txt", "c.txt")}
    embedded = HashingEmbedder().embed_documents([c.text for c in first.chunks])
    np.testing.assert_allclose(first.vectors(range(len(first))), embedded, atol=1e-3)

    for round_ in range(3):
        (corpus / "b.txt").write_text(f"B was rewritten, round {round_}. It speaks of rye and ovens.", "utf-8")
        report = ingest(corpus, FolderStore(index), HashingEmbedder(), chunk_tokens=24, chunk_overlap=4)
        store = FolderIndex.load(index)
        assert (report.updated, report.unchanged) == (1, 2)
        for source, vectors in kept.items():
            np.testing.assert_array_equal(store.vectors(store.rows_for(source)), vectors)


# ---------------------------------------------------------------- BM25 memory-mapped


def test_memory_mapped_bm25_ranks_as_the_loaded_one(tmp_path: Path) -> None:
    store, _ = write(tmp_path, clustered(500, dim=8))
    resident = bm25s.BM25.load(str(store.path / "bm25"), mmap=False)
    for query in (["steel"], ["rye", "oven"], ["winter", "union", "r42"], ["price", "price", "tonne"]):
        rows, scores = resident.retrieve([query], k=len(store), show_progress=False)
        expected = {int(r): float(s) for r, s in zip(rows[0], scores[0], strict=True) if s > 0}
        found = store.sparse_search(query, len(store))
        assert dict(found) == expected
        assert [s for _, s in store.sparse_search(query, 10)] == sorted(expected.values(), reverse=True)[:10]


# ---------------------------------------------------------------- old formats and damage


def _rewrite_checksums(gen: Path) -> None:
    sums = {p.relative_to(gen).as_posix(): rag.load.corpus.sha256_file(p)
            for p in sorted(gen.rglob("*")) if p.is_file() and p.name != "checksums.json"}
    (gen / "checksums.json").write_text(json.dumps(sums), "utf-8")


def test_format_1_index_says_to_rebuild_and_ingest_rebuilds_it(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Alpha makes steel. Beta sells rakes. Gamma bakes rye bread.", "utf-8")
    ingest(corpus, FolderStore(index), HashingEmbedder())
    gen = live_generation(index)
    assert gen is not None
    manifest = json.loads((gen / "manifest.json").read_text("utf-8"))
    manifest["format"] = 1
    (gen / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    _rewrite_checksums(gen)

    with pytest.raises(IndexUnavailable, match=r"format 1.*format 2.*`rag ingest --rebuild`"):
        FolderIndex.load(index)
    report = ingest(corpus, FolderStore(index), HashingEmbedder())
    assert report.rebuilt is not None and "format 1" in report.rebuilt
    assert FolderIndex.load(index).manifest.format == 2


def _cut_offsets(gen: Path) -> None:
    data = (gen / "chunks.offsets.npy").read_bytes()
    (gen / "chunks.offsets.npy").write_bytes(data[:-8])


def _shift_offsets(gen: Path) -> None:
    offsets = np.load(gen / "chunks.offsets.npy")
    np.save(gen / "chunks.offsets.npy", offsets + 1)


def _offsets_as_floats(gen: Path) -> None:
    offsets = np.load(gen / "chunks.offsets.npy")
    np.save(gen / "chunks.offsets.npy", offsets.astype(np.float64))


def _offsets_missing(gen: Path) -> None:
    (gen / "chunks.offsets.npy").unlink()


@pytest.mark.parametrize("damage", [_cut_offsets, _shift_offsets, _offsets_as_floats, _offsets_missing])
@pytest.mark.parametrize("checksums", ["kept", "rewritten"])
def test_damaged_offsets_say_to_rebuild(tmp_path: Path, damage: object, checksums: str) -> None:
    """Caught by the checksums, and by the offsets' own checks when the checksums were rewritten too."""
    write(tmp_path, clustered(50, dim=8))
    gen = live_generation(tmp_path)
    assert gen is not None
    damage(gen)  # type: ignore[operator]
    if checksums == "rewritten":
        _rewrite_checksums(gen)

    with pytest.raises(IndexUnavailable, match=r"damaged.*`rag ingest --rebuild`"):
        FolderIndex.load(tmp_path)
