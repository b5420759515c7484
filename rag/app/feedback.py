"""Thumbs up and down from the UI: appended to a log, and liked answers turned into a question set."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.app.engine import answer_json
from rag.types import Answer


def record(path: Path, question: str, answer: Answer, liked: bool) -> None:
    """Append a rating with the question, answer and citations to the feedback log."""
    row = {"time": time.time(), "liked": liked, **answer_json(answer), "asked": question}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def feedback_to_questions(lines: Sequence[str]) -> tuple[list[dict[str, Any]], int]:
    """Liked answers become regression questions (their cited sources as evidence); the
    disliked ones are counted for review, since a thumbs-down does not say what is right."""
    out, disliked = [], 0
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not row.get("liked"):
            disliked += 1
            continue
        out.append({
            "id": f"fb{i:04d}", "question": row["question"],
            "answer": None if row.get("abstained") else row["answer"],
            "facts": [], "sources": sorted({c["source"] for c in row.get("citations", [])}),
        })
    return out, disliked
