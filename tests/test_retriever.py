"""Hybrid retrieval: fusion arithmetic, de-duplication, and exact figures found by the real model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from langchain_core.documents import Document as LCDocument

from rag.chunk import chunk_document
from rag.embed.base import Embedder
from rag.embed.hashing import HashingEmbedder
from rag.load.corpus import load_document
from rag.packs import Steer, Steering, steering
from rag.packs.finance import PACK
from rag.retrieve.hybrid import HybridRetriever, rrf
from rag.retrieve.tables import rest_of_tables
from rag.store.base import Index, IndexInfo, NewFile
from rag.store.folder.generation import write_generation
from rag.store.folder.index import FolderIndex
from rag.store.folder.manifest import Manifest
from rag.store.folder.store import FolderStore
from rag.text import terms
from rag.types import Chunk, Hit, Profile

# ---------------------------------------------------------------- rrf


@pytest.mark.parametrize(
    ("rankings", "k", "expected"),
    [
        ([], 60, {}),
        ([[]], 60, {}),
        ([[5]], 0, {5: 1.0}),
        ([[3, 1], [1, 2]], 60, {1: 1 / 62 + 1 / 61, 3: 1 / 61, 2: 1 / 62}),
        ([[1, 2], []], 1, {1: 1 / 2, 2: 1 / 3}),
        ([[1, 2], [2, 1]], 60, {1: 1 / 61 + 1 / 62, 2: 1 / 62 + 1 / 61}),
        ([[7], [7], [7]], 10, {7: 3 / 11}),
    ],
)
def test_rrf(rankings: list[list[int]], k: int, expected: dict[int, float]) -> None:
    assert rrf(rankings, k) == pytest.approx(expected)


def test_rrf_rewards_agreement_over_a_single_top_rank() -> None:
    fused = rrf([[1, 2, 3], [4, 2, 5]])
    assert max(fused, key=fused.__getitem__) == 2


# ---------------------------------------------------------------- near-duplicate removal (hashing fake)


def _store_with_duplicates(root: Path) -> FolderIndex:
    base = "Steel output rose sharply at the alpha plant in the north this spring."
    chunks = [
        Chunk("a", "x.txt", base, 0, len(base)),
        # Same source, overlapping the first by far more than half of the shorter span.
        Chunk("b", "x.txt", base[10:], 10, len(base)),
        # Another source with the same words: a copied paragraph.
        Chunk("c", "y.txt", base, 500, 500 + len(base)),
        # Same source, overlapping by less than half: distinct enough to keep.
        Chunk("d", "x.txt", base[-12:] + " Wages rose too, and the river flooded the yard twice.", 59, 124),
        Chunk("e", "z.txt", "Bread and rye at the gamma bakery, baked every morning.", 0, 55),
    ]
    embedder = HashingEmbedder()
    vectors = embedder.embed_documents([c.text for c in chunks])
    manifest = Manifest(embedder.name, embedder.dim, {}, chunks=len(chunks))
    write_generation(root, manifest, chunks, vectors, [terms(c.text) for c in chunks])
    return FolderIndex.load(root)


def test_overlapping_and_copied_chunks_are_collapsed(tmp_path: Path) -> None:
    retriever = HybridRetriever(store=_store_with_duplicates(tmp_path), embedder=HashingEmbedder(), k=5)
    ids = [hit.chunk.id for hit in retriever.search("steel output alpha plant")]
    assert ids[0] in {"a", "b", "c"}
    assert not {"a", "b"} <= set(ids), "same source, overlapping by more than half"
    assert not {"a", "c"} <= set(ids), "same words in another file"
    assert {"d", "e"} <= set(ids), "distinct passages are kept"
    assert len(ids) == len(set(ids)) < 5


def test_search_honours_k_and_orders_by_score(tmp_path: Path) -> None:
    retriever = HybridRetriever(store=_store_with_duplicates(tmp_path), embedder=HashingEmbedder(), k=5)
    hits = retriever.search("steel wages bakery river", k=2)
    assert len(hits) == 2
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


# ---------------------------------------------------------------- the shipped corpus, real model


@pytest.fixture(scope="module")
def retriever(shipped_store: FolderIndex, real_embedder: Embedder) -> HybridRetriever:
    return HybridRetriever(store=shipped_store, embedder=real_embedder, k=5)


@pytest.mark.model
@pytest.mark.parametrize(
    ("question", "figure"),
    [
        ("Which GPU clusters has Microsoft deployed?", "GB300"),
        ("What is the value of the Meta agreement?", "$14.2 billion"),
        ("What is the name of Microsoft's Wisconsin AI campus?", "Fairwater"),
        ("What is CoreWeave's 2025 capex guidance?", "$20–$23 billion"),
        ("What is CoreWeave's Price/Book multiple?", "24.09X"),
        ("What is the cumulative contract value with OpenAI?", "$22.4 billion"),
    ],
)
def test_exact_figures_are_retrieved_in_top_5(retriever: HybridRetriever, question: str, figure: str) -> None:
    hits = retriever.search(question)
    assert len(hits) == 5
    assert any(figure in hit.chunk.text for hit in hits), [hit.chunk.text[:80] for hit in hits]


QUESTIONS = [
    "Why is CoreWeave unprofitable?",
    "What are the risks for Microsoft?",
    "How much is Meta spending on AI infrastructure in 2025?",
    "What does the NVIDIA capacity guarantee do?",
]


@pytest.mark.model
@pytest.mark.parametrize("question", QUESTIONS)
def test_no_two_hits_of_one_source_overlap_by_more_than_half(retriever: HybridRetriever, question: str) -> None:
    hits = retriever.search(question, k=10)
    for i, a in enumerate(hits):
        for b in hits[i + 1 :]:
            if a.chunk.source != b.chunk.source:
                continue
            shared = max(0, min(a.chunk.end, b.chunk.end) - max(a.chunk.start, b.chunk.start))
            shorter = min(a.chunk.end - a.chunk.start, b.chunk.end - b.chunk.start)
            assert shared <= 0.5 * shorter, (a.chunk.id, b.chunk.id)


@pytest.mark.model
@pytest.mark.parametrize("question", QUESTIONS)
def test_hits_record_the_ranks_that_produced_them(retriever: HybridRetriever, question: str) -> None:
    hits: list[Hit] = retriever.search(question)
    assert hits and [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    for hit in hits:
        assert hit.dense_rank is not None or hit.sparse_rank is not None
        expected = sum(1 / (60 + r) for r in (hit.dense_rank, hit.sparse_rank) if r is not None)
        assert hit.score == pytest.approx(expected)


@pytest.mark.model
def test_langchain_invoke_returns_documents_with_provenance(retriever: HybridRetriever, shipped_corpus: Path) -> None:
    docs = retriever.invoke("What is the value of the Meta agreement?")
    assert 1 <= len(docs) <= 5
    for doc in docs:
        assert isinstance(doc, LCDocument)
        assert {"source", "start", "end"} <= set(doc.metadata)
        loaded = load_document(shipped_corpus / doc.metadata["source"], shipped_corpus)
        assert loaded.text[doc.metadata["start"] : doc.metadata["end"]] == doc.page_content
    assert any("$14.2 billion" in doc.page_content for doc in docs)


@pytest.mark.model
def test_dense_search_ranks_an_exact_chunk_first(
    shipped_store: FolderIndex, real_embedder: Embedder
) -> None:
    chunk = shipped_store.chunks[len(shipped_store) // 2]
    rows = shipped_store.dense_search(real_embedder.embed_query(chunk.text), 3)
    assert rows[0][0] == len(shipped_store) // 2
    # int8 activations are quantized with one scale per batch, so a text embedded alone and
    # in a batch of chunks differ slightly; the float backends agree to 1e-4.
    assert rows[0][1] == pytest.approx(1.0, abs=0.02 if real_embedder.name.endswith("#int8") else 1e-4)
    assert rows[0][1] - rows[1][1] > 0.05
    assert np.isclose(np.linalg.norm(shipped_store.vectors([0])[0]), 1.0, atol=1e-4)


# ---------------------------------------------------------------- routing (hashing fake)


def test_a_routed_question_ranks_the_named_documents_passages_first(tmp_path: Path) -> None:
    """Two filings that read alike: the one whose company the question names comes first, and its hits say
    which words named it; without a router the tie is broken by row order."""
    texts = {"bolt.pdf": "Revenue rose to 12 million dollars in the year.",
             "acme.pdf": "Revenue rose to 10 million dollars in the year."}
    embedder = HashingEmbedder()
    store = FolderStore(tmp_path)
    store.write(IndexInfo(embedder.name, embedder.dim, {}),
                {source: NewFile(source, [Chunk(source, source, text, 0, len(text))],
                                 embedder.embed_documents([text])) for source, text in texts.items()},
                set(), None, lambda *_: None)
    index = store.open()
    steer = steering([PACK], {"acme.pdf": Profile(company="Acme Corp", form="10-K", period="FY2020", pack="finance"),
                              "bolt.pdf": Profile(company="Bolt Inc", form="10-K", period="FY2020", pack="finance")})
    question = "How much did Bolt's revenue rise in the year?"

    plain = HybridRetriever(store=index, embedder=embedder, k=2).search(question)
    routed = HybridRetriever(store=index, embedder=embedder, k=2, steer=steer).search(question)

    assert [h.chunk.source for h in plain] == ["acme.pdf", "bolt.pdf"]
    assert [h.chunk.source for h in routed] == ["bolt.pdf", "acme.pdf"]
    assert [h.named for h in routed] == [frozenset({"bolt"}), frozenset()]
    assert routed[0].score > routed[1].score


ACME = Profile(company="Acme Corp", form="10-K", period="FY2020", pack="finance")


def _acme_filing(root: Path, parts: list[tuple[str, str]], embedder: HashingEmbedder) -> FolderStore:
    """Acme's 10-K as passages (text, section path), one a page, indexed in a folder store."""
    chunks = [Chunk(f"c{i}", "acme.pdf", text, 100 * i, 100 * i + len(text), page=i + 1, section=section)
              for i, (text, section) in enumerate(parts)]
    store = FolderStore(root)
    store.write(IndexInfo(embedder.name, embedder.dim, {}),
                {"acme.pdf": NewFile("sha", chunks, embedder.embed_documents([c.text for c in chunks]))},
                set(), None, lambda *_: None)
    return store


