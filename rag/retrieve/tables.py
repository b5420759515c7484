"""The rest of a table a retrieved passage cuts: the passages before and after it that hold its other rows.

A chunk cut from a table holds only the rows inside it. The row asked for ("Balance at end of period",
the total under "Diluted earnings per share") is often in the chunk after the one retrieval found,
whose words are the table's other rows: a reader given the part of the table retrieval found would say
no row is the one asked, or pick a neighbour of it. Retrieval ranks passages; a table is read whole.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.store.base import Index
from rag.types import Hit

MAX_TABLE_PASSAGES = 2
"""Passages added to one question's at most. tatqa-public reads the same with 4 (dev short_exact 0.620,
held-out 0.511 either way), and each passage is more for the answer step to read: financebench-public's
warm p50 was 56 ms with none, 65 ms with 2 and 73 ms with 4."""


DEEPER = 4
"""How much deeper than its passages a figure's question searches for a table, when none of them holds one."""
NEAREST_TABLES = 1
"""Table passages such a search adds."""


def nearest_tables(deeper: Sequence[Hit], hits: Sequence[Hit], limit: int = NEAREST_TABLES) -> list[Hit]:
    """The best-ranked passages of a deeper search that hold a table, not among `hits`: a question asking a
    figure, whose passages are all prose ("the tax effects ... are presented below"), is answered from the
    table they introduce, which ranks just under them."""
    have = {hit.chunk.id for hit in hits}
    return [hit for hit in deeper if hit.chunk.tables and hit.chunk.id not in have][:limit]


def rest_of_tables(index: Index, hits: Sequence[Hit], limit: int = MAX_TABLE_PASSAGES) -> list[Hit]:
    """The chunks, not among `hits`, that hold rows of a table a hit's chunk holds only part of: those before
    the hit, then those after it, each side nearest first, with the score of the hit they complete (they are
    added after the hits); at most `limit` of them."""
    have = {hit.chunk.id for hit in hits}
    out: list[Hit] = []
    for hit in hits:
        chunk = hit.chunk
        cut = [t for t in chunk.tables if t.start < chunk.start or t.end > chunk.end]
        if not cut or hit.key is None:
            continue
        keys = [key for key, _ in index.sections_for(chunk.source)]
        if hit.key not in keys:
            continue
        at = keys.index(hit.key)
        for step in (-1, 1):
            j = at + step
            while 0 <= j < len(keys) and len(out) < limit:
                other = index.chunk(keys[j])
                if not any(other.start < t.end and t.start < other.end for t in cut):
                    break
                if other.id not in have:
                    have.add(other.id)
                    out.append(Hit(other, hit.score, key=keys[j], named=hit.named))
                j += step
    return out
