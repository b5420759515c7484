"""A corpus, its index and the engine over it, kept in step for a long-running app.

The UI adds and removes documents while people keep asking questions: writers take a
lock and re-ingest incrementally, then swap in a new engine; readers keep using the
engine they started with, so a question in flight never sees a half-built index.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rag.answer.extractive import ANSWER_CACHE, ExtractiveAnswerer
from rag.answer.generative import GenerativeAnswerer
from rag.app import feedback, uploads
from rag.app.conversation import condense, standalone
from rag.app.engine import Answerer, Engine
from rag.app.uploads import Refused
from rag.config import CHUNK_OVERLAP, CHUNK_TOKENS, K
from rag.embed.base import CachedEmbedder, Embedder
from rag.ingest import IngestReport, ingest
from rag.load.corpus import LoadError, load_document
from rag.load.pdf.render import render_quote
from rag.retrieve.expand import expansions
from rag.retrieve.hybrid import HybridRetriever
from rag.retrieve.route import Router
from rag.store.base import Index, IndexInfo, ProgressFn, Store
from rag.store.folder.store import FolderStore
from rag.types import Answer, Document, Profile


class WorkspaceError(Exception):
    """A request the workspace refuses, with a reason a person can act on."""


class Workspace:
    def __init__(
        self,
        corpus: Path,
        index: Path,
        embedder: Embedder,
        *,
        store: Store | None = None,
        k: int = K,
        chunk_tokens: int = CHUNK_TOKENS,
        chunk_overlap: int = CHUNK_OVERLAP,
        feedback_path: Path | None = None,
        chat_model: Any = None,
        generate_options: dict[str, Any] | None = None,
    ) -> None:
        """`index` is the folder for the workspace's own files (upload staging, the feedback
        log) and, unless `store` names another, the folder index itself. `chat_model` (a
        LangChain chat model) turns on generative answers, verified sentence by sentence,
        with the extractive answerer as their fallback."""
        self.corpus = corpus
        self.index = index
        self.store: Store = store or FolderStore(index)
        self.embedder = embedder
        self.k = k
        self._chunking = {"chunk_tokens": chunk_tokens, "chunk_overlap": chunk_overlap}
        self.feedback_path = feedback_path or index / "feedback.jsonl"
        # One cache for the retriever's and the answerer's question vectors and the answer's sentences.
        self._cached = CachedEmbedder(embedder, ANSWER_CACHE)
        extractive = ExtractiveAnswerer(self._cached)
        self.chat_model = chat_model
        self._answerers: dict[str, Answerer] = {"extractive": extractive}
        if chat_model is not None:
            self._answerers["generative"] = GenerativeAnswerer(chat_model, embedder, extractive,
                                                               **(generate_options or {}))
        self._write_lock = threading.Lock()
        self._live: tuple[Index, dict[str, Engine]] | None = None
        # Loaded documents for citation context and page images, until the file changes (a PDF is
        # not re-parsed per citation); a filing with its line positions weighs megabytes, hence few.
        self._document = functools.lru_cache(maxsize=16)(self._load)
        # The chat re-renders every answer it shows, and an answer rarely cites more than a few pages.
        self._page = functools.lru_cache(maxsize=32)(self._render)

    # ------------------------------------------------------------------ index
    def ingest(self, *, rebuild: bool = False, progress: ProgressFn | None = None) -> IngestReport:
        """Bring the index up to date with the corpus, then serve the new index."""
        with self._write_lock:
            report = ingest(self.corpus, self.store, self.embedder, rebuild=rebuild, progress=progress,
                            **self._chunking)
            self._live = self._build()
        return report

    def ensure_index(self) -> IngestReport | None:
        """Ingest only when there is no index yet (fast start for `rag ask`)."""
        return None if self.store.exists() else self.ingest()

    def _build(self) -> tuple[Index, dict[str, Engine]]:
        index = self.store.open()
        router = Router.from_profiles({source: entry.profile for source, entry in index.files().items()})
        retriever = HybridRetriever(store=index, embedder=self._cached, k=self.k, router=router, expand=expansions)
        return index, {mode: Engine(retriever, answerer) for mode, answerer in self._answerers.items()}

    def _current(self) -> tuple[Index, dict[str, Engine]]:
        if self._live is None:
            self._live = self._build()
        return self._live

    @property
    def modes(self) -> list[str]:
        """Answer modes on offer; the last is the default."""
        return list(self._answerers)

    def engine_for(self, mode: str | None = None) -> Engine:
        engines = self._current()[1]
        return engines[mode if mode in engines else self.modes[-1]]

    @property
    def engine(self) -> Engine:
        return self.engine_for(None)

    def index_info(self) -> IndexInfo:
        """What the served index was built with (the CLI checks it against the settings)."""
        return self._current()[0].info

    def documents(self) -> list[tuple[str, int]]:
        """(source, chunk count) for every indexed document."""
        return sorted((s, e.chunks) for s, e in self._current()[0].files().items())

    def document_rows(self) -> list[tuple[str, int, str]]:
        """(source, chunk count, what the document is: "3M Company · 10-K · FY2018" or "")."""
        return sorted((s, e.chunks, e.profile.label() if e.profile else "")
                      for s, e in self._current()[0].files().items())

    def profiles(self) -> dict[str, Profile | None]:
        """What each indexed document is, as far as loading could tell, by source."""
        return {s: e.profile for s, e in self._current()[0].files().items()}

    def stats(self) -> tuple[int, int]:
        index = self._current()[0]
        return len(index.files()), len(index)

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
        document = self.document(source)
        if document is None:
            return "", "", ""
        text = document.text
        return text[max(0, start - margin) : start], text[start:end], text[end : end + margin]

    def page_image(self, source: str, start: int, end: int) -> tuple[int, bytes] | None:
        """(page number, PNG) of a PDF citation's page with the quote highlighted; None for other
        formats and for a file that can no longer be read or drawn."""
        path = self.corpus / source
        try:
            stat = path.stat()
        except OSError:
            return None
        return self._page(str(path), start, end, stat.st_mtime_ns, stat.st_size)

    def document(self, source: str) -> Document | None:
        """The document as loaded now (cached until the file changes); None if it cannot be read."""
        path = self.corpus / source
        try:
            stat = path.stat()
            return self._document(str(path), stat.st_mtime_ns, stat.st_size)
        except (LoadError, OSError):
            return None

    def _load(self, path: str, mtime_ns: int, size: int) -> Document:
        return load_document(Path(path), self.corpus)

    def _render(self, path: str, start: int, end: int, mtime_ns: int, size: int) -> tuple[int, bytes] | None:
        try:
            document = self._document(path, mtime_ns, size)
        except (LoadError, OSError):
            return None
        return render_quote(Path(path), document.lines, start, end)

    # ------------------------------------------------------------------ documents
    def add_files(self, paths: Sequence[Path], names: Sequence[str] | None = None) -> tuple[
            IngestReport | None, list[Refused]]:
        """Copy uploads into the corpus under safe names and index them; each file is checked
        before it joins the corpus, so a bad one is refused with its reason."""
        refused: list[Refused] = []
        for i, path in enumerate(paths):
            refusal = uploads.admit(path, names[i] if names else path.name, self.index / ".staging",
                                    self.corpus / uploads.UPLOAD_DIR)
            if refusal:
                refused.append(refusal)
        return (self.ingest() if len(refused) < len(paths) else None), refused

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
        feedback.record(self.feedback_path, question, answer, liked)
