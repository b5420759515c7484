"""financebench-public end to end: the product against the LangChain tutorial, in one run.

    python -m bench.finance [--index build/bench-finance] [--k K] [--no-baseline] [--out build/bench-finance.json]

`make bench-finance` runs it. It measures, on the 20 filings and 39 analysts' questions of
financebench-public (and the unanswerable questions written for them in tests/eval/):
- ingest of the 20 filings into a fresh index (seconds by stage, chunks);
- the product's evaluation, as `rag eval` computes it: page_hit_at_k, cited_page_hit, abstention, latency
  (one warm process, the model loaded and a question asked before the clock starts);
- what each retrieval technique adds: page hit at k of the product's retriever with what the finance pack adds
  (routing, the statements' wording, section steering) taken away, on the same index;
- the LangChain RAG tutorial on the same files and questions: PyPDFLoader, RecursiveCharacterTextSplitter
  1000/200, HuggingFaceEmbeddings with the same MiniLM model, FAISS, similarity search; page hit at k and at 10.

A page hit: one of the top k passages comes from the question's filing and lies on, or runs onto, one of
its evidence pages (1-based, as the question set lists them). Prints a table, writes every figure to --out.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bench.paths import BUILD, FINANCE, UNANSWERABLE
from rag.app.build import build
from rag.app.workspace import Workspace
from rag.config import BUNDLED_MODEL, K, Settings, resolve_model_path
from rag.eval.metrics import page_hit
from rag.eval.questions import Question, load_questions
from rag.eval.runner import run_eval
from rag.load.corpus import load_document
from rag.packs import Steer
from rag.types import Document

SUMMARY = ("page_hit_at_k", "cited_page_hit", "false_abstention_rate", "citation_precision", "latency_p50_ms",
           "latency_p95_ms")


def product(corpus: Path, index: Path, k: int) -> tuple[Workspace, dict[str, Any]]:
    """Ingest into a fresh index, then evaluate both question sets through the workspace, as `rag eval` does."""
    ws = build(Settings(corpus=corpus, index=index, k=k))
    t0 = time.perf_counter()
    report = ws.ingest(rebuild=True)
    ingest = {"seconds": round(time.perf_counter() - t0, 2), "chunks": report.chunks_total, "files": report.added,
              "stages": {s: round(v, 2) for s, v in report.stages.items()}, "failed": report.failed}
    print(f"ingest: {ingest['seconds']} s, {ingest['chunks']} chunks, stages {ingest['stages']}", flush=True)
    engine = ws.engine_for("extractive")
    engine.ask("What does the company do?")  # warm: the model's first call, outside the clock
    answered = run_eval(engine, load_questions(FINANCE / "qa.jsonl"), corpus, ws.embedder.embed_documents)
    unanswerable = run_eval(engine, load_questions(UNANSWERABLE), corpus, ws.embedder.embed_documents)
    return ws, {"ingest": ingest, "summary": answered.summary, "unanswerable": unanswerable.summary,
                "results": answered.results, "unanswerable_results": unanswerable.results}


def ablations(ws: Workspace, questions: list[Question], documents: dict[str, Document], k: int) -> dict[str, Any]:
    """Page hit at k of the product's retriever with what the finance pack adds taken away, one part at a time."""
    product = ws.retriever
    steer = product.steer

    def without(*parts: str) -> Any:
        if steer is None:
            return None
        return lambda question: dataclasses.replace(steer(question), **{part: getattr(Steer(), part) for part in parts})

    settings = {"hybrid (no pack)": None, "+ routing": without("wording", "sections"),
                "+ routing and wording": without("sections"), "+ routing, wording and sections (the product)": steer}
    out = {}
    for name, variant in settings.items():
        retriever = product.model_copy(update={"steer": variant})
        hits = sum(page_hit(spans(retriever.search(q.question, k), documents), q.sources, q.pages) for q in questions)
        out[name] = {"hits": hits, "rate": round(hits / len(questions), 3)}
    return out


