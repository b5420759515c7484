"""Durable files for the index: the writer lock, checksums and fsync.

An ingest must never leave a reader with half an index, and two ingests must never
interleave; these are the primitives the index writer builds that guarantee on.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from rag.store.base import IndexUnavailable

log = logging.getLogger(__name__)


@contextmanager
def writer_lock(root: Path, wait_seconds: float = 600.0) -> Iterator[None]:
    """Serialise writers. The OS drops an flock when its holder dies, so a crashed
    ingest never leaves a stale lock behind; a .lock file without a holder blocks no one.

    The holder writes its pid and the time it took the lock into the file, so a writer
    that has to wait can say whom it waits for.
    """
    root.mkdir(parents=True, exist_ok=True)
    path = root / ".lock"
    with path.open("a+", encoding="utf-8") as fh:
        started = time.monotonic()
        waiting = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waiting:
                    waiting = True
                    log.warning("waiting for another `rag ingest` to finish (%s%s)", path, _holder(fh))
                if time.monotonic() - started > wait_seconds:
                    raise IndexUnavailable(f"another `rag ingest` holds {path}{_holder(fh)}") from None
                time.sleep(0.2)
        if waiting:
            log.warning("%s is free after %.1fs; ingesting", path, time.monotonic() - started)
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "acquired": time.time()}) + "\n")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _holder(fh: IO[str]) -> str:
    """', held by pid 123 since 14:02:07' from the lock file, or '' if it says nothing usable."""
    try:
        fh.seek(0)
        info = json.loads(fh.read() or "{}")
        since = time.strftime("%H:%M:%S", time.localtime(float(info["acquired"])))
        return f", held by pid {int(info['pid'])} since {since}"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def fsync_file(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: Path) -> None:
    for entry in path.rglob("*"):
        if entry.is_file():
            fsync_file(entry)
    fsync_dir(path)
