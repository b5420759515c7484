"""The bench corpus and the real chunks and vectors the synthetic indexes are grown from.

The shipped corpus and the SQuAD articles are only ~350 chunks, too few for throughput to
settle, so their files are copied under new names until the product's own chunking
(200 tokens, 40 overlap) yields the target number of chunks. Every copy is a separate
file to the ingest, so nothing is deduplicated away and the work is that of a real corpus
of that size.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.perf.env import BUILD, QUESTION_SETS, ROOT, SHARED
from rag.chunk import chunk_document
from rag.eval.questions import load_questions
from rag.ingest import SPLITTER
from rag.load.corpus import list_corpus, load_document
from rag.types import Chunk

SOURCES = (ROOT / "corpus", SHARED / "corpus")
CHUNK_TOKENS, CHUNK_OVERLAP = 200, 40

Counter = Callable[[Sequence[str]], list[int]]


def source_files() -> list[Path]:
    files: list[Path] = []
    for folder in SOURCES:
        files.extend(list_corpus(folder)[0])
    return files


def chunk_file(path: Path, count: Counter, max_tokens: int) -> list[Chunk]:
    """The chunks the product's ingest makes of one file."""
    return chunk_document(load_document(path, path.parent), count, max_tokens, CHUNK_OVERLAP)


def build_corpus(target_chunks: int, count: Counter, max_tokens: int) -> tuple[Path, int]:
    """A folder of the source files plus renamed copies, holding about `target_chunks` chunks.

    Files are added one at a time, cycling through the sources, until the target is
    reached: ['a.txt', 'b.txt', 'a--r01.txt', 'b--r01.txt', ...].
    """
    files = source_files()
    sizes = [len(chunk_file(p, count, max_tokens)) for p in files]
    folder = BUILD / f"corpus-{target_chunks}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    total, n = 0, 0
    while total < target_chunks:
        path, size = files[n % len(files)], sizes[n % len(files)]
        copy = n // len(files)
        name = path.name if copy == 0 else f"{path.stem}--r{copy:02d}{path.suffix}"
        shutil.copyfile(path, folder / name)
        total, n = total + size, n + 1
    return folder, total


def corpus_megabytes(folder: Path) -> float:
    """Text volume of a corpus in MB (10^6 bytes of UTF-8 files)."""
    return sum(p.stat().st_size for p in list_corpus(folder)[0]) / 1e6


def base_chunks(folder: Path, count: Counter, max_tokens: int) -> list[Chunk]:
    """Chunks of a corpus in the order the ingest stores them (by source)."""
    chunks: list[Chunk] = []
    for path in list_corpus(folder)[0]:
        chunks.extend(chunk_document(load_document(path, folder), count, max_tokens, CHUNK_OVERLAP))
    return chunks


def chunking_settings(max_tokens: int) -> dict[str, int | str]:
    return {"max_tokens": max_tokens, "overlap_tokens": CHUNK_OVERLAP, "splitter": SPLITTER}


def save_base(folder: Path, chunks: Sequence[Chunk], vectors: np.ndarray, info: dict[str, object]) -> Path:
    """Keep the real chunks and vectors where index-building subprocesses can read them."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "chunks.jsonl").open("w", encoding="utf-8") as fh:
        for chunk in chunks:
            fh.write(json.dumps(chunk.to_json(), ensure_ascii=False) + "\n")
    np.save(folder / "vectors.npy", vectors.astype(np.float32), allow_pickle=False)
    (folder / "info.json").write_text(json.dumps(info, indent=2), "utf-8")
    return folder


def load_base(folder: Path) -> tuple[list[Chunk], np.ndarray, dict[str, Any]]:
    with (folder / "chunks.jsonl").open(encoding="utf-8") as fh:
        chunks = [Chunk.from_json(json.loads(line)) for line in fh]
    vectors = np.load(folder / "vectors.npy", allow_pickle=False)
    return chunks, vectors, json.loads((folder / "info.json").read_text("utf-8"))


def base_key(folder: Path, model: str, max_tokens: int) -> str:
    """Cache key of a base: its files' contents, the model and the chunking."""
    digest = hashlib.sha256(f"{model}|{max_tokens}|{CHUNK_OVERLAP}|{SPLITTER}".encode())
    for path in list_corpus(folder)[0]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def questions(limit: int | None = None) -> dict[str, list[str]]:
    """Question texts of each question set (the `question` field), the first `limit` of each."""
    return {name: [q.question for q in load_questions(qa)][:limit] for name, (qa, _) in QUESTION_SETS.items()}
