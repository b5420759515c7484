"""Ingest on Ray Data: chunks and files as rows and back, and `rag ingest --ray` on a real two-node cluster.

The cluster is a head and a worker node started with `ray start --block`, each its own process
group, on loopback addresses (127.0.0.2 and 127.0.0.3: Ray rewrites 127.0.0.1 to the machine's
network address, the rest of 127/8 it leaves alone) and a temp dir of its own, with a token of its
own. Stopping it is a SIGTERM to the two `ray start` processes, which stop what they started (at
once: no draining, the work is done); their process groups are killed after, in case one did not.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from reliability_support import rag_command, subprocess_env
from support import free_port

from rag.embed.base import Embedder
from rag.ingest import IngestReport, Loaded, ingest
from rag.ingest_ray import ROW_SCHEMA, Gather, _check_reachable, chunk_row, file_rows, row_chunk
from rag.packs import installed
from rag.store.folder.store import FolderStore
from rag.types import Cell, Chunk, Profile, Table, TableRow

PDF = Path(__file__).parent / "data" / "3M_2018_10K_excerpt.pdf"
START_SECONDS = 60

# ---------------------------------------------------------------- rows


@pytest.mark.parametrize("chunk", [
    Chunk("a1", "a.md", "Hi.", 0, 3),
    Chunk("b2", "dir/b.pdf", "Net sales rose 5%.\n(Millions) 2018", 120, 154, page=3,
          section="Item 7 › Results", context="3M Company · 10-K · FY2018"),
    Chunk("c3", "café.txt", "€ 12 — “quoted” ✓", 7, 24, page=None, section="", context=""),
    Chunk("d4", "d.pdf", "Total | $ 1,222 | (5.5)%", 60, 84, page=2, context="Capex (in millions) 2022 2021",
          tables=(Table(20, 90, "Capex (in millions) 2022 2021", "Capex", ("2022", "2021"),
                        (TableRow("Total", 60, 84, (Cell("$ 1,222", 68, 75, 0, page=2), Cell("(5.5)%", 78, 84, 1)),
                                  ("Capital expenditures",)),), "million", "$", (40, 59)),)),
])
def test_a_chunk_survives_an_arrow_row(chunk: Chunk) -> None:
    table = pa.Table.from_pylist([{"file": 0, "n": 0, "of": 1, **chunk_row(chunk)}], schema=ROW_SCHEMA)
    assert row_chunk(table.to_pylist()[0]) == chunk


def test_files_come_back_whole_from_rows_in_any_order_and_blocks() -> None:
    profile = Profile(title="T", company="3M Company", ticker="MMM", form="10-K", period="FY2018")
    chunks = [Chunk(f"id{n}", "a.pdf", f"text {n}", 10 * n, 10 * n + 6, page=n + 1, section="S", context="C")
              for n in range(5)]
    outcomes: dict[int, Loaded | str] = {
        0: Loaded("sha-a", chunks, profile, ("page 2: damaged",)),
        2: "b.pdf: could not be read as PDF",
        3: Loaded("sha-c", [], None, ()),
        5: Loaded("sha-d", [Chunk("d0", "d.txt", "one", 0, 3)], None, ()),
    }
    rows = [row for file, outcome in outcomes.items() for row in file_rows(file, outcome, {"load": 0.5})]
    random.Random(0).shuffle(rows)
    gather = Gather()
    for first in range(0, len(rows), 3):
        gather.add(pa.Table.from_pylist(rows[first : first + 3], schema=ROW_SCHEMA))
    assert gather.outcomes() == outcomes
    assert gather.files == 4 and gather.stages["load"] == 1.5


def test_an_address_where_nothing_listens_fails_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(ConnectionError, match=r"nothing answers at 127\.0\.0\.1"):
        _check_reachable(f"127.0.0.1:{free_port()}")
    assert time.monotonic() - started < 5
    _check_reachable("local")  # Ray's own to resolve


# ---------------------------------------------------------------- a real cluster


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[tuple[str, dict[str, str]]]:
    """A head and a worker node, one CPU each; yields the head's address and the environment to reach it."""
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: Ray's socket paths live under it
    env = {**subprocess_env(), "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN": secrets.token_hex(32), "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"}
    port = free_port()
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        nodes.append(_start_node(temp, "head", env, "--head", "--node-ip-address=127.0.0.2", f"--port={port}",
                                 "--include-dashboard=false", "--disable-usage-stats",
                                 f"--dashboard-port={free_port()}", f"--ray-client-server-port={free_port()}"))
        nodes.append(_start_node(temp, "worker", env, f"--address=127.0.0.2:{port}", "--node-ip-address=127.0.0.3"))
        yield f"127.0.0.2:{port}", env
    finally:
        for node in reversed(nodes):
            node.send_signal(signal.SIGTERM)
        for node in reversed(nodes):
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.wait(timeout=15)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node.pid, signal.SIGKILL)  # whatever of its group is left
            node.wait()
        shutil.rmtree(temp, ignore_errors=True)


