"""Helpers shared by the tests/test_reliability_*.py files (not a test module itself)."""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

from click.testing import CliRunner, Result

import rag.cli

ROOT = Path(__file__).resolve().parents[1]

_WORDS = (
    "plant river steel output tonnes revenue contract debt wages shift harbour crane freight rail grain "
    "orchard mill turbine solar battery grid tariff export import quarter margin backlog supplier order "
    "factory warehouse fleet engine copper nickel lithium cobalt silicon wafer foundry vessel cargo port "
    "bridge tunnel highway airport runway terminal clinic school library museum theatre stadium market"
).split()


def prose(seed: int, sentences: int) -> str:
    """Distinct, sentence-shaped text: every chunk embeds to something different.

    Sentences get a capital, a year and a full stop, so the chunker sees real sentence
    boundaries; a paragraph break every six sentences.
    """
    rng = random.Random(seed)
    parts: list[str] = []
    for i in range(sentences):
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 16)))
        parts.append(f"{words.capitalize()} rose by {rng.randint(2, 97)} units in {rng.randint(1990, 2025)}.")
        parts.append("\n\n" if i % 6 == 5 else " ")
    return "".join(parts)


def write_prose_corpus(folder: Path, files: int, sentences: int, seed: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(files):
        path = folder / f"generated-{seed}-{i:03d}.txt"
        path.write_text(f"Generated report {i}\n\n" + prose(seed * 1000 + i, sentences), "utf-8")
        out.append(path)
    return out


def subprocess_env() -> dict[str, str]:
    """The environment `make test` gives the real CLI: offline, no RAG_* settings leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TRANSFORMERS_VERBOSITY="error",
               TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1")
    return env


def rag_command(*args: str | Path) -> list[str]:
    """`python -m rag.cli ...` with this interpreter: the real CLI in a real process."""
    return [sys.executable, "-m", "rag.cli", *map(str, args)]


def invoke(*args: str | Path) -> Result:
    """The CLI in process (click's CliRunner); stderr is kept apart from stdout."""
    return CliRunner().invoke(rag.cli.main, [str(a) for a in args])


def assert_clean_failure(result: Result, code: int = 1) -> None:
    """A user error: the given exit code, a message, and no Python traceback."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
