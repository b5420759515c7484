"""Whole ingest, chunk quality and evidence-page hit@k of financebench-public, with the old or the new PDF loader.

    python -m bench.pdf_pages --loader {pypdf,rag} [--index build/pdf-pages-LOADER] [--k 10] [--start-page-only]

The before and after of moving PDF loading from pypdf to pypdfium2, end to end. `--loader pypdf` is the
product's PDF loader as it was before the move (pages' text joined by a blank line, copied below as
`load_pdf_pypdf`), put in place of `rag.load.pdf.load_pdf` for this run; `--loader rag` is the current loader.
The corpus is rebuilt into its own index with the bundled model, timed, and then measured:
- chunk quality, as shares of all chunks: a control character, a split word, the running header "Table of
  Contents", a line that is only a page number (the measures of bench/pdf_parsers.py, read per chunk);
- page hit@k: a question counts when one of its top k passages comes from a source file of the question and lies
  on one of its evidence pages. A passage can run onto the next page, so it counts when any page from its
  first to its last is an evidence page; `--start-page-only` counts its first page only.
Writes every figure, and each question's hits, to build/pdf_pages-LOADER.json.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pypdf

import rag.ingest
import rag.load.corpus
from bench.paths import BUILD, FINANCE
from bench.pdf_parsers import CONTROL, is_page_number, normalise, split_words
from rag.app.build import build
from rag.config import Settings
from rag.load.base import SEP, Loaded, LoadError, PageProgress
from rag.retrieve.hybrid import HybridRetriever
from rag.store.base import Index
from rag.types import Chunk, Document

# The running header, also when pypdf cuts it into "T\nable of \nContents".
RUNNING_HEADER = re.compile(r"T\s*able\s+of\s+C\s*ontents")


def load_pdf_pypdf(data: bytes, source: str, progress: PageProgress | None = None) -> Loaded:
    """The loader before pypdfium2 (`git show 7bd8207:rag/load/pdf.py`), returning `Loaded`; `progress` is ignored.

    No sections: PDFs carry no heading markup (bookmarks point at pages, not text).
    """
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        # Many PDFs are "encrypted" only to restrict printing, with an empty password.
        locked = reader.is_encrypted and not reader.decrypt("")
        pages = [] if locked else [page.extract_text() or "" for page in reader.pages]
        title = "" if locked or not reader.metadata else (reader.metadata.title or "").strip()
    except pypdf.errors.DependencyError as error:  # AES needs the cryptography package
        raise LoadError(source, f"encrypted PDF ({error})") from error
    except Exception as error:  # a damaged file fails in many ways deep inside pypdf
        raise LoadError(source, f"could not be read as PDF: {error}") from error
    if locked:
        raise LoadError(source, "encrypted PDF")
    ends = itertools.accumulate(len(page) + len(SEP) for page in pages)
    page_starts = [0, *ends][: len(pages)]
    return Loaded(SEP.join(pages), title or None, page_starts=page_starts, sections=[])


def keep_documents(documents: dict[str, Document]) -> None:
    """Keep each Document ingest loads, so a chunk's last page is known without loading the file a second time.

    Ingest drops a Document once it is chunked; this wraps the `load_document` name it calls.
    """
    load = rag.ingest.load_document

    def loading(path: Path, root: Path, progress: PageProgress | None = None) -> Document:
        doc = load(path, root, progress)
        documents[doc.source] = doc
        return doc

    rag.ingest.load_document = loading  # type: ignore[assignment]


def ticker() -> Callable[[str, int, int], None]:
    """Ingest progress for the log: each stage's start and end, and every tenth of the embedding."""
    last: dict[str, int] = {}

    def tick(stage: str, done: int, total: int) -> None:
        step = max(1, total // 10) if stage == "embed" else max(1, total)
        if stage not in last or done == total or done // step > last[stage] // step:
            print(f"  {time.strftime('%H:%M:%S')} {stage} {done}/{total}", flush=True)
        last[stage] = done

    return tick


def chunk_quality(index: Index) -> dict[str, Any]:
    """Shares of all chunks with a control character, a split word, the running header, a page-number line."""
    counts = {"control": 0, "split_word": 0, "running_header": 0, "page_number_line": 0}
    for i in range(len(index)):
        text = normalise(index.chunk(i).text)
        counts["control"] += CONTROL.search(text) is not None
        counts["split_word"] += split_words(text) > 0
        counts["running_header"] += RUNNING_HEADER.search(text) is not None
        counts["page_number_line"] += any(is_page_number(line) for line in text.split("\n"))
    n = len(index)
    return {"chunks": n, **{f"{k}_share": round(v / n, 4) for k, v in counts.items()}, "counts": counts}


def pages_of(chunk: Chunk, documents: dict[str, Document] | None) -> range:
    """The 1-based pages a chunk lies on: its start page only, or through the page of its last character."""
    first = chunk.page or 0
    if documents is None:
        return range(first, first + 1)
    last = documents[chunk.source].page_at(max(chunk.start, chunk.end - 1)) or first
    return range(first, last + 1)


def page_hits(retriever: HybridRetriever, questions: list[dict[str, Any]],
              documents: dict[str, Document] | None) -> list[dict[str, Any]]:
    """Per question: its top passages (source, pages) and the 1-based rank of the first on an evidence page.

    `first_rank_start` reads the start page only; `first_rank` (with documents) the whole span.
    """
    rows = []
    for q in questions:
        sources, evidence = set(q["sources"]), set(q["pages"])
        row: dict[str, Any] = {"id": q["id"], "sources": q["sources"], "pages": q["pages"], "hits": [],
                               "first_rank_start": None, "first_rank": None}
        for rank, hit in enumerate(retriever.search(q["question"]), start=1):
            chunk = hit.chunk
            start, span = pages_of(chunk, None), pages_of(chunk, documents)
            row["hits"].append({"source": chunk.source, "first_page": span[0], "last_page": span[-1]})
            if chunk.source not in sources:
                continue
            if row["first_rank_start"] is None and evidence.intersection(start):
                row["first_rank_start"] = rank
            if documents is not None and row["first_rank"] is None and evidence.intersection(span):
                row["first_rank"] = rank
        rows.append(row)
    return rows


def hit_rate(rows: list[dict[str, Any]], field: str, k: int) -> dict[str, Any]:
    hits = sum(row[field] is not None for row in rows)
    return {"k": k, "hits": hits, "questions": len(rows), "rate": round(hits / len(rows), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loader", required=True, choices=["pypdf", "rag"])
    parser.add_argument("--index", type=Path, help="index folder (default build/pdf-pages-LOADER)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--start-page-only", action="store_true",
                        help="count a passage on its first page only (no Documents kept for end pages)")
    parser.add_argument("--corpus", type=Path, default=FINANCE / "corpus")
    parser.add_argument("--qa", type=Path, default=FINANCE / "qa.jsonl")
    args = parser.parse_args()
    index_dir = args.index or BUILD / f"pdf-pages-{args.loader}"
    out_path = BUILD / f"pdf_pages-{args.loader}.json"
    questions = [json.loads(line) for line in args.qa.read_text().splitlines() if line.strip()]

    if args.loader == "pypdf":
        rag.load.corpus.load_pdf = load_pdf_pypdf  # load_document calls it by this module-level name
    documents: dict[str, Document] = {}
    if not args.start_page_only:
        keep_documents(documents)
    ws = build(Settings(corpus=args.corpus, index=index_dir, k=args.k))
    print(f"ingest {args.corpus} with the {args.loader} loader into {index_dir}", flush=True)
    t0 = time.perf_counter()
    report = ws.ingest(rebuild=True, progress=ticker())
    wall = time.perf_counter() - t0
    stages = {k: round(v, 2) for k, v in report.stages.items()}
    print(f"ingest {wall:.1f} s (report {report.seconds:.1f} s), stages {stages}, chunks_total {report.chunks_total}, "
          f"files {report.added}, failed {report.failed}")

    index = ws.store.open()
    quality = chunk_quality(index)
    print("chunks " + ", ".join(f"{k} {v}" for k, v in quality.items() if k != "counts"))

    if not args.start_page_only:  # a file ingest did not load (none, normally) is loaded here, once
        for source in {c for q in questions for c in q["sources"]} - set(documents):
            documents[source] = rag.load.corpus.load_document(args.corpus / source, args.corpus)
    retriever = ws.retriever  # the product's, with the packs the filings switch on
    t0 = time.perf_counter()
    rows = page_hits(retriever, questions, None if args.start_page_only else documents)
    search_seconds = time.perf_counter() - t0
    hit = {"start_page": hit_rate(rows, "first_rank_start", args.k)}
    if not args.start_page_only:
        hit["span"] = hit_rate(rows, "first_rank", args.k)
    for key, h in hit.items():
        label = "start page only" if key == "start_page" else "start to end page"
        print(f"page_hit@{args.k} {h['rate']:.3f} ({h['hits']}/{h['questions']}) [{label}]")

    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps({
        "loader": args.loader, "corpus": str(args.corpus), "qa": str(args.qa), "index": str(index_dir),
        "date": time.strftime("%Y-%m-%d"), "cores": os.cpu_count(),
        "ingest": {"wall_seconds": round(wall, 2), "seconds": round(report.seconds, 2), "stages": stages,
                   "chunks_total": report.chunks_total, "files": report.added, "failed": report.failed},
        "chunk_quality": quality, "page_hit": hit, "search_seconds": round(search_seconds, 2), "questions": rows,
    }, indent=1))
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