def _start_node(temp: Path, name: str, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    log = temp / f"{name}.log"
    command = [str(Path(sys.executable).parent / "ray"), "start", "--block", f"--temp-dir={temp}", "--num-cpus=1",
               f"--dashboard-agent-listen-port={free_port()}", f"--dashboard-agent-grpc-port={free_port()}", *args]
    with log.open("wb") as out:
        node = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + START_SECONDS
    while b"Ray runtime started" not in log.read_bytes():
        if node.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"ray start ({name}) did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
    return node


def _ingest_on_ray(address: str, env: dict[str, str], corpus: Path, index: Path) -> dict[str, object]:
    done = subprocess.run(rag_command("ingest", "--json", "--ray", address, "--corpus", corpus, "--index", index),
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout))


def _same_index(ray_index: Path, local_index: Path) -> None:
    """Same files, chunks (ids, offsets, text, pages, sections, context) and vectors."""
    on_ray, local = FolderStore(ray_index).open(), FolderStore(local_index).open()
    assert on_ray.info == local.info and on_ray.files() == local.files()
    for source in local.files():
        assert on_ray.chunks_for(source) == local.chunks_for(source), source
        # Bit for bit: the same slices of chunks go through the same model (see rag.ingest_ray).
        np.testing.assert_array_equal(on_ray.vectors_for(source), local.vectors_for(source))


def _summary(report: IngestReport) -> dict[str, object]:
    return {key: value for key, value in report.summary().items() if key != "seconds"}


@pytest.mark.model
def test_rag_ingest_on_a_ray_cluster_builds_the_single_process_index(
    ray_cluster: tuple[str, dict[str, str]], shipped_corpus: Path, real_embedder: Embedder, tmp_path: Path,
) -> None:
    address, env = ray_cluster
    corpus = tmp_path / "corpus"
    shutil.copytree(shipped_corpus, corpus)
    shutil.copy(PDF, corpus)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7 not really")  # fails alone, the rest goes on
    for path in corpus.iterdir():
        path.chmod(0o644)
    ray_index, local_index = tmp_path / "on-ray", tmp_path / "local"

    first = _ingest_on_ray(address, env, corpus, ray_index)
    local = ingest(corpus, FolderStore(local_index), real_embedder, packs=installed())  # as `rag ingest` does
    assert {k: v for k, v in first.items() if k != "seconds"} == _summary(local)
    assert first["added"] == 3 and [f["path"] for f in local.failed] == ["broken.pdf"]
    _same_index(ray_index, local_index)

    # One file edited: only its chunks are embedded again, on Ray as in a single process.
    edited = corpus / "microsoft-meta-coreweave-ai-spending.md"
    edited.write_text(edited.read_text("utf-8") + "\nCapital spending doubled again in the last quarter.\n", "utf-8")
    before = FolderStore(ray_index).open().vectors_for("coreweave-vs-microsoft-ai-infrastructure.txt")
    second = _ingest_on_ray(address, env, corpus, ray_index)
    local = ingest(corpus, FolderStore(local_index), real_embedder, packs=installed())  # as `rag ingest` does
    assert {k: v for k, v in second.items() if k != "seconds"} == _summary(local)
    assert (second["updated"], second["unchanged"]) == (1, 2)
    assert second["chunks_embedded"] == len(FolderStore(ray_index).open().chunks_for(edited.name))
    np.testing.assert_array_equal(
        FolderStore(ray_index).open().vectors_for("coreweave-vs-microsoft-ai-infrastructure.txt"), before)
    _same_index(ray_index, local_index)
