"""The manifest of a folder-index generation: what was built, from which file versions, and how."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from rag.store.base import FileEntry, IndexInfo, compatible
from rag.store.folder.vectors import FLAT
from rag.types import Profile

FORMAT = 2


@dataclass(frozen=True)
class Manifest:
    embedding_model: str
    dim: int
    chunking: dict[str, int | str]
    files: dict[str, FileEntry] = field(default_factory=dict)
    chunks: int = 0
    format: int = FORMAT
    created: float = 0.0
    vector_index: dict[str, int | float | str] = field(default_factory=lambda: {"type": FLAT})

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        data["files"] = {k: _entry(v) for k, v in data.get("files", {}).items()}
        return cls(**data)

    @property
    def info(self) -> IndexInfo:
        return IndexInfo(self.embedding_model, self.dim, self.chunking)

    def compatible_with(self, embedding_model: str, dim: int, chunking: dict[str, int | str]) -> str | None:
        """Why vectors in this index cannot be mixed with new ones, or None if they can."""
        if self.format != FORMAT:
            return f"index format {self.format} differs from {FORMAT}"
        return compatible(self.info, IndexInfo(embedding_model, dim, chunking))

    def file_rows(self) -> dict[str, tuple[int, int]]:
        """Row range [start, stop) of each file: {"a.txt": 2, "b.md": 3} -> {"a.txt": (0, 2), "b.md": (2, 5)}.

        Rows are grouped by file in sorted-source order (the ingest writes them so and
        `write_generation` refuses anything else), so the manifest alone locates a file's
        chunks and no reader has to scan them.
        """
        rows: dict[str, tuple[int, int]] = {}
        start = 0
        for source in sorted(self.files):
            rows[source] = (start, start + self.files[source].chunks)
            start += self.files[source].chunks
        return rows


def _entry(data: dict[str, object]) -> FileEntry:
    profile = data.pop("profile", None)
    return FileEntry(**data, profile=Profile(**profile) if isinstance(profile, dict) else None)  # type: ignore[arg-type]
