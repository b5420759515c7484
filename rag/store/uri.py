"""Which store holds the index, from `--store` / RAG_STORE, and the store that setting names.

    folder                     the folder index, in the folder --index names (the default)
    milvus:PATH.db             Milvus Lite: an embedded Milvus in PATH.db, one process at a time
    milvus:http://HOST:19530   a Milvus server (https:// too); its token from RAG_MILVUS_TOKEN

The setting is parsed here once, so a typo is a message naming the setting rather than a
connection error, and nothing that reads an index knows which store it came from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from rag.store.base import IndexUnavailable, Store

StoreKind = Literal["folder", "milvus-lite", "milvus-server"]

FOLDER = "folder"
MILVUS = "milvus:"
FORMS = "folder, milvus:PATH.db (Milvus Lite) or milvus:http(s)://HOST:PORT (a Milvus server)"


@dataclass(frozen=True)
class StoreSpec:
    """A parsed store setting: its kind, and the .db path or server URL it names ("" for the folder)."""

    kind: StoreKind
    target: str = ""

    def __str__(self) -> str:
        return FOLDER if self.kind == "folder" else f"{MILVUS}{self.target}"


def parse_store(value: str) -> StoreSpec:
    """The store a setting names; a ValueError naming the setting when it names none.

    'folder' -> StoreSpec('folder'); 'milvus:data/rag.db' -> StoreSpec('milvus-lite', 'data/rag.db');
    'milvus:http://localhost:19530' -> StoreSpec('milvus-server', 'http://localhost:19530').
    """
    text = value.strip()
    if text == FOLDER:
        return StoreSpec("folder")
    if text.startswith(MILVUS):
        target = text.removeprefix(MILVUS)
        if target.startswith(("http://", "https://")):
            try:
                url = urlsplit(target)
                url.port  # noqa: B018 - raises ValueError for a port that is not a number
            except ValueError as exc:
                raise ValueError(f"--store / RAG_STORE: {target!r} is not a server URL ({exc})") from None
            if not url.hostname or url.path.strip("/") or url.query or url.fragment:
                raise ValueError(f"--store / RAG_STORE: {target!r} is not a server URL: use {FORMS}")
            return StoreSpec("milvus-server", target.rstrip("/"))
        if target.endswith(".db") and Path(target).name != ".db":
            return StoreSpec("milvus-lite", target)
    raise ValueError(f"--store / RAG_STORE must be {FORMS}, not {value!r}")


def make_store(value: str, folder: Path, token: str | None = None) -> Store:
    """The store `value` names. The folder store keeps its index in `folder` (--index); for a Milvus
    server that folder holds the writer lock, which serialises the ingests run from this machine."""
    spec = parse_store(value)
    if spec.kind == "folder":
        from rag.store.folder.store import FolderStore

        return FolderStore(folder)
    try:
        from rag.store.milvus.store import MilvusStore, connect
    except ImportError:
        raise IndexUnavailable(f"--store {spec} needs pymilvus: pip install 'rag[scale]'") from None

    client = connect(spec, token)
    if spec.kind == "milvus-lite":
        lock = Path(f"{spec.target}.lock")
    else:
        lock = folder / f".milvus-{hashlib.sha256(spec.target.encode()).hexdigest()[:12]}.lock"
    return MilvusStore(client, lock_path=lock, where=str(spec),
                       lite_path=Path(spec.target) if spec.kind == "milvus-lite" else None)