def test_a_statement_the_question_names_is_searched_among_its_sections(tmp_path: Path) -> None:
    """Of two passages of one filing, the one that repeats the question's words ranks first; the one in the
    statement the question names comes first once the wording (and with it the statement search) is on."""
    parts = [("What was Acme's capital spending in the year? It was 1,577 million, the company said.",
              "Item 7 › Liquidity"),
             ("Capital spending 1,577 million.", "Item 8 › Consolidated Statement of Cash Flows")]
    embedder = HashingEmbedder()
    store = _acme_filing(tmp_path, parts, embedder)
    steer = steering([PACK], {"acme.pdf": ACME})
    assert steer is not None
    question = "What was Acme's capital spending in the year, per the cash flow statement?"

    def first(steer: Steering | None) -> str | None:
        return HybridRetriever(store=store.open(), embedder=embedder, k=2, steer=steer).search(
            question)[0].chunk.section

    routed_only = steer(question)
    assert first(lambda q: Steer(routed=routed_only.routed)) == "Item 7 › Liquidity"
    assert first(steer) == "Item 8 › Consolidated Statement of Cash Flows"
    # Without naming the company: in a folder of its filings alone, the question is theirs all the same; beside
    # an article, when it is asked of the filing (a user who chose it).
    unnamed = "What was the capital spending in the year, per the cash flow statement?"
    statement = "Item 8 › Consolidated Statement of Cash Flows"
    alone = HybridRetriever(store=store.open(), embedder=embedder, k=2, steer=steer)
    assert alone.search(unnamed)[0].chunk.section == statement
    beside = steering([PACK], {"acme.pdf": ACME, "notes.md": None})
    mixed = HybridRetriever(store=store.open(), embedder=embedder, k=2, steer=beside)
    assert mixed.search(unnamed)[0].chunk.section == "Item 7 › Liquidity"
    assert mixed.search(unnamed, scope={"acme.pdf"})[0].chunk.section == statement


