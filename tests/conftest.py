"""Shared fixtures: no network, the real model loaded once, the shipped corpus indexed once.

Tests that need the real bundled model are marked `model`; they still run in `make test`.
Everything else uses `HashingEmbedder` and files written into `tmp_path`.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Set before anything imports huggingface_hub / transformers, which read these once.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from rag.config import BUNDLED_MODEL, DEFAULT_BACKEND, resolve_model_path
from rag.embed import load_embedder
from rag.embed.base import Embedder
from rag.ingest import ingest
from rag.packs import installed
from rag.store.folder.index import FolderIndex
from rag.store.folder.store import FolderStore
from rag.store.folder.vectors import set_threads

SHIPPED_CORPUS = Path(__file__).parent.parent / "corpus"

# FAISS's thread count is process-wide, so the edges set it: the CLI, and here the test session.
set_threads()

# Property tests draw the same examples on every run; HYPOTHESIS_PROFILE=explore searches afresh.
settings.register_profile("deterministic", derandomize=True, deadline=None)
settings.register_profile("explore", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


class NetworkBlocked(RuntimeError):
    """Raised by the guard below: a test tried to reach a host other than this machine."""


def _is_local(address: Any) -> bool:
    """('127.0.0.1', 80), ('::1', 80, 0, 0), ('localhost', 80) and AF_UNIX paths are local."""
    if isinstance(address, str | bytes):
        return True  # AF_UNIX socket path
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost would need DNS and the network


@pytest.fixture(autouse=True, scope="session")
def _block_network() -> Iterator[None]:
    """Every test, and every session fixture, runs with outbound connections refused."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_create_connection = socket.create_connection

    def guard(address: Any) -> None:
        if not _is_local(address):
            raise NetworkBlocked(f"network access in tests is blocked: {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        guard(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        guard(address)
        return real_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        guard(address)
        return real_create_connection(address, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", connect)
        mp.setattr(socket.socket, "connect_ex", connect_ex)
        mp.setattr(socket, "create_connection", create_connection)
        yield


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    """The bundled all-MiniLM-L6-v2 on the default backend, loaded once for the whole session."""
    return load_embedder(resolve_model_path(BUNDLED_MODEL), name=BUNDLED_MODEL, backend=DEFAULT_BACKEND)


@pytest.fixture(scope="session")
def shipped_corpus() -> Path:
    assert SHIPPED_CORPUS.is_dir(), f"shipped corpus missing at {SHIPPED_CORPUS}"
    return SHIPPED_CORPUS


@pytest.fixture
def corpus_copy(shipped_corpus: Path, tmp_path: Path) -> Path:
    """A writable copy of the shipped corpus (the originals are read-only)."""
    target = tmp_path / "corpus"
    shutil.copytree(shipped_corpus, target)
    for path in target.iterdir():
        path.chmod(0o644)
    return target


@pytest.fixture(scope="session")
def shipped_index(
    shipped_corpus: Path, real_embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The shipped corpus ingested once with the real model and default settings (the installed packs, as
    `rag ingest` has them), shared read-only."""
    index_dir = tmp_path_factory.mktemp("shipped-index")
    report = ingest(shipped_corpus, FolderStore(index_dir), real_embedder, packs=installed())
    assert report.failed == [] and report.chunks_total > 0
    return index_dir


@pytest.fixture(scope="session")
def shipped_store(shipped_index: Path) -> FolderIndex:
    return FolderIndex.load(shipped_index)
