"""Milvus as a `Store`: each ingest writes a new state beside the live one, then moves an alias to it.

    rag_live                          alias: the live state's chunk collection
    rag_<YYYYmmddHHMMSS>_<hex8>       a state's chunks (schema.py)
    rag_<YYYYmmddHHMMSS>_<hex8>_files its manifest

A write fills a new state completely (the kept files' rows copied from the state it
replaces, then the new files'), flushes it, and only then points the alias at it: a writer
killed at any moment before leaves the alias on the previous complete state, and its
leftover collections are dropped by the next write that completes. Pruning keeps the state
just replaced, so a reader that opened it a moment before the swap keeps working until the
write after next; every older state is dropped.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from pymilvus import MilvusClient
from pymilvus.exceptions import MilvusException

from rag.store.base import FileEntry, Index, IndexInfo, IndexUnavailable, NewFile, ProgressFn
from rag.store.milvus.index import MAX_TOPK, MilvusIndex
from rag.store.milvus.schema import (
    DENSE_INDEX,
    ENTRY,
    ORDINAL,
    FieldTooLong,
    OtherFormat,
    chunk_indexes,
    chunk_row,
    chunk_schema,
    files_indexes,
    files_schema,
    info_of,
    manifest_rows,
    read_manifest,
    terms_text,
)
from rag.store.uri import StoreSpec
from rag.text import terms
from rag.types import Chunk

log = logging.getLogger(__name__)

BATCH = 512
"""Rows per insert: a few MB of vectors and text per request, and a progress tick per batch."""

LOCK_WAIT = 600.0
"""Seconds a writer waits for another ingest into the same store before giving up."""


def connect(spec: StoreSpec, token: str | None = None) -> MilvusClient:
    """A MilvusClient for a Lite database or a server; IndexUnavailable, saying what to do, if there is none."""
    if spec.kind == "milvus-lite":
        _check_lite_free(Path(spec.target))
        Path(spec.target).parent.mkdir(parents=True, exist_ok=True)
    try:
        return MilvusClient(uri=spec.target, token=token or "")
    except MilvusException as exc:
        if spec.kind == "milvus-lite":
            raise IndexUnavailable(f"cannot open the Milvus Lite database {spec.target} ({exc!r}): "
                                   "check --store / RAG_STORE") from None
        raise IndexUnavailable(f"cannot reach the Milvus server at {spec.target} ({exc}): check --store / "
                               "RAG_STORE and RAG_MILVUS_TOKEN") from None


def _check_lite_free(path: Path) -> None:
    """Milvus Lite serves a database to one process, which holds a flock on its LOCK file; asking
    first turns another process's hold into a message instead of a failed start and a traceback."""
    lock = path / "LOCK"
    if not lock.is_file():
        return
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
    except BlockingIOError:
        raise IndexUnavailable(
            f"the Milvus Lite database {path} is open in another process (Milvus Lite serves one process at a "
            "time): stop that `rag` command, or use a Milvus server (--store milvus:http://HOST:19530)") from None
    finally:
        os.close(fd)