def spans(hits: list[Any], documents: dict[str, Document]) -> list[tuple[str, int | None, int | None]]:
    out = []
    for hit in hits:
        chunk, doc = hit.chunk, documents.get(hit.chunk.source)
        last = doc.page_at(max(chunk.start, chunk.end - 1)) if doc is not None else chunk.page
        out.append((chunk.source, chunk.page, last))
    return out


def langchain_tutorial(corpus: Path, questions: list[Question], ks: tuple[int, ...]) -> dict[str, Any]:
    """The LangChain RAG tutorial's pipeline on the same PDFs, timed, and its page hits at each k."""
    from langchain_community.document_loaders import PyPDFLoader
    from langchain_community.vectorstores import FAISS
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from langchain_huggingface import HuggingFaceEmbeddings
        except ImportError:
            from langchain_community.embeddings import HuggingFaceEmbeddings  # type: ignore[no-redef]
        embeddings = HuggingFaceEmbeddings(model_name=resolve_model_path(BUNDLED_MODEL))
    t0 = time.perf_counter()
    pages = [page for path in sorted(corpus.glob("*.pdf")) for page in PyPDFLoader(str(path)).load()]
    t1 = time.perf_counter()
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(pages)
    store = FAISS.from_documents(splits, embeddings)
    t2 = time.perf_counter()
    print(f"langchain tutorial: {len(splits)} chunks, load {t1 - t0:.1f} s, split+embed {t2 - t1:.1f} s", flush=True)
    out: dict[str, Any] = {"chunks": len(splits),
                           "seconds": {"load": round(t1 - t0, 2), "split+embed": round(t2 - t1, 2)}}
    latencies = []
    found = {k: 0 for k in ks}
    for q in questions:
        t = time.perf_counter()
        docs = store.similarity_search(q.question, k=max(ks))
        latencies.append(1000 * (time.perf_counter() - t))
        for k in ks:
            hit = [(Path(d.metadata["source"]).name, d.metadata["page"] + 1, d.metadata["page"] + 1) for d in docs[:k]]
            found[k] += page_hit(hit, q.sources, q.pages)
    out["page_hit"] = {str(k): {"hits": n, "rate": round(n / len(questions), 3)} for k, n in found.items()}
    out["search_p50_ms"] = round(statistics.median(latencies), 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=BUILD / "bench-finance")
    parser.add_argument("--k", type=int, default=K)
    parser.add_argument("--no-baseline", action="store_true", help="skip the LangChain tutorial (about 8 minutes)")
    parser.add_argument("--out", type=Path, default=BUILD / "bench-finance.json")
    args = parser.parse_args()
    corpus = FINANCE / "corpus"
    questions = load_questions(FINANCE / "qa.jsonl")
    ws, measured = product(corpus, args.index, args.k)
    documents = {s: load_document(corpus / s, corpus) for s in sorted({s for q in questions for s in q.sources})}
    measured["ablations"] = ablations(ws, questions, documents, args.k)
    if not args.no_baseline:
        measured["langchain_tutorial"] = langchain_tutorial(corpus, questions, (args.k, 10))

    s, u = measured["summary"], measured["unanswerable"]
    print(f"\nfinancebench-public, {len(questions)} questions, k = {args.k}")
    print("| | page_hit_at_k | cited_page_hit | abstained | answer p50 ms |")
    print("|---|---|---|---|---|")
    print(f"| rag | {s['page_hit_at_k']:.3f} | {s['cited_page_hit']:.3f} | {s['false_abstention_rate']:.3f} "
          f"| {s['latency_p50_ms']} |")
    if "langchain_tutorial" in measured:
        lc = measured["langchain_tutorial"]["page_hit"]
        print(f"| LangChain tutorial | {lc[str(args.k)]['rate']:.3f} (at 10: {lc['10']['rate']:.3f}) | | | |")
    print(f"\nunanswerable ({u['unanswerable']} questions): abstained on {u['abstention_recall']:.3f}")
    print("\nretrieval, page hit at k:")
    for name, row in measured["ablations"].items():
        print(f"  {name:<40}{row['rate']:.3f} ({row['hits']}/{len(questions)})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"k": args.k, "date": time.strftime("%Y-%m-%d"), **measured}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
