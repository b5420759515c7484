"""Helpers shared by several test modules (not a test module itself)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import rag.cli
import ui
from rag.config import BUNDLED_MODEL
from rag.embed.base import Embedder


def use_session_model(mp: pytest.MonkeyPatch, embedder: Embedder,
                      clear: tuple[str, ...] = ("RAG_K",)) -> None:
    """The CLI builds its embedder from settings; hand it the session's copy instead of
    loading another, and drop RAG_* settings that would change what a test runs."""

    def build(model: str, *_: Any) -> Embedder:
        assert model == BUNDLED_MODEL
        return embedder

    mp.setattr(rag.cli, "_embedder", build)
    for name in clear:
        mp.delenv(name, raising=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Launch a built app on a free loopback port; yield its URL; close it afterwards."""
    port = free_port()
    ui.launch(app, host="127.0.0.1", port=port, block=False)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()
