"""The one [n] parser and the one numbering of cited spans."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rag.answer.cite import Numbering, answer_sentences, link_markers, split_markers
from rag.embed.base import CachedEmbedder
from rag.embed.hashing import HashingEmbedder
from rag.text import contains_whole
from rag.types import Chunk


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Capex is $20 billion ( gross ) [1].", ("Capex is $20 billion ( gross ).", [1])),  # own spacing kept
        ("A [1] and B [2].", ("A and B.", [1, 2])),
        ("[3] leads.", ("leads.", [3])),
    ],
)
def test_split_markers_removes_only_markers(sentence: str, expected: tuple[str, list[int]]) -> None:
    assert split_markers(sentence) == expected


def test_answer_sentences_and_links_share_the_parser() -> None:
    assert answer_sentences("- X rose. [2]\n") == [("X rose.", [2])]
    assert link_markers("X [2] and [99]", lambda n, m: f"<{n}>" if n == 2 else m) == "X <2> and [99]"


def test_numbering_reuses_the_number_of_a_span_cited_again() -> None:
    chunk = Chunk("c", "a.txt", "Alpha rose. Beta fell.", 100, 122)
    numbering = Numbering()
    assert [numbering.number(chunk, 112, 122), numbering.number(chunk, 100, 111), numbering.number(chunk, 112, 122)] \
        == [1, 2, 1]
    assert [(c.id, c.quote, c.start) for c in numbering.citations] == [(1, "Beta fell.", 112), (2, "Alpha rose.", 100)]


@pytest.mark.parametrize(("haystack", "needle", "found"),
                         [("capex of 20 billion", "20", True), ("capex of 20 billion", "2", False),
                          ("14.2 billion", "14", False), ("a 1.5x multiple", "5x", False),
                          ("gb300 racks", "gb300", True)])
def test_contains_whole(haystack: str, needle: str, found: bool) -> None:
    assert contains_whole(haystack, needle) is found


class Counting(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__(dim=16)
        self.seen: list[str] = []

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        self.seen.extend(texts)
        return super().embed_batch(texts)


def test_cached_embedder_embeds_each_text_once_and_stays_bounded() -> None:
    model = Counting()
    cached = CachedEmbedder(model, size=2)
    first = cached.embed_documents(["a", "b", "a"])
    again = cached.embed_documents(["b", "a"])
    np.testing.assert_array_equal(first[[1, 0]], again)
    assert model.seen == ["a", "b"]
    cached.embed_documents(["c", "d", "e"])  # larger than the cache: every row still comes back
    assert len(cached._documents) == 2
    assert cached.embed_query("q") is cached.embed_query("q") and model.seen.count("q") == 1
    assert cached.embed_documents([]).shape == (0, 16)


def test_cached_embedder_is_safe_to_share_between_threads() -> None:
    cached = CachedEmbedder(HashingEmbedder(dim=16), size=50)
    expected = HashingEmbedder(dim=16).embed_documents([f"t{i}" for i in range(100)])
    errors: list[Exception] = []

    def work() -> None:
        try:
            for _ in range(20):
                np.testing.assert_allclose(cached.embed_documents([f"t{i}" for i in range(100)]), expected)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
