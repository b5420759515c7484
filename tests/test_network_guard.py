"""The conftest guard: tests run offline, and loopback stays usable."""

from __future__ import annotations

import os
import socket

import pytest


@pytest.mark.parametrize("address", [("203.0.113.7", 443), ("huggingface.co", 443), ("2001:db8::1", 80, 0, 0)])
def test_outbound_connections_are_refused(address: tuple[object, ...]) -> None:
    with pytest.raises(RuntimeError, match="network access in tests is blocked"):
        socket.create_connection(address[:2], timeout=0.1)  # type: ignore[arg-type]
    family = socket.AF_INET6 if ":" in str(address[0]) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock, pytest.raises(RuntimeError, match="blocked"):
        sock.connect(address)


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=1):
            conn, _ = server.accept()
            conn.close()


def test_model_hub_is_offline() -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"
