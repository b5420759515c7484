"""What a state of the Milvus store holds, field by field, and how chunks and the manifest become rows.

Two collections make one state, both named after it (`rag_20260101120000_1a2b3c4d`):

    <state>         one row per chunk: key (INT64, primary), id, source, text (+ text_rest), start,
                    end, page, section, context (exactly as the Chunk holds them), tables (the JSON
                    of its tables, as Chunk.to_json has them, in pieces; empty when it holds none),
                    terms (the BM25 terms of its indexed text, encoded by `token`), sparse (what
                    Milvus' BM25 function makes of terms), dense (its L2-normalised vector)
    <state>_files   the manifest: ordinal 0 holds the IndexInfo, format, chunk and file counts as
                    JSON; ordinals 1.. hold each file's FileEntry, files in sorted order

Keys are 0..n-1, files in sorted order of their path and each file's chunks in document order,
so a file's chunks are one key range found from the manifest alone, as in the folder index.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from functools import lru_cache
from typing import Any

import numpy as np

from rag.store.base import FileEntry, IndexInfo
from rag.types import Chunk, Profile, Table

FORMAT = 2
"""2: chunks keep the structure of their tables (the `tables` field)."""

KEY, ID, SOURCE, TEXT, TEXT_REST, START, END = "key", "id", "source", "text", "text_rest", "start", "end"
PAGE, SECTION, CONTEXT, TABLES = "page", "section", "context", "tables"
TERMS, SPARSE, DENSE = "terms", "sparse", "dense"
CHUNK_FIELDS = [KEY, ID, SOURCE, TEXT, TEXT_REST, START, END, PAGE, SECTION, CONTEXT, TABLES]
ORDINAL, ENTRY, PLACEHOLDER = "ordinal", "entry", "placeholder"

VARCHAR_BYTES = 65_535
"""Milvus' largest VARCHAR, in UTF-8 bytes. A chunk's text longer than this (a single enormous
word: an inline base64 image) continues in text_rest, pieces of at most this size."""

TEXT_PIECES = 4096
"""Most pieces text_rest or tables holds (Milvus' largest ARRAY): 256 MB of text, more than any chunk."""

BM25_K1, BM25_B = 1.5, 0.75
"""bm25s' defaults, which the folder index uses: with terms as tokens, both stores rank alike."""

DENSE_INDEX: dict[str, Any] = {"index_type": "FLAT", "metric_type": "IP"}
"""Exact inner-product search (cosine on normalised vectors), as the folder index does up to 150k
chunks; Milvus Lite supports little else. A server at millions of chunks would use HNSW (M 16-32),
IVF_SQ8 (as the folder index's IVF) or DiskANN instead: set MilvusStore(dense_index=...)."""


class FieldTooLong(ValueError):
    """A chunk or manifest field longer than Milvus holds; the message names the file."""


class OtherFormat(ValueError):
    """A state written by another version of this store's layout: rebuilt, never read."""


def chunk_schema(dim: int) -> Any:
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field(KEY, DataType.INT64, is_primary=True)
    for name in (ID, SOURCE, TEXT, CONTEXT):
        schema.add_field(name, DataType.VARCHAR, max_length=VARCHAR_BYTES)
    schema.add_field(TEXT_REST, DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=TEXT_PIECES,
                     max_length=VARCHAR_BYTES)
    # Pieces, as text_rest: a long table's rows and cells (offsets and pages of each) pass a VARCHAR's
    # 65,535 bytes sooner than its text does, and refusing the file would lose it. Nullable, so a row
    # written without it (a table-less chunk, by hand) reads as one without tables.
    schema.add_field(TABLES, DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=TEXT_PIECES,
                     max_length=VARCHAR_BYTES, nullable=True)
    schema.add_field(START, DataType.INT64)
    schema.add_field(END, DataType.INT64)
    schema.add_field(PAGE, DataType.INT64, nullable=True)
    schema.add_field(SECTION, DataType.VARCHAR, max_length=VARCHAR_BYTES, nullable=True)
    schema.add_field(TERMS, DataType.VARCHAR, max_length=VARCHAR_BYTES, enable_analyzer=True,
                     analyzer_params={"tokenizer": "standard"})
    schema.add_field(SPARSE, DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field(DENSE, DataType.FLOAT_VECTOR, dim=dim)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=[TERMS],
                                 output_field_names=[SPARSE]))
    return schema


