"""Ingest on Ray Data: load, chunk and embed spread over a Ray cluster; the rest stays in `rag.ingest`.

`RayPipeline` is a `rag.ingest.Pipeline`: the driver hashes the corpus, decides what to keep
and writes the store, as a single-process ingest does, and hands the new and changed files to
two Ray Data stages: `map_batches` over files (load, then chunk with the embedding model's
tokenizer), then over slices of chunks (embed). Each stage is a pool of actors that build their
embedder once, in `__init__`, from an `EmbedderSpec`: settings cross the process boundary, never
a loaded model. Chunks cross it as plain Arrow rows (their tables as a JSON string, as the folder
index writes them) and are rebuilt exactly on the driver.

The outcome is the single-process one, vectors included, bit for bit. The int8 model quantizes
activations per model batch, so a chunk's vector depends on the chunks embedded with it (cosine
0.98 apart, measured, when batches were formed as chunks streamed in): the embedding stage
therefore runs between the two stages, on one row per slice of `EMBED_SLICE` chunks in corpus
order, the very slices a single-process ingest embeds. The price is that embedding starts when
the last file is chunked; the stages then have the whole cluster each, one after the other.

Workers open the files by path: on a cluster of several machines the corpus must be at the
same path on each (a shared mount), as with any Ray Data file source.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyarrow as pa

from rag.chunk import TokenCounter
from rag.config import DEFAULT_BACKEND, EMBED_BATCH_SIZE, resolve_model_path
from rag.embed import load_embedder
from rag.embed.base import Embedder
from rag.ingest import EMBED_SLICE, Loaded, Pending, Prepared, fresh_chunks, load_chunks
from rag.load.corpus import LoadError, printable
from rag.packs import Pack, installed
from rag.store.base import ProgressFn
from rag.types import Chunk, Profile

CHUNK_FIELDS = tuple(f.name for f in fields(Chunk))
# One row per chunk; a file that failed, or gave no chunk, is one row with `of` 0 and no chunk.
# What is said of the whole file (sha256, profile, warnings, seconds) rides on its first row only.
ROW_SCHEMA = pa.schema([
    ("file", pa.int64()), ("n", pa.int64()), ("of", pa.int64()),
    ("error", pa.string()), ("sha256", pa.string()), ("profile", pa.string()),
    ("warnings", pa.list_(pa.string())), ("load_s", pa.float64()), ("chunk_s", pa.float64()),
    ("id", pa.string()), ("source", pa.string()), ("text", pa.string()), ("start", pa.int64()),
    ("end", pa.int64()), ("page", pa.int64()), ("section", pa.string()), ("context", pa.string()),
    ("tables", pa.string()),
])


@dataclass(frozen=True)
class EmbedderSpec:
    """What an embedder is built from, sent to each worker in place of the loaded model (an ONNX
    session cannot be pickled, and a worker on another machine resolves the model on its own disk)."""

    model: str
    backend: str = DEFAULT_BACKEND
    batch_size: int = EMBED_BATCH_SIZE
    cache_dir: Path | None = None

    def load(self, threads: int | None = None) -> Embedder:
        return load_embedder(resolve_model_path(self.model), name=self.model, backend=self.backend,
                             batch_size=self.batch_size, cache_dir=self.cache_dir, threads=threads)


# ---------------------------------------------------------------- rows


def chunk_row(chunk: Chunk) -> dict[str, Any]:
    """Chunk('a1', 'a.md', 'Hi.', 0, 3) -> {'id': 'a1', 'source': 'a.md', 'text': 'Hi.', 'start': 0, 'end': 3,
    'page': None, 'section': None, 'context': '', 'tables': None}: plain values Arrow holds exactly.

    Tables are one JSON string (`Chunk.to_json`'s list), None when there are none: rows, cells and
    their parents nest too deep for one Arrow type to be worth keeping in step with `rag.types`.
    """
    data = chunk.to_json()
    tables = data.pop("tables", None)
    return {**data, "tables": json.dumps(tables, ensure_ascii=False) if tables else None}


def row_chunk(row: Mapping[str, Any]) -> Chunk:
    """The Chunk a `chunk_row` was made from; other keys of the row are ignored."""
    data = {name: row[name] for name in CHUNK_FIELDS}
    tables = data.pop("tables")
    return Chunk.from_json({**data, "tables": json.loads(tables) if tables else []})


def file_rows(file: int, outcome: Loaded | str, stages: Mapping[str, float]) -> list[dict[str, Any]]:
    """A loaded file as one row per chunk, or a failure (its message) as one row without a chunk."""
    empty = dict.fromkeys(CHUNK_FIELDS)
    if isinstance(outcome, str):
        return [{"file": file, "n": 0, "of": 0, "error": outcome, **empty}]
    head = {"sha256": outcome.sha256, "warnings": list(outcome.warnings),
            "profile": json.dumps(asdict(outcome.profile)) if outcome.profile else None,
            "load_s": stages.get("load", 0.0), "chunk_s": stages.get("chunk", 0.0)}
    if not outcome.chunks:
        return [{"file": file, "n": 0, "of": 0, **head, **empty}]
    of = len(outcome.chunks)
    return [{"file": file, "n": n, "of": of, **(head if n == 0 else {}), **chunk_row(chunk)}
            for n, chunk in enumerate(outcome.chunks)]


class Gather:
    """Rows back into each file's outcome, in whatever order and blocks they come."""

    def __init__(self) -> None:
        self.heads: dict[int, dict[str, Any]] = {}
        self.chunks: dict[int, dict[int, Chunk]] = {}
        self.stages = {"load": 0.0, "chunk": 0.0}

    def add(self, table: pa.Table) -> None:
        for row in table.to_pylist():
            if row["n"] == 0:
                self.heads[row["file"]] = row
                self.stages["load"] += row["load_s"] or 0.0
                self.stages["chunk"] += row["chunk_s"] or 0.0
            if row["of"]:
                self.chunks.setdefault(row["file"], {})[row["n"]] = row_chunk(row)

    @property
    def files(self) -> int:
        """Files whose every row is in."""
        return sum(len(self.chunks.get(file, ())) == head["of"] for file, head in self.heads.items())

    def outcomes(self) -> dict[int, Loaded | str]:
        """Each file's chunks in document order, or why it failed; by file, in corpus order."""
        outcomes: dict[int, Loaded | str] = {}
        for file in sorted(self.heads):
            head = self.heads[file]
            if head["error"] is not None:
                outcomes[file] = head["error"]
                continue
            got = self.chunks.get(file, {})
            if len(got) != head["of"]:
                raise RuntimeError(f"Ray returned {len(got)} of the {head['of']} chunks of file {file}")
            profile = Profile(**json.loads(head["profile"])) if head["profile"] else None
            outcomes[file] = Loaded(head["sha256"], [got[n] for n in range(len(got))], profile,
                                    tuple(head["warnings"] or ()))
        return outcomes


# ---------------------------------------------------------------- the two stages, one actor class each


class LoadChunk:
    """Files -> chunk rows. The tokenizer that measures chunks is the embedding model's, built once per actor."""

    def __init__(self, spec: EmbedderSpec, corpus: str, max_tokens: int, overlap: int, packs: tuple[str, ...]) -> None:
        self.count: TokenCounter = spec.load(threads=1).count_tokens
        self.corpus, self.max_tokens, self.overlap = Path(corpus), max_tokens, overlap
        self.packs = installed(packs)  # by name: each worker loads the same installed packs

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows: list[dict[str, Any]] = []
        for file, path in zip(batch.column("file").to_pylist(), batch.column("path").to_pylist(), strict=True):
            stages: dict[str, float] = {}
            try:
                outcome: Loaded | str = load_chunks(Path(os.fsdecode(path)), self.corpus, self.count,
                                                    self.max_tokens, self.overlap, stages, packs=self.packs)
            except (LoadError, OSError, ValueError) as exc:
                outcome = printable(str(exc))  # Arrow strings are UTF-8: a name's stray bytes are escaped
            rows.extend(file_rows(file, outcome, stages))
        return pa.Table.from_pylist(rows, schema=ROW_SCHEMA)


class Embed:
    """Slices of chunk texts -> their vectors, a slice per row so no batching can regroup them; the
    model is loaded once per actor."""

    def __init__(self, spec: EmbedderSpec, threads: int) -> None:
        self.embedder = spec.load(threads=threads)

    def __call__(self, batch: pa.Table) -> pa.Table:
        vectors, seconds = [], []
        for texts in batch.column("texts").to_pylist():
            t0 = time.perf_counter()
            vectors.append(self.embedder.embed_documents(texts).ravel())
            seconds.append(time.perf_counter() - t0)
        return pa.table({"first": batch.column("first"), "embed_s": pa.array(seconds, pa.float64()),
                         "vectors": pa.array(vectors, pa.list_(pa.float32()))})


# ---------------------------------------------------------------- the pipeline


class RayPipeline:
    """Load, chunk and embed on a Ray cluster: `address` is 'local' (a new instance on this machine,
    stopped afterwards), or what `ray.init` connects to: 'auto', HOST:PORT of a running cluster's head."""

    def __init__(self, address: str, spec: EmbedderSpec, *, dim: int, quiet: bool = False) -> None:
        """`quiet` leaves the terminal to the caller's progress bars: Ray draws or logs its own otherwise."""
        self.address, self.spec, self.dim, self.quiet = address, spec, dim, quiet

    def __call__(self, corpus: Path, pending: Iterable[Pending], *, max_tokens: int, overlap: int,
                 tick: ProgressFn, packs: tuple[Pack, ...] = ()) -> Prepared:
        t0 = time.perf_counter()
        files = list(pending)
        hashing = time.perf_counter() - t0  # on the driver
        if not files:
            return Prepared({}, np.zeros((0, self.dim), dtype=np.float32), {"load": hashing, "embed": 0.0})
        import ray

        t0 = time.perf_counter()
        tick("files", 0, len(files))
        started = not ray.is_initialized()
        if started:
            _check_reachable(self.address)
            # Workers' and the cluster's logs stay in its log folder; the terminal shows progress and the report.
            ray.init(address=self.address, logging_level=logging.WARNING, log_to_driver=False,
                     **({"include_dashboard": False} if self.address == "local" else {}))  # type: ignore[arg-type]
        try:
            import ray.data  # configures its logging on import

            if self.quiet:  # its progress bars and notes would break through ours; errors are raised
                ray.data.DataContext.get_current().enable_progress_bars = False
                logging.getLogger("ray.data").setLevel(logging.ERROR)
            gather = self._load(corpus, files, max_tokens, overlap, tick, packs)
            outcomes = gather.outcomes()
            vectors, embedding = self._embed(fresh_chunks(outcomes), tick)
        finally:
            if started:
                ray.shutdown()
        # Worker seconds summed over the actors, and the wall-clock time of the whole run.
        return Prepared(outcomes, vectors, {"load": hashing + gather.stages["load"], "chunk": gather.stages["chunk"],
                                            "embed": embedding, "ray": time.perf_counter() - t0})

    def _pool(self) -> tuple[float, Any]:
        """CPUs per actor and an actor pool that may grow to the whole cluster (the stages run one at a time)."""
        import ray.data

        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        per_actor = min(1.0, cpus)
        return per_actor, ray.data.ActorPoolStrategy(min_size=1, max_size=max(1, int(cpus / per_actor)))

    def _load(self, corpus: Path, files: list[Pending], max_tokens: int, overlap: int, tick: ProgressFn,
              packs: tuple[Pack, ...]) -> Gather:
        import ray.data

        per_actor, pool = self._pool()
        items = [{"file": f.index, "path": os.fsencode(f.path.absolute())} for f in files]
        dataset = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
            LoadChunk, batch_size=1, batch_format="pyarrow", num_cpus=per_actor, compute=pool,
            fn_constructor_args=(self.spec, str(corpus.absolute()), max_tokens, overlap,
                                 tuple(pack.name for pack in packs)))
        gather = Gather()
        for table in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
            gather.add(cast(pa.Table, table))
            tick("files", gather.files, len(files))
        return gather

    def _embed(self, chunks: list[Chunk], tick: ProgressFn) -> tuple[np.ndarray, float]:
        """The chunks' vectors in order, and the seconds the actors spent embedding."""
        out = np.empty((len(chunks), self.dim), dtype=np.float32)
        if not chunks:
            return out, 0.0
        import ray.data

        per_actor, pool = self._pool()
        slices = [{"first": i, "texts": [c.indexed_text for c in chunks[i : i + EMBED_SLICE]]}
                  for i in range(0, len(chunks), EMBED_SLICE)]
        dataset = ray.data.from_items(slices, override_num_blocks=len(slices)).map_batches(
            Embed, batch_size=1, batch_format="pyarrow", num_cpus=per_actor, compute=pool,
            fn_constructor_args=(self.spec, max(1, int(per_actor))))
        done, seconds = 0, 0.0
        tick("embed", 0, len(chunks))
        for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
            table = cast(pa.Table, batch)
            rows = table.column("vectors").combine_chunks()
            for i, first in enumerate(table.column("first").to_pylist()):
                vectors = rows[i].values.to_numpy(zero_copy_only=False).reshape(-1, self.dim)
                out[first : first + len(vectors)] = vectors
                done += len(vectors)
            seconds += sum(table.column("embed_s").to_pylist())
            tick("embed", done, len(chunks))
        if done != len(chunks):
            raise RuntimeError(f"Ray returned {done} of the {len(chunks)} vectors")
        return out, seconds


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """A ConnectionError now when nothing listens at HOST:PORT ('ray://HOST:PORT'), where Ray retries for
    minutes; 'local' and 'auto' are Ray's to resolve."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if address in ("local", "auto") or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConnectionError(f"nothing answers at {host}:{port} ({exc}); is the Ray head running there?") from exc