@pytest.mark.parametrize("question", ["What are Acme's main risks?", "What are the main risks?"])
def test_an_open_question_reads_the_part_of_the_filing_it_is_about(tmp_path: Path, question: str) -> None:
    """"What are Acme's risks?": two passages that repeat its words fill the plain search's places; with the
    steer, the risk factors' passage, which words the risk its own way, takes the last place, and the best
    passage keeps the first. The same when the question names no company (a user of one filing)."""
    parts = [("Acme's risks are discussed below; Acme has managed its risks for years.", "Item 7 › Overview"),
             ("Acme's risks committee met four times in the year to review Acme's risks.", "Item 10 › Governance"),
             ("Our supplier of glass may fail to deliver, and we may lose sales.", "Item 1A. Risk Factors")]
    embedder = HashingEmbedder()
    store = _acme_filing(tmp_path, parts, embedder)
    steer = steering([PACK], {"acme.pdf": ACME})
    assert steer is not None

    def sections(steer: Steering | None) -> list[str]:
        hits = HybridRetriever(store=store.open(), embedder=embedder, k=2, steer=steer).search(question)
        return [hit.chunk.section for hit in hits]

    assert steer(question).topics
    assert sections(lambda q: Steer(routed=steer(q).routed)) == ["Item 7 › Overview", "Item 10 › Governance"]
    assert sections(steer) == ["Item 7 › Overview", "Item 1A. Risk Factors"]


