"""A corpus, its index and the engine over it, kept in step for a long-running app.

The UI adds and removes documents while people keep asking questions: writers take a
lock and re-ingest incrementally, then swap in a new engine; readers keep using the
engine they started with, so a question in flight never sees a half-built index.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

from rag.answer.extractive import ANSWER_CACHE, ExtractiveAnswerer
from rag.answer.generative import GenerativeAnswerer
from rag.answer.running import running_lines
from rag.answer.scoring import Scoring
from rag.app import feedback, uploads
from rag.app.conversation import condense, standalone
from rag.app.engine import Engine
from rag.app.scope import resolve_scope
from rag.app.uploads import Refused
from rag.config import CHUNK_OVERLAP, CHUNK_TOKENS, K
from rag.embed.base import CachedEmbedder, Embedder
from rag.ingest import IngestReport, Pipeline, ingest
from rag.load.corpus import LoadError, load_document
from rag.load.pdf.render import render_quote
from rag.packs import Lexicon, Pack, lexicon, steering
from rag.retrieve.hybrid import HybridRetriever
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
        local_models: Callable[[], list[str]] | None = None,
        load_model: Callable[[str], tuple[Any, dict[str, Any]]] | None = None,
        packs: Sequence[Pack] = (),
    ) -> None:
        """`index` is the folder for the workspace's own files (upload staging, the feedback
        log) and, unless `store` names another, the folder index itself. `chat_model` (a
        LangChain chat model) turns on generative answers, verified sentence by sentence,
        with the extractive answerer as their fallback. `local_models` lists the models one
        may choose besides it (their `local:` specs) and `load_model` loads one of them, with
        the generative answerer's options, when it is first chosen. `packs` are the domain packs
        (rag.packs) a document may switch on by what its text says it is."""
        self.corpus = corpus
        self.index = index
        self.store: Store = store or FolderStore(index)
        self.embedder = embedder
        self.k = k
        self._chunking = {"chunk_tokens": chunk_tokens, "chunk_overlap": chunk_overlap}
        self.feedback_path = feedback_path or index / "feedback.jsonl"
        # One cache for the retriever's and the answerer's question vectors and the answer's sentences.
        self._cached = CachedEmbedder(embedder, ANSWER_CACHE)
        self.packs = tuple(packs)
        self._lexicon: Callable[[str], Lexicon] = lambda question: Lexicon()
        self._running: Callable[[str], frozenset[str]] = lambda source: frozenset()
        self._extractive = ExtractiveAnswerer(self._cached, lexicon=self.lexicon, running=self.running)
        self.chat_model = chat_model
        # Generative answerers by model label: the configured one, and the one chosen last among the
        # local models (one at a time: a loaded GGUF holds its weights in memory).
        self._generative: dict[str, GenerativeAnswerer] = {}
        self._configured: str | None = None
        if chat_model is not None:
            options = generate_options or {}
            self._configured = str(options.get("label", "llm"))
            self._generative[self._configured] = GenerativeAnswerer(chat_model, embedder, self._extractive, **options)
        self._local_models = local_models or (lambda: [])
        self._load_model = load_model
        self._model_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._live: tuple[Index, HybridRetriever] | None = None
        self._engines: dict[str | None, Engine] = {}  # by model label; rebuilt when the index or model changes
        # Loaded documents for citation context and page images, until the file changes (a PDF is
        # not re-parsed per citation); a filing with its line positions weighs megabytes, hence few.
        self._document = functools.lru_cache(maxsize=16)(self._load)
        # The chat re-renders every answer it shows, and an answer rarely cites more than a few pages.
        self._page = functools.lru_cache(maxsize=32)(self._render)

    # ------------------------------------------------------------------ index
    def ingest(self, *, rebuild: bool = False, progress: ProgressFn | None = None,
               pipeline: Pipeline | None = None) -> IngestReport:
        """Bring the index up to date with the corpus, then serve the new index. `pipeline` loads,
        chunks and embeds elsewhere than in this process (`rag ingest --ray`)."""
        with self._write_lock:
            report = ingest(self.corpus, self.store, self.embedder, rebuild=rebuild, progress=progress,
                            pipeline=pipeline, packs=self.packs, chunk_tokens=self._chunking["chunk_tokens"],
                            chunk_overlap=self._chunking["chunk_overlap"])
            self._live = self._build()
        return report

    def ensure_index(self) -> IngestReport | None:
        """Ingest only when there is no index yet (fast start for `rag ask`)."""
        return None if self.store.exists() else self.ingest()

    def _build(self) -> tuple[Index, HybridRetriever]:
        index = self.store.open()
        profiles = {source: entry.profile for source, entry in index.files().items()}
        # The packs the indexed documents switch on; with none (articles, manuals), plain search and answers.
        self._lexicon = lexicon(self.packs, profiles)
        # Read from the index once per document, when a passage of it is first quoted.
        self._running = functools.lru_cache(maxsize=1024)(lambda source: running_lines(index.chunks_for(source)))
        return index, HybridRetriever(store=index, embedder=self._cached, k=self.k,
                                      steer=steering(self.packs, profiles))

    def extractive_with(self, scoring: Scoring | None = None, *, shared_cache: bool = True) -> ExtractiveAnswerer:
        """The product's extractive answerer with other weights (what bench/sweep_answer.py moves), wired as the
        served one is: the translations of the packs switched on, and the served one's embedding cache unless
        `shared_cache` is False (a cold answer, as bench/perf times it)."""
        return ExtractiveAnswerer(self._cached if shared_cache else self.embedder, scoring=scoring,
                                  lexicon=self.lexicon, running=self.running)

    def lexicon(self, question: str) -> Lexicon:
        """What the packs the indexed documents switched on know of the question's words, for the answerers."""
        return self._lexicon(question)

    def running(self, source: str) -> frozenset[str]:
        """The running lines of an indexed document (`rag.answer.running`), which answers do not quote."""
        return self._running(source)

    @property
    def retriever(self) -> HybridRetriever:
        """The retriever answers are built on, over the index being served (bench/ measures it as it is)."""
        return self._current()[1]

    def _current(self) -> tuple[Index, HybridRetriever]:
        if self._live is None:
            self._live = self._build()
        return self._live

    def models(self) -> list[str]:
        """Chat models to answer with: the configured one first, then the downloaded local ones."""
        configured = [self._configured] if self._configured else []
        local = self._local_models() if self._load_model else []
        return list(dict.fromkeys([*configured, *local]))

    @property
    def modes(self) -> list[str]:
        """Answer modes on offer: extractive, and generative when there is a model to answer with."""
        return ["extractive", "generative"] if self.models() else ["extractive"]

    @property
    def default_mode(self) -> str:
        """Generative only when a model is configured: a downloaded one is used when a person picks it."""
        return "generative" if self._configured else "extractive"

    def answering(self, mode: str | None = None, model: str | None = None) -> tuple[str, str | None]:
        """(mode, model label) a question asked with these choices is answered in."""
        mode = mode if mode in self.modes else self.default_mode
        if mode != "generative":
            return mode, None
        models = self.models()
        return mode, model if model in models else models[0]

    def engine_for(self, mode: str | None = None, model: str | None = None) -> Engine:
        mode, label = self.answering(mode, model)
        retriever = self._current()[1]
        answerer = self._extractive if label is None else self._generative_for(label)
        engine = self._engines.get(label)
        if engine is None or engine.retriever is not retriever or engine.answerer is not answerer:
            engine = self._engines[label] = Engine(retriever, answerer)
        return engine

    def _generative_for(self, label: str) -> GenerativeAnswerer:
        with self._model_lock:
            if label not in self._generative:
                assert self._load_model is not None
                chat, options = self._load_model(label)
                for loaded in [name for name in self._generative if name != self._configured]:
                    del self._generative[loaded]
                self._generative[label] = GenerativeAnswerer(chat, self.embedder, self._extractive, **options)
            return self._generative[label]

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
            mode: str | None = None, model: str | None = None,
            scope: Collection[str] | None = None) -> tuple[str, Answer]:
        """Answer a question in a conversation, from the documents in `scope` (None: all); returns the
        standalone question too."""
        query = self.standalone(question, history)
        return query, self.engine_for(mode, model).ask(query, k, scope)

    def stream(self, query: str, k: int | None = None, mode: str | None = None,
               model: str | None = None, scope: Collection[str] | None = None) -> Iterator[str | Answer]:
        """Text as it is verified, then the final Answer (see Engine.stream)."""
        return self.engine_for(mode, model).stream(query, k, scope)

    def scope(self, patterns: Sequence[str]) -> frozenset[str] | None:
        """The indexed documents `--doc` patterns name (None: all); ScopeError names one that matches none."""
        return resolve_scope(patterns, self._current()[0].files().keys(), str(self.corpus))

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