def chunk_indexes(client: Any, dense_index: Mapping[str, Any]) -> Any:
    params = client.prepare_index_params()
    params.add_index(DENSE, **dense_index)
    params.add_index(SPARSE, index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                     params={"bm25_k1": BM25_K1, "bm25_b": BM25_B})
    return params


def files_schema() -> Any:
    """Milvus wants a vector field in every collection; the manifest's is a placeholder of two zeros."""
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field(ORDINAL, DataType.INT64, is_primary=True)
    schema.add_field(ENTRY, DataType.VARCHAR, max_length=VARCHAR_BYTES)
    schema.add_field(PLACEHOLDER, DataType.FLOAT_VECTOR, dim=2)
    return schema


def files_indexes(client: Any) -> Any:
    params = client.prepare_index_params()
    params.add_index(PLACEHOLDER, index_type="FLAT", metric_type="L2")
    return params


_PLAIN = re.compile(r"[a-z0-9]{1,39}")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)+")


@lru_cache(maxsize=65536)
def token(term: str) -> str:
    """The BM25 term as one token no analyzer splits or drops: 'gb300' -> 'gb300', '1000.5' -> '1000d5',
    'café' -> '0x' and 24 hex digits.

    Milvus' `standard` analyzer cuts at anything but a letter or digit (Lite with `\\w+`, a
    server at Unicode word boundaries, which also part CJK characters), so '1000.5' would be
    indexed as '1000' and '5'. ASCII letters and digits pass unchanged; a decimal point
    becomes 'd', which cannot collide, as no term that starts with a digit holds a letter;
    any other term, or one of 40 characters or more (an analyzer may drop long tokens),
    becomes '0x' and a 96-bit digest, which holds an 'x' that no decimal has.
    """
    if _PLAIN.fullmatch(term):
        return term
    if _DECIMAL.fullmatch(term) and len(term) < 40:
        return term.replace(".", "d")
    return "0x" + hashlib.blake2b(term.encode("utf-8"), digest_size=12).hexdigest()


def terms_text(terms: Sequence[str]) -> str:
    """['coreweav', '14.2', 'capex'] -> 'coreweav 14d2 capex': what the BM25 function reads."""
    return " ".join(token(term) for term in terms)