# ---------------------------------------------------------------- a table is read whole


def _indexed(root: Path, html: str) -> Index:
    """One HTML file indexed in small passages (60 words), so a table of a few dozen rows is cut into several."""
    (root / "corpus").mkdir()
    (root / "corpus" / "notes.html").write_text(html)
    doc = load_document(root / "corpus" / "notes.html", root / "corpus")
    chunks = chunk_document(doc, lambda texts: [len(t.split()) for t in texts], max_tokens=60, overlap_tokens=0)
    embedder = HashingEmbedder()
    store = FolderStore(root / "index")
    store.write(IndexInfo(embedder.name, embedder.dim, {}),
                {doc.source: NewFile("sha", chunks, embedder.embed_documents([c.text for c in chunks]))},
                set(), None, lambda *_: None)
    return store.open()


def _table_index(root: Path) -> Index:
    rows = "".join(f"<tr><td>Line item number {n}</td><td>{n},100</td><td>{n},050</td></tr>" for n in range(1, 40))
    return _indexed(root, f"<html><body><p>Notes.</p><table><tr><td></td><td>2019</td><td>2018</td></tr>{rows}"
                          "<tr><td>Balance at end of period</td><td>$13,162</td><td>$15,990</td></tr></table>"
                          "<p>Unrelated prose about the weather and the river.</p></body></html>")


def test_the_passages_holding_the_rest_of_a_cut_table_are_added_nearest_first(tmp_path: Path) -> None:
    index = _table_index(tmp_path)
    table_chunks = [index.chunk(k) for k in range(len(index)) if index.chunk(k).tables]
    assert len(table_chunks) >= 3  # the table is cut into several passages
    retriever = HybridRetriever(store=index, embedder=HashingEmbedder(), k=1)
    hits = retriever.search("line item number 1 2019")
    assert hits[0].chunk.tables and hits[0].key is not None
    added = rest_of_tables(index, hits)
    assert [h.chunk.start for h in added] == sorted(h.chunk.start for h in added)  # after the hit, in order
    assert all(h.chunk.tables and h.chunk.id != hits[0].chunk.id for h in added) and len(added) == 2
    everything = rest_of_tables(index, hits, limit=100)
    assert "Balance at end of period" in " ".join(h.chunk.text for h in everything)
    assert "weather" not in " ".join(h.chunk.text for h in everything)  # prose after the table is not added
    assert rest_of_tables(index, [Hit(hits[0].chunk, 1.0)]) == []  # a passage not from the store: no neighbours


def test_the_engine_reads_the_row_in_the_passage_after_the_one_retrieved(tmp_path: Path) -> None:
    """"Other" under "Deferred tax liabilities" is in the table's last passage, whose words are not the
    question's; the first passage, which holds the heading, is the one retrieved. Read whole, the table
    answers; read as retrieved, no row is surely the one asked."""
    from rag.answer.extractive import ExtractiveAnswerer
    from rag.app.engine import Engine

    rows = "".join(f"<tr><td>Depreciation {n}</td><td>{n}1</td><td>{n}2</td></tr>" for n in range(1, 14))
    index = _indexed(tmp_path, "<html><body><table><tr><td></td><td>2019</td><td>2018</td></tr>"
                               f"<tr><td>Deferred tax liabilities:</td><td></td><td></td></tr>{rows}"
                               "<tr><td>Other</td><td>16</td><td>29</td></tr></table></body></html>")
    embedder = HashingEmbedder()
    retriever = HybridRetriever(store=index, embedder=embedder, k=1)
    question = "What was the other deferred tax liabilities in 2019?"
    first = retriever.search(question)[0].chunk
    assert "Deferred tax liabilities" in first.text and "Other" not in first.text
    answer = Engine(retriever, ExtractiveAnswerer(embedder)).ask(question)
    assert answer.short is not None and answer.short.value == "16"
    assert answer.short.row == "Deferred tax liabilities, Other"


