"""A corpus, its index and the engine over it, kept in step for a long-running app.

The UI adds and removes documents while people keep asking questions: writers take a
lock and re-ingest incrementally, then swap in a new engine; readers keep using the
engine they started with, so a question in flight never sees a half-built index.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.answer.extractive import ExtractiveAnswerer
from rag.app.conversation import standalone
from rag.embed.base import Embedder
from rag.app.engine import Engine, answer_json
from rag.answer.generative import GenerativeAnswerer, condense
from rag.store.folder.store import IndexStore, live_generation
from rag.ingest import IngestReport, ingest
from rag.load.corpus import SUPPORTED_SUFFIXES, LoadError, load_document
from rag.retrieve.hybrid import HybridRetriever
from rag.types import Answer

UPLOAD_DIR = "uploads"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class WorkspaceError(Exception):
    """A request the workspace refuses, with a reason a person can act on."""


@dataclass(frozen=True)
class Refused:
    name: str
    reason: str


def safe_name(name: str) -> str:
    """A file name that cannot leave its folder: '../../etc/passwd' -> 'passwd'.

    Long names are cut to 120 characters keeping the extension, which decides the loader.
    """
    base = re.split(r"[\\/]", name)[-1].strip()
    base = re.sub(r"[^\w.\- ()]", "_", base).lstrip(".") or "upload"
    stem, dot, suffix = base.rpartition(".")
    if dot and stem and len(suffix) <= 10 and len(base) > 120:
        return f"{stem[: 119 - len(suffix)]}.{suffix}"
    return base[:120]


class Workspace:
    def __init__(
        self,
        corpus: Path,
        index: Path,
        embedder: Embedder,
        *,
        k: int = 5,
        chunk_tokens: int = 200,
        chunk_overlap: int = 40,
        feedback_path: Path | None = None,
        chat_model: Any = None,
        generate_options: dict[str, Any] | None = None,
    ) -> None:
        """`chat_model` (a LangChain chat model) turns on generative answers, verified
        sentence by sentence, with the extractive answerer as their fallback."""
        self.corpus = corpus
        self.index = index
        self.embedder = embedder
        self.k = k
        self._chunking = {"chunk_tokens": chunk_tokens, "chunk_overlap": chunk_overlap}
        self.feedback_path = feedback_path or index / "feedback.jsonl"
        self._answerer = ExtractiveAnswerer(embedder)
        self.chat_model = chat_model
        self._answerers: dict[str, Any] = {"extractive": self._answerer}
        if chat_model is not None:
            self._answerers["generative"] = GenerativeAnswerer(chat_model, embedder, self._answerer,
                                                               **(generate_options or {}))
        self._write_lock = threading.Lock()
        self._engines: dict[str, Engine] | None = None

    # ------------------------------------------------------------------ index
    def ingest(self, *, rebuild: bool = False, progress: Any = None) -> IngestReport:
        """Bring the index up to date with the corpus, then serve the new index."""
        with self._write_lock:
            report = ingest(self.corpus, self.index, self.embedder, rebuild=rebuild, progress=progress,
                            **self._chunking)
            self._engines = self._build()
        return report

    def ensure_index(self) -> IngestReport | None:
        """Ingest only when there is no index yet (fast start for `rag ask`)."""
        if live_generation(self.index) is None:
            return self.ingest()
        return None

    def _build(self) -> dict[str, Engine]:
        store = IndexStore.load(self.index)
        retriever = HybridRetriever(store=store, embedder=self.embedder, k=self.k)
        return {mode: Engine(retriever, answerer) for mode, answerer in self._answerers.items()}

    @property
    def modes(self) -> list[str]:
        """Answer modes on offer; the last is the default."""
        return list(self._answerers)

    def engine_for(self, mode: str | None = None) -> Engine:
        if self._engines is None:
            self._engines = self._build()
        return self._engines[mode if mode in self._engines else self.modes[-1]]

    @property
    def engine(self) -> Engine:
        return self.engine_for(None)

    def documents(self) -> list[tuple[str, int]]:
        """(source, chunk count) for every indexed document."""
        return sorted((s, e.chunks) for s, e in self.engine.retriever.store.manifest.files.items())

    def stats(self) -> tuple[int, int]:
        store = self.engine.retriever.store
        return len(store.manifest.files), len(store)

    # ------------------------------------------------------------------ asking
    def standalone(self, question: str, history: Sequence[str] = ()) -> str:
        """The follow-up made standalone: by the LLM when there is one, else by rule."""
        if self.chat_model is not None and history:
            rewritten = condense(self.chat_model, question, history)
            if rewritten:
                return rewritten
        return standalone(question, history)

    def ask(self, question: str, history: Sequence[str] = (), k: int | None = None,
            mode: str | None = None) -> tuple[str, Answer]:
        """Answer a question in a conversation; returns the standalone question too."""
        query = self.standalone(question, history)
        return query, self.engine_for(mode).ask(query, k)

    def stream(self, query: str, k: int | None = None, mode: str | None = None) -> Iterator[str | Answer]:
        """Text as it is verified, then the final Answer (see Engine.stream)."""
        return self.engine_for(mode).stream(query, k)

    def passage_context(self, source: str, start: int, end: int, margin: int = 240) -> tuple[str, str, str]:
        """(before, quote, after) around a citation, for highlighting it in its context."""
        path = self.corpus / source
        try:
            stat = path.stat()
            text = _document_text(str(path), str(self.corpus), stat.st_mtime_ns, stat.st_size)
        except (LoadError, OSError):
            return "", "", ""
        return text[max(0, start - margin) : start], text[start:end], text[end : end + margin]

    # ------------------------------------------------------------------ documents
    def add_files(self, paths: Sequence[Path], names: Sequence[str] | None = None) -> tuple[
            IngestReport | None, list[Refused]]:
        """Copy uploads into the corpus under safe names and index them.

        Each file is checked before it joins the corpus (type, size, readable text), so a
        bad file is refused with its reason and never reaches the index.
        """
        refused: list[Refused] = []
        target = self.corpus / UPLOAD_DIR
        accepted = 0
        for i, path in enumerate(paths):
            shown = names[i] if names else path.name
            name = safe_name(shown)
            suffix = Path(name).suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                refused.append(Refused(shown, f"unsupported file type {suffix or '(none)'!r}; "
                                              f"accepted: {', '.join(sorted(SUPPORTED_SUFFIXES))}"))
                continue
            size = path.stat().st_size
            if size > MAX_UPLOAD_BYTES:
                refused.append(Refused(shown, f"too large ({size // 1_048_576} MB; limit "
                                              f"{MAX_UPLOAD_BYTES // 1_048_576} MB)"))
                continue
            staging = self.index / ".staging"
            staging.mkdir(parents=True, exist_ok=True)
            staged = staging / name
            shutil.copyfile(path, staged)
            try:
                load_document(staged, staging)
            except LoadError as exc:
                refused.append(Refused(shown, exc.reason))
                staged.unlink(missing_ok=True)
                continue
            target.mkdir(parents=True, exist_ok=True)
            staged.replace(target / name)
            accepted += 1
        return (self.ingest() if accepted else None), refused

    def remove(self, source: str) -> IngestReport:
        """Delete a document from the corpus and the index.

        A symlink in the corpus is removed itself, never the file it points to.
        """
        path = self.corpus / source
        try:
            inside = ".." not in Path(source).parts and path.resolve().is_relative_to(self.corpus.resolve())
        except (OSError, RuntimeError):  # a symlink loop
            inside = False
        if not inside or not path.is_file():
            raise WorkspaceError(f"{source!r} is not a document in {self.corpus}")
        path.unlink()
        return self.ingest()

    # ------------------------------------------------------------------ feedback
    def record_feedback(self, question: str, answer: Answer, liked: bool) -> None:
        """Append a rating with the question, answer and citations to the feedback log."""
        record = {"time": time.time(), "liked": liked, **answer_json(answer), "asked": question}
        self.feedback_path.parent.mkdir(parents=True, exist_ok=True)
        with self.feedback_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


@functools.lru_cache(maxsize=64)
def _document_text(path: str, corpus: str, mtime_ns: int, size: int) -> str:
    """Loaded text, cached until the file changes (a PDF is not re-parsed per citation)."""
    return load_document(Path(path), Path(corpus)).text


def feedback_to_questions(lines: Sequence[str]) -> tuple[list[dict[str, Any]], int]:
    """Liked answers become regression questions (their cited sources as evidence); the
    disliked ones are counted for review, since a thumbs-down does not say what is right."""
    out, disliked = [], 0
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not row.get("liked"):
            disliked += 1
            continue
        out.append({
            "id": f"fb{i:04d}", "question": row["question"],
            "answer": None if row.get("abstained") else row["answer"],
            "facts": [], "sources": sorted({c["source"] for c in row.get("citations", [])}),
        })
    return out, disliked
