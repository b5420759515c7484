"""Load: 20 concurrent clients x 5 questions through the app's API, as separate gradio clients.

Every request must succeed and come back complete; the latency figures are printed and
saved to build/load-test.json (quoted in the README).
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client
from reliability_support import ROOT
from test_ui import server, workspace  # noqa: F401

from rag.app.workspace import Workspace
from rag.load.corpus import load_document

CLIENTS = 20
QUESTIONS_PER_CLIENT = 5
SEED_QA = ROOT / "tests" / "eval" / "seed_qa.jsonl"
REPORT = ROOT / "build" / "load-test.json"


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: [1, 2, 3, 4] at 50 -> 2, at 95 -> 4."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def check_complete(reply: dict[str, Any], corpus: Path) -> None:
    """An answer with its citations, each quoting its document verbatim, or an abstention with its hits."""
    assert reply["retrieved"], reply
    assert set(reply["timings_ms"]) >= {"retrieve", "answer", "total"}
    if reply["abstained"]:
        assert reply["citations"] == [] and reply["answer"]
        return
    ids = [c["id"] for c in reply["citations"]]
    assert ids == list(range(1, len(ids) + 1))
    assert {int(n) for n in re.findall(r"\[(\d+)\]", reply["answer"])} == set(ids)
    for c in reply["citations"]:
        assert load_document(corpus / c["source"], corpus).text[c["start"] : c["end"]] == c["quote"]


@pytest.mark.load
@pytest.mark.model
def test_20_concurrent_clients_ask_5_questions_each(server: str, workspace: Workspace) -> None:  # noqa: F811
    questions = [json.loads(line)["question"] for line in SEED_QA.read_text("utf-8").splitlines() if line.strip()]
    assert len(questions) >= CLIENTS
    start = threading.Barrier(CLIENTS)
    latencies: list[float] = []
    errors: list[str] = []
    replies: list[dict[str, Any]] = []
    lock = threading.Lock()

    def run(client_no: int) -> None:
        try:
            client = Client(server, verbose=False, analytics_enabled=False, download_files=False)
        except Exception as exc:  # counted, not raised: the test reports every failure
            with lock:
                errors.append(f"client {client_no}: connect: {exc!r}")
            start.abort()
            return
        try:
            start.wait(timeout=300)
        except threading.BrokenBarrierError:
            return
        for i in range(QUESTIONS_PER_CLIENT):
            question = questions[(client_no * QUESTIONS_PER_CLIENT + i) % len(questions)]
            t0 = time.perf_counter()
            try:
                reply = client.predict(question, 0, api_name="/ask")
            except Exception as exc:
                with lock:
                    errors.append(f"client {client_no}: {question!r}: {exc!r}")
                continue
            with lock:
                latencies.append(time.perf_counter() - t0)
                replies.append(reply)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(CLIENTS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=900)
    wall = time.perf_counter() - began

    assert errors == []
    assert len(replies) == CLIENTS * QUESTIONS_PER_CLIENT
    for reply in replies:
        check_complete(reply, workspace.corpus)
    figures = {
        "clients": CLIENTS,
        "questions_per_client": QUESTIONS_PER_CLIENT,
        "requests": len(latencies),
        "errors": len(errors),
        "answered": sum(not r["abstained"] for r in replies),
        "abstained": sum(r["abstained"] for r in replies),
        "latency_p50_s": round(percentile(latencies, 50), 3),
        "latency_p95_s": round(percentile(latencies, 95), 3),
        "latency_max_s": round(max(latencies), 3),
        "server_answer_p50_ms": round(percentile([r["timings_ms"]["total"] for r in replies], 50), 1),
        "wall_s": round(wall, 2),
        "throughput_qps": round(len(latencies) / wall, 2),
        "cpus": os.cpu_count(),
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(figures, indent=2) + "\n", "utf-8")
    print(f"\nload test: {json.dumps(figures)}")