def test_a_figure_asked_is_read_from_the_nearest_table_when_the_passages_found_are_prose(tmp_path: Path) -> None:
    """The prose about deferred tax assets outranks the table that holds the figure; a question asking a
    period's figure searches deeper for the nearest passage holding a table, and reads it."""
    from rag.answer.extractive import ExtractiveAnswerer
    from rag.app.engine import Engine
    from rag.retrieve.tables import nearest_tables

    prose = " ".join(["Deferred tax assets are reviewed each year for realizability of the deferred tax assets."] * 8)
    rows = "".join(f"<tr><td>Loss carryforward {n}</td><td>{n}1</td><td>{n}2</td></tr>" for n in range(1, 4))
    index = _indexed(tmp_path, f"<html><body><p>{prose}</p><p>{prose}</p><table><tr><td></td><td>2019</td>"
                               f"<td>2018</td></tr>{rows}<tr><td>Valuation allowance</td><td>(1,200)</td>"
                               "<td>(900)</td></tr></table></body></html>")
    embedder = HashingEmbedder()
    retriever = HybridRetriever(store=index, embedder=embedder, k=1)
    question = "What was the valuation allowance of the deferred tax assets in 2019?"
    hits = retriever.search(question)
    assert not hits[0].chunk.tables  # the passage found is prose
    added = nearest_tables(retriever.search(question, 4), hits)
    assert len(added) == 1 and added[0].chunk.tables
    assert nearest_tables(retriever.search(question, 4), hits + added) == []  # nothing twice
    answer = Engine(retriever, ExtractiveAnswerer(embedder)).ask(question)
    assert answer.short is not None and answer.short.value == "(1,200)"


# ---------------------------------------------------------------- a question about a name the documents hold


def _month(n: int) -> str:
    return "Mar." if n < 3 else "March"


def _named_store(root: Path) -> Index:
    """An article naming CoreWeave among 29 filings that share its other words (and write "Mar." for March)."""
    texts = {"article.md": "CoreWeave reaffirmed full-year CapEx guidance of $20 to $23 billion for its data centers.",
             **{f"filing-{n}.txt": f"Capital expenditures for property and equipment were ${n},222 million in fiscal "
                                   f"2025; capital expenditures will rise. The quarter ended {_month(n)} 31."
                for n in range(1, 30)}}
    return _texts_store(root, texts).open()


def _texts_store(root: Path, texts: dict[str, str]) -> FolderStore:
    """Each text saved as a file of root/corpus, loaded, chunked and indexed in root/index (hashing vectors)."""
    (root / "corpus").mkdir()
    embedder = HashingEmbedder()
    new = {}
    for name, text in texts.items():
        (root / "corpus" / name).write_text(text)
        doc = load_document(root / "corpus" / name, root / "corpus")
        chunks = chunk_document(doc, lambda ts: [len(t.split()) for t in ts], max_tokens=60, overlap_tokens=0)
        new[doc.source] = NewFile("sha", chunks, embedder.embed_documents([c.text for c in chunks]))
    store = FolderStore(root / "index")
    store.write(IndexInfo(embedder.name, embedder.dim, {}), new, set(), None, lambda *_: None)
    return store


def test_a_filing_that_mentions_a_rare_name_is_not_searched_as_the_questions(tmp_path: Path) -> None:
    """Acme's 10-K names CoreWeave as a customer: a question about CoreWeave is scoped to the article and the
    filing that hold the name, and the filing is not routed to as if the question were Acme's."""
    texts = {"article.md": "CoreWeave reaffirmed full-year CapEx guidance of $20 to $23 billion for its data centers.",
             "acme-10k.txt": "Our customers include CoreWeave. Purchases of property and equipment were $1,577 "
                             "million in fiscal 2025.",
             **{f"notes-{n}.txt": f"The committee met {n} times in the year to review its charter." for n in range(28)}}
    store, embedder = _texts_store(tmp_path, texts), HashingEmbedder()
    steer = steering([PACK], {"acme-10k.txt": ACME, **dict.fromkeys(set(texts) - {"acme-10k.txt"})})
    question = "What capex guidance did CoreWeave reaffirm for its data centers?"

    def sources(steer: Steering | None) -> list[str]:
        return [h.chunk.source for h in HybridRetriever(store=store.open(), embedder=embedder, k=2,
                                                        steer=steer).search(question)]

    assert steer is not None and steer(question).routed == frozenset()
    assert sources(steer) == sources(None) == ["article.md", "acme-10k.txt"]


def test_a_rare_name_the_question_uses_scopes_its_search_to_the_documents_holding_it(tmp_path: Path) -> None:
    retriever = HybridRetriever(store=_named_store(tmp_path), embedder=HashingEmbedder(), k=3)
    hits = retriever.search("How much does CoreWeave plan to spend on capital expenditures in 2025?")
    assert [h.chunk.source for h in hits] == ["article.md"]
    assert retriever.documents_named("What did CoreWeave say?") == {"article.md"}
    # "Mars" is stemmed as "Mar." is, and two filings write "Mar.", none "Mars": no document is named.
    assert retriever.documents_named("What is the boiling point of water on Mars?") is None
    # A name most passages hold ("March") names no one document.
    assert retriever.documents_named("What were the capital expenditures in the quarter ended in March?") is None
