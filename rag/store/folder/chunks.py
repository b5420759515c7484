"""The chunk file of a generation: one JSON line per chunk, read on demand."""

from __future__ import annotations

import json
import os
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, overload

import numpy as np

from rag.store.base import IndexUnavailable
from rag.types import Chunk


class ChunkStore(Sequence[Chunk]):
    """The chunks of a generation, each parsed from chunks.jsonl only when it is read.

    `offsets[i]` is where line i starts and `offsets[-1]` the file's size, so a chunk
    costs one pread and one json.loads, and a million unread chunks cost no memory. A
    pread rather than a memory map: the pages read stay in the OS cache, not in this
    process's resident memory, however many chunks a long-running server has shown.
    """

    def __init__(self, fh: IO[bytes], offsets: np.ndarray) -> None:
        self._fh = fh
        self._offsets = offsets
        weakref.finalize(self, fh.close)  # closed with the store, however it is dropped

    @classmethod
    def open(cls, path: Path, offsets_path: Path) -> ChunkStore:
        offsets = np.load(offsets_path, allow_pickle=False)
        size = path.stat().st_size
        valid = (
            offsets.dtype == np.int64 and offsets.ndim == 1 and len(offsets) >= 1
            and offsets[0] == 0 and offsets[-1] == size and bool(np.all(np.diff(offsets) > 0))
        )
        if not valid:
            raise ValueError(f"{offsets_path.name} does not match {path.name}")
        return cls(path.open("rb", buffering=0), offsets)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, index: int) -> Chunk: ...

    @overload
    def __getitem__(self, index: slice) -> list[Chunk]: ...

    def __getitem__(self, index: int | slice) -> Chunk | list[Chunk]:
        if isinstance(index, slice):
            return [self._read(i) for i in range(*index.indices(len(self)))]
        row = index + len(self) if index < 0 else index
        if not 0 <= row < len(self):
            raise IndexError(f"chunk {index} of {len(self)}")
        return self._read(row)

    def __iter__(self) -> Iterator[Chunk]:
        return (self._read(row) for row in range(len(self)))

    def _read(self, row: int) -> Chunk:
        start, stop = int(self._offsets[row]), int(self._offsets[row + 1])
        line = os.pread(self._fh.fileno(), stop - start, start)
        try:
            return Chunk.from_json(json.loads(line))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # not a chunk's JSON object
            raise IndexUnavailable(
                f"{self._fh.name} is damaged at line {row + 1} ({exc}): run `rag ingest --rebuild`"
            ) from exc
