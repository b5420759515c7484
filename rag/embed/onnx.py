"""The embedding model on ONNX Runtime, exported locally from the installed weights.

Embedding is most of what ingest costs and a fixed part of every query. On a small CPU,
ONNX Runtime runs the same MiniLM graph faster than PyTorch, and with int8 weights
(dynamic quantization, per channel, MatMul only) about twice as fast again, with
vectors within cosine 0.99 of the float ones. It also keeps PyTorch out of the query
path once the graph exists, which is most of `rag ask`'s start-up time.

The graph is exported once per model into a cache folder, from the weights already on
disk (nothing is downloaded), and written atomically so a crash or a concurrent export
never leaves half a file. sentence-transformers' own `backend="onnx"` would do the same
through Optimum, but Optimum's ONNX exporter pins transformers below 5, which
sentence-transformers 6 needs; the export is a dozen lines with torch.onnx instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.embed.base import BatchEmbedder

_EXPORT_VERSION = "1"  # bump when the export recipe changes, so cached graphs are redone
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _model_config(model_dir: Path) -> tuple[int, str]:
    """(max_seq_length, pooling) of a sentence-transformers folder, refusing what the
    ONNX path does not reproduce exactly (anything but mean or CLS pooling on a transformer)."""
    modules = json.loads((model_dir / "modules.json").read_text("utf-8"))
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        raise ValueError(f"modules {kinds} are not Transformer -> Pooling [-> Normalize]")
    pooling_dir = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
    pooling = json.loads((model_dir / pooling_dir / "config.json").read_text("utf-8"))
    modes = [k.removeprefix("pooling_mode_").removesuffix("_token").removesuffix("_tokens")
             for k, on in pooling.items() if k.startswith("pooling_mode_") and on]
    if modes not in (["mean"], ["cls"]):
        raise ValueError(f"pooling {modes} is not supported (mean or cls)")
    config = json.loads((model_dir / "sentence_bert_config.json").read_text("utf-8"))
    return int(config.get("max_seq_length") or 512), modes[0]


def _fingerprint(model_dir: Path) -> str:
    """Names, sizes and times of the model's files: a changed model gets a new graph
    without hashing hundreds of megabytes on every start."""
    digest = hashlib.sha256(f"{_EXPORT_VERSION}|{model_dir.resolve()}".encode())
    for path in sorted(model_dir.glob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"|{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def export(model_dir: Path, cache_dir: Path, *, quantized: bool) -> Path:
    """The ONNX graph of the model in `model_dir`, exporting it on first use."""
    folder = cache_dir / "onnx" / f"{model_dir.name}-{_fingerprint(model_dir)}"
    target = folder / ("model-int8.onnx" if quantized else "model.onnx")
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    float_graph = folder / "model.onnx"
    if not float_graph.is_file():
        _atomic(float_graph, lambda tmp: _export_float(model_dir, tmp))
    if quantized:
        _atomic(target, lambda tmp: _quantize(float_graph, tmp))
    return target


def _atomic(target: Path, write: Callable[[Path], None]) -> None:
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _export_float(model_dir: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel

    class LastHidden(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    model = AutoModel.from_pretrained(str(model_dir)).eval()
    dummy = tuple(torch.ones(2, 8, dtype=torch.long) for _ in _INPUTS)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "last_hidden_state")}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about Python control flow in the model
        torch.onnx.export(LastHidden(model), dummy, str(out), input_names=list(_INPUTS),
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)


def _quantize(float_graph: Path, out: Path) -> None:
    """int8 weights per output channel on the MatMuls: measured on the bundled MiniLM,
    per-tensor weights drift to cosine 0.95 of the float vectors, per-channel stays at 0.99."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(float_graph), str(out), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"])


class OnnxEmbedder(BatchEmbedder):
    """The `Embedder` interface on an ONNX Runtime session and the model's fast tokenizer."""

    def __init__(self, model_dir: str | Path, *, name: str, quantized: bool, cache_dir: Path,
                 batch_size: int = 16, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_path = Path(model_dir)
        try:
            seq, self._pooling = _model_config(model_path)
            self._tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
            graph = export(model_path, cache_dir, quantized=quantized)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise RuntimeError(
                f"could not prepare {model_dir} for ONNX Runtime ({exc}); "
                "set RAG_EMBEDDING_BACKEND=torch to use the model through sentence-transformers"
            ) from exc
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self._truncating = Tokenizer.from_str(self._tokenizer.to_str())
        self._truncating.enable_truncation(seq)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Idle workers sleep instead of spinning: on two cores a spinning pool steals the CPU
        # that FAISS, BM25 and the web server need between model calls.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self._feeds = [i.name for i in self._session.get_inputs()]
        self.name = name
        self.dim = int(self._session.get_outputs()[0].shape[-1])
        self.max_tokens = seq - 2  # [CLS] and [SEP]
        self._batch_size = batch_size

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        """Tokenized once, then run shortest-padding-first: batches of similar length waste
        little work on padding, which matters when chunk lengths vary."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        encoded = [e.ids for e in self._truncating.encode_batch(texts)]
        order = sorted(range(len(texts)), key=lambda i: -len(encoded[i]))
        for i in range(0, len(order), self._batch_size):
            rows = order[i : i + self._batch_size]
            out[rows] = self._run([encoded[r] for r in rows])
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(e.ids) for e in self._tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, {name: feeds[name] for name in self._feeds})[0]
        if self._pooling == "cls":
            vectors = hidden[:, 0]
        else:
            vectors = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
