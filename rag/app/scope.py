"""Which documents a question is asked of: `--doc` patterns resolved against the indexed sources.

A person with 500 filings who knows which one they mean names it ("--doc 'reports/3M*.pdf'"); a
question set's rows name theirs in `scope`. Either way, retrieval then searches those documents only,
and a name that matches no indexed document is an error that names it, never an empty answer.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection, Sequence
from pathlib import PurePosixPath


class ScopeError(ValueError):
    """A document pattern that matches no indexed document; the message names it."""


def resolve_scope(patterns: Sequence[str], sources: Collection[str], corpus: str = "") -> frozenset[str] | None:
    """The indexed sources the patterns name: exact source paths, globs, or paths with the corpus folder
    in front. None when no pattern is given (every document).

    (['r-00*.html'], ['r-001.html', 'r-002.html', 'a.md']) -> {'r-001.html', 'r-002.html'};
    (['corpus/a.md'], ['a.md'], 'corpus') -> {'a.md'}; (['x.pdf'], ['a.md']) -> ScopeError
    """
    if not patterns:
        return None
    chosen: set[str] = set()
    prefix = PurePosixPath(corpus.replace("\\", "/")).as_posix().rstrip("/") + "/" if corpus else ""
    for pattern in patterns:
        wanted = pattern.replace("\\", "/").strip()
        if prefix and wanted.startswith(prefix):
            wanted = wanted[len(prefix):]
        wanted = wanted.removeprefix("./")
        matched = {s for s in sources if s == wanted or fnmatch.fnmatchcase(s, wanted)}
        if not matched:
            close = sorted(s for s in sources if PurePosixPath(s).name == PurePosixPath(wanted).name)
            hint = f" (did you mean {', '.join(close[:3])}?)" if close else ""
            raise ScopeError(f"document {pattern!r} is not in the index{hint}: run `rag ingest` if it was "
                             f"just added, or check the name against the indexed documents")
        chosen |= matched
    return frozenset(chosen)
