"""Pure pieces of rag.app.llm (the real models are exercised in test_llm_real.py)."""

from __future__ import annotations

import email.utils

import pytest

from rag.app.llm import retry_after

NOW = 1_800_000_000.0


@pytest.mark.parametrize(("headers", "seconds"), [
    ({}, None),
    ({"retry-after": "30"}, 30.0),
    ({"retry-after": "0.5"}, 0.5),
    ({"retry-after-ms": "250"}, 0.25),
    ({"retry-after-ms": "250", "retry-after": "30"}, 0.25),  # the precise header wins
    ({"retry-after-ms": "soon", "retry-after": "30"}, 30.0),
    ({"retry-after": email.utils.formatdate(NOW + 90, usegmt=True)}, 90.0),
    ({"retry-after": "tomorrow"}, None),
])
def test_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after(headers, now=NOW) == seconds