def split_utf8(text: str, limit: int = VARCHAR_BYTES) -> list[str]:
    """`text` in pieces of at most `limit` UTF-8 bytes, cut between characters: ('aéb', 2) -> ['a', 'é', 'b']."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return [text]
    pieces, start = [], 0
    while start < len(data):
        stop = min(start + limit, len(data))
        while stop < len(data) and (data[stop] & 0xC0) == 0x80:  # not inside a character
            stop -= 1
        pieces.append(data[start:stop].decode("utf-8"))
        start = stop
    return pieces


def chunk_row(key: int, chunk: Chunk, terms: str, vector: np.ndarray) -> dict[str, Any]:
    """The row of one chunk; a ValueError naming the chunk if a field exceeds what Milvus holds."""
    text = split_utf8(chunk.text)
    tables = split_utf8(tables_json(chunk)) if chunk.tables else []
    for name, value in ((ID, chunk.id), (SOURCE, chunk.source), (SECTION, chunk.section or ""),
                        (CONTEXT, chunk.context), (TERMS, terms)):
        if len(value.encode("utf-8")) > VARCHAR_BYTES:
            raise FieldTooLong(f"{chunk.source}: the {name} of chunk {chunk.id} is longer than the "
                             f"{VARCHAR_BYTES} bytes a Milvus VARCHAR holds")
    if len(text) > TEXT_PIECES + 1:
        raise FieldTooLong(f"{chunk.source}: chunk {chunk.id} is too long for Milvus ({len(chunk.text)} characters)")
    if len(tables) > TEXT_PIECES:
        raise FieldTooLong(f"{chunk.source}: the tables of chunk {chunk.id} are too long for Milvus "
                           f"({len(tables)} pieces of {VARCHAR_BYTES} bytes)")
    return {KEY: key, ID: chunk.id, SOURCE: chunk.source, TEXT: text[0], TEXT_REST: text[1:], START: chunk.start,
            END: chunk.end, PAGE: chunk.page, SECTION: chunk.section, CONTEXT: chunk.context, TABLES: tables,
            TERMS: terms, DENSE: np.asarray(vector, dtype=np.float32).tolist()}


def tables_json(chunk: Chunk) -> str:
    """The chunk's tables as the folder index's chunks.jsonl has them: a JSON list of `Table.to_json` objects."""
    return json.dumps(chunk.to_json().get("tables", []), ensure_ascii=False, separators=(",", ":"))


def chunk_from(entity: Mapping[str, Any]) -> Chunk:
    """The Chunk a row holds, verbatim: text, offsets, page, section, context and tables as they were written."""
    page = entity[PAGE]
    tables = "".join(entity.get(TABLES) or ())
    return Chunk(id=entity[ID], source=entity[SOURCE], text=entity[TEXT] + "".join(entity[TEXT_REST] or ()),
                 start=int(entity[START]), end=int(entity[END]), page=None if page is None else int(page),
                 section=entity[SECTION], context=entity[CONTEXT],
                 tables=tuple(Table.from_json(table) for table in json.loads(tables)) if tables else ())


def manifest_rows(info: IndexInfo, files: Mapping[str, FileEntry], created: float) -> Iterator[dict[str, Any]]:
    """Ordinal 0 with the state's IndexInfo and counts, then one row per file in sorted order."""
    head = {"format": FORMAT, "embedding_model": info.embedding_model, "dim": info.dim, "chunking": info.chunking,
            "files": len(files), "chunks": sum(e.chunks for e in files.values()), "created": created}
    yield {ORDINAL: 0, ENTRY: json.dumps(head, sort_keys=True), PLACEHOLDER: [0.0, 0.0]}
    for ordinal, source in enumerate(sorted(files), start=1):
        entry = json.dumps({"source": source, **asdict(files[source])}, ensure_ascii=False, sort_keys=True)
        if len(entry.encode("utf-8")) > VARCHAR_BYTES:
            raise FieldTooLong(f"{source}: its manifest entry is longer than a Milvus VARCHAR holds")
        yield {ORDINAL: ordinal, ENTRY: entry, PLACEHOLDER: [0.0, 0.0]}


def read_manifest(entries: Sequence[str]) -> tuple[dict[str, Any], dict[str, FileEntry]]:
    """(the head of ordinal 0, each file's FileEntry) from the entries in ordinal order; ValueError if damaged."""
    if not entries:
        raise ValueError("the manifest is empty")
    head = json.loads(entries[0])
    if head.get("format") != FORMAT:
        raise OtherFormat(f"has format {head.get('format')}, this version reads format {FORMAT}")
    files: dict[str, FileEntry] = {}
    for text in entries[1:]:
        data = json.loads(text)
        profile = data.pop("profile", None)
        source = data.pop("source")
        files[source] = FileEntry(sha256=str(data["sha256"]), chunks=int(data["chunks"]),
                                  profile=Profile(**profile) if isinstance(profile, dict) else None)
    if len(files) != head["files"] or sum(e.chunks for e in files.values()) != head["chunks"]:
        raise ValueError(f"the manifest lists {len(files)} files, its head says {head['files']}")
    return head, files


def info_of(head: Mapping[str, Any]) -> IndexInfo:
    return IndexInfo(str(head["embedding_model"]), int(head["dim"]), dict(head["chunking"]))


def file_ranges(files: Mapping[str, FileEntry]) -> dict[str, tuple[int, int]]:
    """Key range [start, stop) of each file: {"b.md": 3, "a.txt": 2} -> {"a.txt": (0, 2), "b.md": (2, 5)}."""
    ranges, start = {}, 0
    for source in sorted(files):
        ranges[source] = (start, start + files[source].chunks)
        start += files[source].chunks
    return ranges


def key_filter(ranges: Sequence[tuple[int, int]]) -> str:
    """A filter for keys in any of `ranges`, touching ones merged:
    [(7, 9), (0, 3), (3, 5)] -> '(key >= 0 and key < 5) or (key >= 7 and key < 9)'.

    Files are selected by key, so no path is ever quoted into an expression."""
    merged: list[list[int]] = []
    for start, stop in sorted(r for r in ranges if r[1] > r[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    return " or ".join(f"({KEY} >= {start} and {KEY} < {stop})" for start, stop in merged)