class MilvusStore:
    """States in one Milvus database, under the names `name`_*; writers serialised by a lock file."""

    def __init__(self, client: MilvusClient, *, lock_path: Path, where: str, name: str = "rag",
                 lite_path: Path | None = None, dense_index: Mapping[str, Any] = DENSE_INDEX,
                 batch: int = BATCH) -> None:
        """`where` is the setting (milvus:...) messages name; `lite_path` the Lite database, released by `close`.
        The lock file serialises writers that share it: all of them for Lite (one process holds the
        database anyway), those of one machine for a server; Milvus offers nothing to lock across machines."""
        self.client = client
        self.lock_path = lock_path
        self.where = where
        self.name = name
        self.alias = f"{name}_live"
        self.lite_path = lite_path
        self.dense_index = dict(dense_index)
        self.batch = batch
        self._state = re.compile(rf"({re.escape(name)}_\d{{14}}_[0-9a-f]{{8}})(_files)?")

    def __repr__(self) -> str:
        return f"MilvusStore({self.where!r})"

    def close(self) -> None:
        """Disconnect, and let another process open a Lite database: Lite holds it until its in-process
        server stops, which ends every client of this process on that database."""
        self.client.close()
        if self.lite_path is not None:
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(str(self.lite_path))

    def exists(self) -> bool:
        return self._current() is not None

    def open(self) -> MilvusIndex:
        state = self._current()
        if state is None:
            raise IndexUnavailable(f"no index in {self.where}: run `rag ingest` first")
        try:
            for collection in (state, f"{state}_files"):
                if str(self.client.get_load_state(collection)["state"]) != "Loaded":
                    self.client.load_collection(collection)
            head, files = read_manifest(self._manifest(state))
            rows = int(self.client.get_collection_stats(state)["row_count"])
        except MilvusException as exc:
            raise IndexUnavailable(f"cannot read the index in {self.where} ({exc.message}): is Milvus running? "
                                   "Otherwise run `rag ingest --rebuild`") from None
        except OtherFormat as exc:  # not damage: an older or newer rag wrote it, and the next ingest rebuilds it
            raise IndexUnavailable(f"index in {self.where} {exc}: run `rag ingest --rebuild`") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexUnavailable(f"index in {self.where} is damaged ({exc}): run `rag ingest --rebuild`") from exc
        if rows != head["chunks"]:
            raise IndexUnavailable(f"index in {self.where} is inconsistent ({rows} chunks, manifest says "
                                   f"{head['chunks']}): run `rag ingest --rebuild`")
        return MilvusIndex(self.client, state, info_of(head), files)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """An flock on the lock file: the OS drops it when its holder dies, so a crash leaves no stale lock."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with self.lock_path.open("a+", encoding="utf-8") as fh:
            started, waiting = time.monotonic(), False
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() - started > LOCK_WAIT:
                        raise IndexUnavailable(f"another `rag ingest` into {self.where} holds {self.lock_path}") \
                            from None
                    if not waiting:
                        waiting = True
                        log.warning("waiting for another `rag ingest` into %s to finish", self.where)
                    time.sleep(0.2)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def write(self, info: IndexInfo, new: Mapping[str, NewFile], keep: Collection[str], base: Index | None,
              progress: ProgressFn) -> None:
        """A new state with the files in sorted order, made live by moving the alias once it is whole."""
        sources = sorted(set(new) | set(keep))
        if keep and base is None:
            raise ValueError("files to keep need the state they are kept from")
        entries = {s: _entry(new[s]) if s in new else base.files()[s] for s in sources}  # type: ignore[union-attr]
        total = sum(entry.chunks for entry in entries.values())
        state = f"{self.name}_{time.strftime('%Y%m%d%H%M%S')}_{uuid.uuid4().hex[:8]}"
        try:
            self._create(state, chunk_schema(info.dim), chunk_indexes(self.client, self.dense_index))
            done = 0
            rows: list[dict[str, Any]] = []
            progress("write", 0, total)
            for source in sources:
                chunks, vectors = (new[source].chunks, new[source].vectors) if source in new else \
                    (base.chunks_for(source), base.vectors_for(source))  # type: ignore[union-attr]
                _check(source, chunks, vectors, entries[source], info.dim)
                for chunk, vector in zip(chunks, vectors, strict=True):
                    rows.append(chunk_row(done + len(rows), chunk, terms_text(terms(chunk.indexed_text)), vector))
                    if len(rows) == self.batch:
                        done = self._insert(state, rows, done, total, progress)
                        rows = []
            done = self._insert(state, rows, done, total, progress)
            self.client.flush(state)
            self._write_manifest(state, info, entries)
            self._wait_for_indexes(state)
            replaced = self._live()
            if replaced is None:
                self.client.create_alias(state, self.alias)
            else:
                self.client.alter_alias(state, self.alias)
        except BaseException as exc:
            self._drop(state)  # best effort: a writer that dies here is cleaned up by the next write
            if isinstance(exc, MilvusException | FieldTooLong):
                reason = exc.message if isinstance(exc, MilvusException) else str(exc)
                raise IndexUnavailable(f"writing to {self.where} failed ({reason}); the live index is unchanged") \
                    from None
            raise
        self._prune(keep={state, replaced})

    def _insert(self, state: str, rows: list[dict[str, Any]], done: int, total: int, progress: ProgressFn) -> int:
        if rows:
            self.client.insert(state, rows)
            done += len(rows)
            progress("write", done, total)
        return done

    def _create(self, collection: str, schema: Any, indexes: Any) -> None:
        """A loaded, empty collection. Its indexes are built as rows arrive (pymilvus would poll every half
        second for each index of an empty collection); `_wait_for_indexes` waits for them once it is full."""
        self.client.create_collection(collection, schema=schema)
        self.client.create_index(collection, indexes, sync=False)
        self.client.load_collection(collection)

    def _wait_for_indexes(self, state: str, timeout: float = 3600.0) -> None:
        """Return once every flushed row of the state is indexed: a state goes live ready to search."""
        started, pause = time.monotonic(), 0.01
        for collection in (state, f"{state}_files"):
            for name in self.client.list_indexes(collection):
                while True:
                    described = self.client.describe_index(collection, name)
                    if str(described.get("state", "Finished")) == "Failed":
                        raise IndexUnavailable(f"Milvus could not index {collection}: {described}")
                    if str(described.get("state", "Finished")) == "Finished" and \
                            not described.get("pending_index_rows", 0):
                        break
                    if time.monotonic() - started > timeout:
                        raise IndexUnavailable(f"Milvus did not index {collection} within {timeout:.0f}s")
                    time.sleep(pause)
                    pause = min(2 * pause, 2.0)

    def _write_manifest(self, state: str, info: IndexInfo, files: Mapping[str, FileEntry]) -> None:
        collection = f"{state}_files"
        self._create(collection, files_schema(), files_indexes(self.client))
        rows = list(manifest_rows(info, files, time.time()))
        for start in range(0, len(rows), self.batch):
            self.client.insert(collection, rows[start : start + self.batch])
        self.client.flush(collection)

    def _manifest(self, state: str) -> list[str]:
        """The manifest's entries in ordinal order, a page at a time; the head says how many files follow."""
        entries: list[str] = []
        stop = 1
        while len(entries) < stop:
            start = len(entries)
            page = f"{ORDINAL} >= {start} and {ORDINAL} < {start + MAX_TOPK}"
            rows = self.client.query(f"{state}_files", filter=page, output_fields=[ORDINAL, ENTRY], limit=MAX_TOPK)
            if not rows:
                raise ValueError(f"the manifest of {state} ends at entry {start}")
            entries += [row[ENTRY] for row in sorted(rows, key=lambda row: int(row[ORDINAL]))]
            if start == 0:
                stop = 1 + int(json.loads(entries[0]).get("files", 0))
        return entries

    def _current(self) -> str | None:
        """The live state, for a reader: a Milvus that fails is a message, not a traceback."""
        try:
            return self._live()
        except MilvusException as exc:
            raise IndexUnavailable(f"cannot read {self.where} ({exc.message}): is Milvus running?") from None

    def _live(self) -> str | None:
        """The collection the alias names, or None before the first complete write."""
        if self.alias not in self.client.list_aliases().get("aliases", []):
            return None
        state = str(self.client.describe_alias(self.alias)["collection_name"])
        return state if self.client.has_collection(state) else None

    def _prune(self, keep: set[str | None]) -> None:
        """Drop every state but `keep`: the leftovers of interrupted writes and the states before the last."""
        for collection in self.client.list_collections():
            match = self._state.fullmatch(collection)
            if match and match.group(1) not in keep:
                self.client.drop_collection(collection)

    def _drop(self, state: str) -> None:
        for collection in (f"{state}_files", state):
            try:
                if self.client.has_collection(collection):
                    self.client.drop_collection(collection)
            except Exception:  # the write's own error is the one to report
                log.warning("could not drop %s after a failed write", collection, exc_info=True)


def _entry(file: NewFile) -> FileEntry:
    return FileEntry(file.sha256, len(file.chunks), file.profile)


def _check(source: str, chunks: Sequence[Chunk], vectors: np.ndarray, entry: FileEntry, dim: int) -> None:
    """Refuse rows that would not match the manifest: keys are found from its chunk counts alone."""
    if len(chunks) != entry.chunks or vectors.shape != (entry.chunks, dim):
        raise ValueError(f"{source}: {len(chunks)} chunks and {vectors.shape} vectors do not match its "
                         f"{entry.chunks} chunks of dimension {dim}")
    if any(chunk.source != source for chunk in chunks):
        raise ValueError(f"{source}: a chunk of another file is among its chunks")
