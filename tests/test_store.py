"""The folder store behind the Store and Index protocols: what ingest and retrieval rely on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.embed.hashing import HashingEmbedder
from rag.store.base import IndexInfo, IndexUnavailable, NewFile, compatible
from rag.store.folder.store import FolderStore, _whole
from rag.text import terms
from rag.types import Chunk

INFO = IndexInfo("hashing-8", 8, {"max_tokens": 20})


def chunks(source: str, *texts: str) -> list[Chunk]:
    out, start = [], 0
    for i, text in enumerate(texts):
        out.append(Chunk(f"{source}-{i}", source, text, start, start + len(text)))
        start += len(text) + 1
    return out


def new_file(source: str, *texts: str) -> NewFile:
    return NewFile(f"sha-{source}", chunks(source, *texts), HashingEmbedder(dim=8).embed_documents(list(texts)))


def test_write_then_open_gives_files_chunks_and_vectors(tmp_path: Path) -> None:
    store = FolderStore(tmp_path)
    assert not store.exists()
    with pytest.raises(IndexUnavailable, match="run `rag ingest` first"):
        store.open()
    with store.lock():
        store.write(INFO, {"b.txt": new_file("b.txt", "beta one", "beta two"), "a.txt": new_file("a.txt", "alpha")},
                    set(), None, lambda *_: None)
    index = store.open()
    assert store.exists() and index.info == INFO and len(index) == 3
    assert {s: e.chunks for s, e in index.files().items()} == {"a.txt": 1, "b.txt": 2}
    assert [c.text for c in index.chunks_for("b.txt")] == ["beta one", "beta two"]
    np.testing.assert_array_equal(index.vectors_for("b.txt"), new_file("b.txt", "beta one", "beta two").vectors)
    key, _ = index.sparse_search(["alpha"], 1)[0]
    assert index.chunk(key).source == "a.txt"


def test_write_keeps_what_it_is_told_to_and_drops_the_rest(tmp_path: Path) -> None:
    store = FolderStore(tmp_path)
    store.write(INFO, {"a.txt": new_file("a.txt", "alpha"), "b.txt": new_file("b.txt", "beta")}, set(), None,
                lambda *_: None)
    first = store.open()
    store.write(INFO, {"c.txt": new_file("c.txt", "gamma")}, {"b.txt"}, first, lambda *_: None)
    second = store.open()
    assert sorted(second.files()) == ["b.txt", "c.txt"]
    np.testing.assert_array_equal(second.vectors_for("b.txt"), first.vectors_for("b.txt"))
    assert second.chunks_for("a.txt") == [] and len(first) == 2  # a reader keeps its own state


def test_write_reports_progress_of_terms_and_write(tmp_path: Path) -> None:
    seen: list[str] = []
    FolderStore(tmp_path).write(INFO, {"a.txt": new_file("a.txt", "alpha")}, set(), None,
                                lambda stage, done, total: seen.append(stage))
    assert seen[0] == "write" and "terms" in seen and seen[-1] == "write"


def test_consecutive_slices_of_one_matrix_are_used_without_a_copy() -> None:
    matrix = np.empty((6, 2), dtype=np.float32)  # as ingest fills it
    matrix[:] = np.arange(12).reshape(6, 2)
    assert _whole([matrix[0:2], matrix[2:5], matrix[5:6]], 6) is matrix
    assert _whole([matrix[2:5], matrix[0:2], matrix[5:6]], 6) is None  # out of order
    assert _whole([matrix[0:2], matrix[3:6]], 5) is None  # a gap


@pytest.mark.parametrize(
    ("wanted", "reason"),
    [
        (INFO, None),
        (IndexInfo("other", 8, {"max_tokens": 20}), "embedding model changed"),
        (IndexInfo("hashing-8", 8, {"max_tokens": 30}), "chunking settings changed"),
    ],
)
def test_compatible_says_why_vectors_cannot_be_mixed(wanted: IndexInfo, reason: str | None) -> None:
    result = compatible(INFO, wanted)
    assert result is None if reason is None else reason in (result or "")


def test_searches_restricted_to_sources_rank_only_their_chunks(tmp_path: Path) -> None:
    """What routing relies on: the same ranking as the global search, inside the named files."""
    store = FolderStore(tmp_path)
    store.write(INFO, {"a.txt": new_file("a.txt", "capital spending rose", "capital plans"),
                       "b.txt": new_file("b.txt", "capital spending rose", "revenue fell"),
                       "c.txt": new_file("c.txt", "capital")}, set(), None, lambda *_: None)
    index = store.open()
    query = HashingEmbedder(dim=8).embed_query("capital spending rose")

    def sources(found: list[tuple[int, float]]) -> list[str]:
        return [index.chunk(key).source for key, _ in found]

    assert set(sources(index.dense_search(query, 10))) == {"a.txt", "b.txt", "c.txt"}
    dense_b = index.dense_search(query, 10, {"b.txt"})
    assert sources(dense_b) == ["b.txt", "b.txt"]
    assert index.chunk(dense_b[0][0]).text == "capital spending rose"  # best first
    assert dense_b[0][1] == pytest.approx(index.dense_search(query, 1)[0][1], abs=1e-6)  # the same cosine
    assert sources(index.dense_search(query, 1, {"a.txt", "c.txt"})) == ["a.txt"]
    words = terms("capital")
    assert sorted(sources(index.sparse_search(words, 10))) == ["a.txt", "a.txt", "b.txt", "c.txt"]
    assert sorted(sources(index.sparse_search(words, 10, {"b.txt", "c.txt"}))) == ["b.txt", "c.txt"]  # not "revenue"
    assert index.sparse_search(words, 10, {"nowhere.txt"}) == []
    assert index.dense_search(query, 10, set()) == []


def test_sections_for_lists_each_chunk_key_with_its_section_path(tmp_path: Path) -> None:
    store = FolderStore(tmp_path)
    parts = [Chunk("x0", "a.pdf", "Revenue 10 12", 0, 13, page=1, section="Item 8 › Statements of Operations"),
             Chunk("x1", "a.pdf", "Cash 5 6", 14, 22, page=2, section=None)]
    store.write(INFO, {"a.pdf": NewFile("sha", parts, HashingEmbedder(dim=8).embed_documents([c.text for c in parts])),
                       "b.txt": new_file("b.txt", "beta")}, set(), None, lambda *_: None)
    index = store.open()
    listed = index.sections_for("a.pdf")
    assert [section for _, section in listed] == ["Item 8 › Statements of Operations", None]
    assert [index.chunk(key).id for key, _ in listed] == ["x0", "x1"]
    assert index.sections_for("a.pdf") == listed  # read once, then kept
    assert index.sections_for("missing.pdf") == []
