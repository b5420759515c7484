"""What only the Milvus store has: the --store setting, terms as analyzer-proof tokens, states and
their pruning, Lite's one process at a time, a server URI, and refusals that name what to do.

The contract both stores keep is in test_store_contract.py.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reliability_support import assert_clean_failure, invoke, subprocess_env
from support import free_port

import rag.cli
import rag.store.milvus.store as milvus_store
from rag.config import Settings
from rag.embed.hashing import HashingEmbedder
from rag.ingest import ingest
from rag.store.base import IndexInfo, IndexUnavailable, NewFile
from rag.store.milvus.schema import VARCHAR_BYTES, files_schema, key_filter, split_utf8, terms_text, token
from rag.store.milvus.store import MilvusStore
from rag.store.uri import StoreSpec, make_store, parse_store
from rag.text import terms
from rag.types import Chunk

INFO = IndexInfo("hashing-4", 4, {"max_tokens": 20})


def new_file(source: str, *texts: str, context: str = "") -> NewFile:
    chunks = [Chunk(f"{source}-{i}", source, text, 10 * i, 10 * i + len(text), context=context)
              for i, text in enumerate(texts)]
    return NewFile(f"sha-{source}", chunks, HashingEmbedder(dim=4).embed_documents(list(texts)))


def write(store: MilvusStore, new: dict[str, NewFile], keep: set[str] | None = None) -> None:
    with store.lock():
        store.write(INFO, new, keep or set(), store.open() if keep else None, lambda *_: None)


def states(store: MilvusStore) -> list[str]:
    return sorted(name for name in store.client.list_collections() if name.startswith(f"{store.name}_2"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MilvusStore]:
    opened = make_store(f"milvus:{tmp_path / 'rag.db'}", tmp_path / "index")
    assert isinstance(opened, MilvusStore)
    yield opened
    opened.close()


# ---------------------------------------------------------------- the setting


@pytest.mark.parametrize(("value", "spec"), [
    ("folder", StoreSpec("folder")),
    (" folder ", StoreSpec("folder")),
    ("milvus:data/rag.db", StoreSpec("milvus-lite", "data/rag.db")),
    ("milvus:/srv/rag/index.db", StoreSpec("milvus-lite", "/srv/rag/index.db")),
    ("milvus:http://localhost:19530", StoreSpec("milvus-server", "http://localhost:19530")),
    ("milvus:https://milvus.example.com:443/", StoreSpec("milvus-server", "https://milvus.example.com:443")),
    ("milvus:http://10.0.0.7", StoreSpec("milvus-server", "http://10.0.0.7")),
])
def test_store_settings_name_a_store(value: str, spec: StoreSpec) -> None:
    assert parse_store(value) == spec
    assert parse_store(str(spec)) == spec


@pytest.mark.parametrize("value", [
    "", "folder:index", "Folder", "milvus", "milvus:", "milvus:rag", "milvus:.db", "milvus:rag.sqlite",
    "milvus:http://", "milvus:http://host:port", "milvus:http://host:19530/db", "milvus:ftp://host", "faiss",
])
def test_a_bad_store_setting_names_the_setting(value: str) -> None:
    with pytest.raises(ValueError, match="--store / RAG_STORE"):
        parse_store(value)


def test_the_store_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_STORE", "milvus:index.db")
    monkeypatch.setenv("RAG_MILVUS_TOKEN", "root:Milvus")
    settings = Settings()
    assert settings.store == "milvus:index.db"
    assert settings.milvus_token is not None and settings.milvus_token.get_secret_value() == "root:Milvus"
    assert "root:Milvus" not in repr(settings)


@pytest.mark.parametrize("where", ["flag", "env"])
def test_a_bad_store_is_a_usage_error_before_the_model_loads(where: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def build(*_: Any) -> Any:
        raise AssertionError("the model was loaded before the settings were checked")

    monkeypatch.setattr(rag.cli, "_embedder", build)
    args = ["ingest", "--corpus", tmp_path, "--index", tmp_path / "index"]
    if where == "flag":
        args += ["--store", "milvus:nowhere"]
    else:
        monkeypatch.setenv("RAG_STORE", "milvus:nowhere")
    result = invoke(*args)
    assert_clean_failure(result, 2)
    assert "--store / RAG_STORE must be folder, milvus:PATH.db" in result.output


# ---------------------------------------------------------------- terms as tokens


@pytest.mark.parametrize(("term", "expected"), [
    ("gb300", "gb300"),
    ("liabil", "liabil"),
    ("2034", "2034"),
    ("1000.5", "1000d5"),
    ("14.2", "14d2"),
    ("1.2.3", "1d2d3"),
])
def test_terms_pass_the_analyzer_whole(term: str, expected: str) -> None:
    assert token(term) == expected


@pytest.mark.parametrize("term", ["café", "東京都", "x" * 40, "1" * 40, "12345678901234567890.12345678901234567890"])
def test_other_terms_become_digests_no_term_can_equal(term: str) -> None:
    encoded = token(term)
    assert encoded.startswith("0x") and len(encoded) == 26 and encoded.isalnum()
    assert encoded == token(term) and encoded != token(term + "s")


def test_a_terms_text_is_the_terms_in_order_with_repeats() -> None:
    assert terms_text(terms("GB300 racks: $14.2 billion, GB300 shipped")) == "gb300 rack 14d2 billion gb300 ship"


def test_key_filters_merge_touching_ranges() -> None:
    assert key_filter([(7, 9), (0, 3), (3, 5), (5, 5)]) == "(key >= 0 and key < 5) or (key >= 7 and key < 9)"


@given(st.text(), st.integers(min_value=4, max_value=64))
def test_long_text_is_cut_between_characters(text: str, limit: int) -> None:
    pieces = split_utf8(text, limit)
    assert "".join(pieces) == text
    assert all(len(piece.encode("utf-8")) <= limit for piece in pieces)


# ---------------------------------------------------------------- states


def test_a_write_keeps_the_live_and_the_replaced_state_only(store: MilvusStore) -> None:
    """Leftovers of interrupted writes and states older than the replaced one are dropped."""
    write(store, {"a.txt": new_file("a.txt", "alpha")})
    first = states(store)
    store.client.create_collection(f"{store.name}_20000101000000_deadbeef", schema=files_schema())  # a dead writer's
    store.client.create_collection("someone_elses", schema=files_schema())
    write(store, {"b.txt": new_file("b.txt", "beta")})
    second = states(store)
    assert set(first) < set(second) and len(second) == 4  # two states, each with its manifest
    write(store, {"c.txt": new_file("c.txt", "gamma")})
    third = states(store)
    assert len(third) == 4 and not set(first) & set(third)
    assert "someone_elses" in store.client.list_collections()
    assert sorted(store.open().files()) == ["c.txt"]


def test_a_failed_write_leaves_nothing_behind(store: MilvusStore) -> None:
    write(store, {"a.txt": new_file("a.txt", "alpha")})
    before = states(store)
    too_long = rf"huge\.txt: the context of chunk huge\.txt-0 is longer than the {VARCHAR_BYTES} bytes .*" \
        "the live index is unchanged"
    with pytest.raises(IndexUnavailable, match=too_long):
        write(store, {"huge.txt": new_file("huge.txt", "big", context="x" * (VARCHAR_BYTES + 1))}, keep={"a.txt"})
    assert states(store) == before and sorted(store.open().files()) == ["a.txt"]


def test_a_damaged_state_is_refused_and_rebuilt(store: MilvusStore, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Alpha Corp builds turbines.", "utf-8")
    ingest(corpus, store, HashingEmbedder(dim=4))
    index = store.open()
    row = {"key": len(index), "id": "x", "source": "a.txt", "text": "stray", "text_rest": [], "start": 0, "end": 5,
           "page": None, "section": None, "context": "", "terms": "stray", "dense": [1.0, 0.0, 0.0, 0.0]}
    store.client.insert(index.collection, [row])
    store.client.flush(index.collection)
    with pytest.raises(IndexUnavailable, match=r"inconsistent .* run `rag ingest --rebuild`"):
        store.open()
    report = ingest(corpus, store, HashingEmbedder(dim=4))
    assert report.rebuilt is not None and "unreadable" in report.rebuilt
    assert len(store.open()) == report.chunks_total == report.chunks_embedded


def test_the_kill_9_leftovers_go_with_the_next_write(tmp_path: Path) -> None:
    """A writer killed with every row in: its state never goes live, and the next write drops it."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Alpha Corp builds turbines.", "utf-8")
    setting = f"milvus:{tmp_path / 'rag.db'}"
    store = make_store(setting, tmp_path / "index")
    assert isinstance(store, MilvusStore)
    ingest(corpus, store, HashingEmbedder(dim=4))
    live = states(store)
    store.close()
    (corpus / "b.txt").write_text("Beta Inc ships racks.", "utf-8")
    child = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import os, signal, sys
        from pathlib import Path
        from rag.embed.hashing import HashingEmbedder
        from rag.ingest import ingest
        from rag.store.uri import make_store

        def tick(stage, done, total):
            if stage == "write" and done == total:
                os.kill(os.getpid(), signal.SIGKILL)

        ingest(Path(sys.argv[2]), make_store(sys.argv[1], Path(sys.argv[3])), HashingEmbedder(dim=4), progress=tick)
    """), setting, str(corpus), str(tmp_path / "index")], env=subprocess_env(), capture_output=True, timeout=300)
    assert child.returncode == -9, child.stderr[-2000:]
    store = make_store(setting, tmp_path / "index")
    assert isinstance(store, MilvusStore)
    try:
        assert len(states(store)) == len(live) + 1  # the dead writer's chunks, without a manifest
        assert sorted(store.open().files()) == ["a.txt"]
        ingest(corpus, store, HashingEmbedder(dim=4))
        assert len(states(store)) == 4 and set(live) <= set(states(store))
        assert sorted(store.open().files()) == ["a.txt", "b.txt"]
    finally:
        store.close()


# ---------------------------------------------------------------- processes, locks and servers


def test_a_lite_database_open_in_another_process_is_refused_with_what_to_do(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pymilvus import MilvusClient; MilvusClient(sys.argv[1]); "
                               "print('open', flush=True); sys.stdin.read()", str(tmp_path / "rag.db")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=subprocess_env(), text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(IndexUnavailable, match=r"open in another process .* use a Milvus server"):
            make_store(f"milvus:{tmp_path / 'rag.db'}", tmp_path / "index")
    finally:
        holder.communicate("", timeout=60)


def test_a_second_writer_waits_then_names_the_store(store: MilvusStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(milvus_store, "LOCK_WAIT", 0.3)
    other = MilvusStore(store.client, lock_path=store.lock_path, where=store.where)
    busy = pytest.raises(IndexUnavailable, match=r"another `rag ingest` into milvus:.*rag\.db holds")
    with store.lock(), busy, other.lock():
        pass
    with other.lock():  # free again once the first writer is done
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A Milvus server on a loopback port: Milvus Lite's own gRPC server, in a process of its own."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(tmp_path / "server"),
                                "--host", "127.0.0.1", "--port", str(port)], env=subprocess_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "the Milvus server did not start"
                time.sleep(0.1)
        yield f"milvus:http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_a_server_uri_writes_and_reads_the_same_states(server: str, tmp_path: Path) -> None:
    store = make_store(server, tmp_path / "workspace", token="root:Milvus")
    assert isinstance(store, MilvusStore) and not store.exists()
    assert store.lock_path.parent == tmp_path / "workspace"  # serialises the writers of this machine
    write(store, {"a.txt": new_file("a.txt", "GB300 racks", "alpha"), "b.txt": new_file("b.txt", "beta")})
    write(store, {}, keep={"a.txt"})
    index = store.open()
    assert sorted(index.files()) == ["a.txt"] and len(index) == 2
    [(key, score)] = index.sparse_search(terms("GB300"), 5)
    assert index.chunk(key).text == "GB300 racks" and score > 0
    assert [k for k, _ in index.dense_search(np.asarray(new_file("a.txt", "alpha").vectors[0]), 1)] == [1]
    store.client.close()


def test_an_unreachable_server_is_named_with_the_settings_to_check(tmp_path: Path) -> None:
    with pytest.raises(IndexUnavailable, match=r"cannot reach the Milvus server at http://127\.0\.0\.1:\d+ .*"
                                               r"--store / RAG_STORE and RAG_MILVUS_TOKEN"):
        make_store(f"milvus:http://127.0.0.1:{free_port()}", tmp_path / "index")
