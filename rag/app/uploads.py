"""Uploads: a file a person drops into the UI, checked before it may join the corpus.

Checked in a staging folder (type, size, readable text), so a bad file is refused with its
reason and never reaches the corpus or the index.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from rag.load.corpus import SUPPORTED_SUFFIXES, LoadError, load_document

UPLOAD_DIR = "uploads"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Refused:
    name: str
    reason: str


def safe_name(name: str) -> str:
    """A file name that cannot leave its folder: '../../etc/passwd' -> 'passwd'.

    Long names are cut to 120 characters keeping the extension, which decides the loader.
    """
    base = re.split(r"[\\/]", name)[-1].strip()
    base = re.sub(r"[^\w.\- ()]", "_", base).lstrip(".") or "upload"
    stem, dot, suffix = base.rpartition(".")
    if dot and stem and len(suffix) <= 10 and len(base) > 120:
        return f"{stem[: 119 - len(suffix)]}.{suffix}"
    return base[:120]


def admit(path: Path, shown: str, staging: Path, target: Path) -> Refused | None:
    """Move an upload into `target` under a safe name, or say why it is refused."""
    name = safe_name(shown)
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return Refused(shown, f"unsupported file type {suffix or '(none)'!r}; "
                              f"accepted: {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        return Refused(shown, f"too large ({size // 1_048_576} MB; limit {MAX_UPLOAD_BYTES // 1_048_576} MB)")
    staging.mkdir(parents=True, exist_ok=True)
    staged = staging / name
    shutil.copyfile(path, staged)
    try:
        load_document(staged, staging)
    except LoadError as exc:
        staged.unlink(missing_ok=True)
        return Refused(shown, exc.reason)
    target.mkdir(parents=True, exist_ok=True)
    staged.replace(target / name)
    return None
