"""The ONNX Runtime backends against the PyTorch model they are exported from."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import rag.cli
from rag.config import BUNDLED_MODEL, resolve_model_path
from rag.embed import load_embedder
from rag.embed.base import Embedder
from rag.embed.onnx import export
from rag.embed.torch import SentenceTransformerEmbedder
from rag.ingest import ingest
from rag.store.folder.index import FolderIndex
from rag.store.folder.store import FolderStore

pytestmark = pytest.mark.model

MODEL = resolve_model_path(BUNDLED_MODEL)


@pytest.fixture(scope="module")
def torch_embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(MODEL, name=BUNDLED_MODEL)


@pytest.fixture(scope="module")
def texts(shipped_store: FolderIndex) -> list[str]:
    return [shipped_store.chunks[i].text for i in range(len(shipped_store))] + [
        "Why is CoreWeave unprofitable?", "GB300", "word " * 400]


@pytest.mark.parametrize(("backend", "least"), [("onnx", 0.9999), ("onnx-int8", 0.98)])
def test_backend_vectors_match_torch(backend: str, least: float, torch_embedder: SentenceTransformerEmbedder,
                                     texts: list[str], tmp_path_factory: pytest.TempPathFactory) -> None:
    embedder = load_embedder(MODEL, name=BUNDLED_MODEL, backend=backend)
    reference = torch_embedder.embed_documents(texts)
    vectors = embedder.embed_documents(texts)
    assert vectors.shape == reference.shape and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() >= least, (backend, float(cosines.min()))
    query = embedder.embed_query(texts[-2])
    assert float(query @ reference[-2]) >= least
    assert embedder.count_tokens(texts) == torch_embedder.count_tokens(texts)  # uncapped: 400 words count ~400
    assert (embedder.dim, embedder.max_tokens) == (torch_embedder.dim, torch_embedder.max_tokens)


def test_int8_model_has_its_own_name_so_indexes_are_never_mixed() -> None:
    assert load_embedder(MODEL, name=BUNDLED_MODEL, backend="onnx").name == BUNDLED_MODEL
    assert load_embedder(MODEL, name=BUNDLED_MODEL, backend="onnx-int8").name == f"{BUNDLED_MODEL}#int8"


def test_export_happens_once_and_atomically(tmp_path: Path) -> None:
    graph = export(Path(MODEL), tmp_path, quantized=True)
    assert graph.name == "model-int8.onnx" and (graph.parent / "model.onnx").is_file()
    stamp = graph.stat().st_mtime_ns
    assert export(Path(MODEL), tmp_path, quantized=True) == graph
    assert graph.stat().st_mtime_ns == stamp
    assert not list(tmp_path.rglob("*.tmp"))


def test_unsupported_model_folder_names_the_setting(tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(MODEL, model)
    pooling = model / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_max_tokens=True)
    pooling.write_text(json.dumps(config))
    with pytest.raises(RuntimeError, match="RAG_EMBEDDING_BACKEND=torch"):
        load_embedder(str(model), name="m", backend="onnx", cache_dir=tmp_path / "cache")
    with pytest.raises(RuntimeError, match="RAG_EMBEDDING_BACKEND"):
        load_embedder(MODEL, name="m", backend="tensorflow")


def test_bad_backend_setting_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_EMBEDDING_BACKEND", "gpu")
    result = CliRunner().invoke(rag.cli.main, ["ask", "anything"])
    assert result.exit_code == 2 and "embedding_backend" in result.output


def test_switching_to_int8_rebuilds_the_index(corpus_copy: Path, tmp_path: Path, real_embedder: Embedder) -> None:
    index = tmp_path / "index"
    ingest(corpus_copy, FolderStore(index), load_embedder(MODEL, name=BUNDLED_MODEL, backend="onnx"))
    report = ingest(corpus_copy, FolderStore(index), load_embedder(MODEL, name=BUNDLED_MODEL, backend="onnx-int8"))
    assert report.rebuilt and "embedding model changed" in report.rebuilt
    assert report.chunks_embedded == report.chunks_total > 0
    assert FolderIndex.load(index).manifest.embedding_model == f"{BUNDLED_MODEL}#int8"


def test_rag_ask_loads_neither_gradio_nor_torch(shipped_corpus: Path, shipped_index: Path, real_embedder: Embedder,
                                                 tmp_path: Path) -> None:
    """Start-up of a one-shot question is imports: the UI toolkit and PyTorch stay out."""
    export(Path(MODEL), tmp_path / "cache", quantized=True)
    script = (
        "import sys, rag.cli\n"
        "try:\n"
        "    rag.cli.main(['ask', 'What is CoreWeave 2025 capex guidance?', '--json'], standalone_mode=False)\n"
        "finally:\n"
        "    heavy = ('gradio', 'torch', 'sentence_transformers')\n"
        "    print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
    )
    env = {"RAG_CORPUS": str(shipped_corpus), "RAG_INDEX": str(shipped_index),
           "RAG_MODEL_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["abstained"] is False
    assert done.stderr.strip().splitlines()[-1] == "[]"
