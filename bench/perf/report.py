"""Tables, targets and the plot of a benchmark run, all read from the results dict alone,
so an old results.json can be re-rendered and two runs compared on the same terms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.paths import ROOT

GB = 2e9 / 2**20  # 2 GB in MiB


def _f(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the brief with the value this run measured: [{name, value, target, met}]."""
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, target: str, met: bool | None) -> None:
        out.append({"name": name, "value": value, "target": target, "met": met})

    ingest = results.get("ingest", {})
    for backend, r in ingest.get("backends", {}).items():
        add(f"ingest {backend}: pipeline / raw encode", r["pipeline_over_raw"], ">= 0.9", r["pipeline_over_raw"] >= 0.9)
        ratio = r.get("mb_over_langchain")
        if ratio is not None:
            add(f"ingest {backend}: MB/s vs LangChain", ratio, ">= 2", ratio >= 2)
    unchanged = results.get("reingest", {}).get("unchanged")
    if unchanged:
        add("re-ingest unchanged corpus (s, loaded embedder)", unchanged["seconds"], "< 1 s", unchanged["seconds"] < 1)
    for size in results.get("query", {}).get("sizes", []):
        if size["chunks"] == 100_000:
            add("retrieval p50 at 100k (ms)", size["retrieval_p50_ms"], "< 15 ms", size["retrieval_p50_ms"] < 15)
            add("full answer p50 at 100k (ms)", size["answer_p50_ms"], "< 60 ms", size["answer_p50_ms"] < 60)
        if size["chunks"] == 1_000_000:
            add("peak RSS at 1M chunks (MiB)", size["peak_rss_mb"], f"< {GB:,.0f} MiB (2 GB)",
                size["peak_rss_mb"] < GB)
    return out


def render(results: dict[str, Any], console: Console) -> None:
    m = results["machine"]
    console.print(f"[bold]rag performance[/] {m['date']}  {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, "
                  f"load {m['load_average_start']} -> {results.get('load_average_end')}")
    for table in (_ingest(results), _reingest(results), _query(results), _cold(results), _quality(results),
                  _targets(results)):
        if table is not None:
            console.print(table)
    for name, error in results.get("errors", {}).items():
        console.print(f"[red]{name} failed:[/] {error}")
    note = results.get("query", {}).get("note")
    if note:
        console.print(f"[dim]{note}[/]")


def _ingest(results: dict[str, Any]) -> Table | None:
    ingest = results.get("ingest")
    if not ingest:
        return None
    c = ingest["corpus"]
    t = Table(title=f"Ingest: {c['chunks']:,} chunks, {c['megabytes']:.2f} MB, {c['files']} files "
                    f"(median of {results['config'].get('ingest_repeats', results['config']['repeats'])})")
    stage_names = next((list(r["warm"]["stages"]) for r in ingest["backends"].values()), [])
    for col in ("pipeline", "chunks", "warm s", "chunks/s", "MB/s", f"{' / '.join(stage_names) or 'stages'} s",
                "raw encode chunks/s", "pipeline/raw", "x LangChain", "cold s (model s)"):
        t.add_column(col, justify="right" if col != "pipeline" else "left")
    for backend, r in ingest["backends"].items():
        w = r["warm"]
        stages = " / ".join(_f(v, 2) for v in w["stages"].values())
        t.add_row(f"rag {backend}", _f(r["chunks"]), _f(w["seconds"], 2), _f(w["chunks_per_s"]), _f(w["mb_per_s"], 3),
                  stages, _f(r["raw_encode"]["chunks_per_s"]), _f(r["pipeline_over_raw"], 2),
                  _f(r.get("mb_over_langchain"), 2),
                  f"{_f(r['cold']['total_s'], 1)} ({_f(r['cold']['model_s'], 1)})")
    st = ingest.get("sentence_transformers_raw")
    if st:
        t.add_row("SentenceTransformer.encode (raw)", _f(c["chunks"]), _f(st["seconds"], 2), _f(st["chunks_per_s"]),
                  "-", "-", _f(st["chunks_per_s"]), "-", "-", "-")
    lc = ingest.get("langchain")
    if lc:
        stages = " / ".join(_f(v, 2) for v in lc["stages"].values())
        t.add_row("LangChain tutorial (1000/200)", _f(lc["chunks"]), _f(lc["seconds"], 2), _f(lc["chunks_per_s"]),
                  _f(lc["mb_per_s"], 3), stages, "-", "-", "1.00", "-")
    return t


def _reingest(results: dict[str, Any]) -> Table | None:
    r = results.get("reingest")
    if not r:
        return None
    t = Table(title=f"Re-ingest ({r['backend']}, embedder loaded)")
    for col in ("case", "seconds", "chunks embedded", "model calls", "note"):
        t.add_column(col)
    u, e = r["unchanged"], r["edited"]
    calls = ", ".join(f"{k} {v}" for k, v in u["model_calls"].items()) or "none"
    t.add_row("unchanged corpus", _f(u["seconds"], 3), _f(u["chunks_embedded"]), calls,
              f"`rag ingest` wall incl. start-up {_f(u['cli_wall_s'], 1)} s")
    t.add_row(f"one edited file ({e['file']})", _f(e["seconds"], 2), _f(e["chunks_embedded"]), "-",
              f"{e['files_updated']} file updated")
    return t


def _query(results: dict[str, Any]) -> Table | None:
    q = results.get("query")
    if not q:
        return None
    t = Table(title=f"Query latency and memory ({q['backend']}, warm process, "
                    f"{q['sizes'][0]['questions'] if q['sizes'] else 0} questions)")
    for col in ("chunks", "vector index", "retrieval p50/p95 ms", "answer p50/p95 ms", "recall@10",
                "load s", "peak RSS MiB", "index RSS MiB", "RAM B/chunk", "disk B/chunk"):
        t.add_column(col, justify="right")
    for s in q["sizes"]:
        rows = [(s, s["vector_index"])]
        if "flat" in s:
            rows.append((s["flat"], f"{_kind(s['flat']['vector_index'])} (reference)"))
        for i, (m, kind) in enumerate(rows):
            recall = s["recall_at_10"]["value"] if i == 0 else None
            t.add_row(f"{s['chunks']:,}", _kind(kind), f"{_f(m['retrieval_p50_ms'])} / {_f(m['retrieval_p95_ms'])}",
                      f"{_f(m['answer_p50_ms'])} / {_f(m['answer_p95_ms'])}", _f(recall, 3), _f(m["load_s"], 2),
                      _f(m["peak_rss_mb"], 0), _f(m["rss_index_after_queries_mb"], 0),
                      _f(m["ram_bytes_per_chunk"], 0), _f(m["disk_bytes_per_chunk"], 0))
    return t


def _kind(info: Any) -> str:
    """{'type': 'ivf-sq8', 'nlist': 4000, 'nprobe': 32} -> 'ivf-sq8 nprobe 32/4000'."""
    if not isinstance(info, dict):
        return str(info)
    kind = str(info.get("type", info))
    return f"{kind} nprobe {info['nprobe']}/{info['nlist']}" if "nprobe" in info and "nlist" in info else kind


def _cold(results: dict[str, Any]) -> Table | None:
    cold = results.get("cold_start")
    if not cold:
        return None
    t = Table(title="Cold start: `rag ask` on a prebuilt index")
    for col in ("backend", "first answer s", "exit s", "gradio imported", "torch imported"):
        t.add_column(col)
    for backend, r in cold.items():
        t.add_row(backend, _f(r["first_answer_s"], 2), _f(r["exit_s"], 2), _f(r["gradio_imported"]),
                  _f(r["imported"].get("torch")))
    return t


def _quality(results: dict[str, Any]) -> Table | None:
    quality = results.get("quality")
    if not quality:
        return None
    t = Table(title="Quality per backend (`rag eval`)")
    for col in ("backend", "set", "questions", "hit@k", "mrr", "context fact recall", "fact recall",
                "abstention F1", "latency p50 ms"):
        t.add_column(col)
    for backend, r in quality.items():
        for name, s in r.items():
            if isinstance(s, dict):
                t.add_row(backend, name, _f(s["questions"]), _f(s["hit_at_k"], 3), _f(s["mrr"], 3),
                          _f(s["context_fact_recall"], 3), _f(s["fact_recall"], 3), _f(s["abstention_f1"], 3),
                          _f(s["latency_p50_ms"]))
    return t


def _targets(results: dict[str, Any]) -> Table | None:
    rows = results.get("targets")
    if not rows:
        return None
    t = Table(title="Targets")
    for col in ("measure", "value", "target", "met"):
        t.add_column(col)
    for r in rows:
        colour = "green" if r["met"] else "red"
        t.add_row(r["name"], _f(r["value"], 2), r["target"], f"[{colour}]{_f(r['met'])}[/]")
    return t


def plot(results: dict[str, Any], path: Path) -> None:
    """Four panels: ingest throughput, latency by size, memory by size, quality by backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    panels = (_plot_ingest, _plot_latency, _plot_memory, _plot_quality)
    for ax, panel in zip(axes.flat, panels, strict=True):
        if not panel(ax, results):
            ax.text(0.5, 0.5, "not measured in this run", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
    m = results["machine"]
    fig.suptitle(f"rag performance, {m['date'][:10]}, {m['cpu']} x{m['cores']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_ingest(ax: Any, results: dict[str, Any]) -> bool:
    ingest = results.get("ingest", {})
    bars: list[tuple[str, float, str]] = []
    for backend, r in ingest.get("backends", {}).items():
        bars.append((f"rag ingest, {backend}", r["warm"]["chunks_per_s"], "tab:blue"))
        bars.append((f"raw encode, {backend}", r["raw_encode"]["chunks_per_s"], "tab:grey"))
    if ingest.get("sentence_transformers_raw") and "torch" not in ingest.get("backends", {}):
        bars.append(("SentenceTransformer.encode", ingest["sentence_transformers_raw"]["chunks_per_s"], "tab:grey"))
    if ingest.get("langchain"):
        bars.append(("LangChain tutorial", ingest["langchain"]["chunks_per_s"], "tab:orange"))
    ax.barh([b[0] for b in bars][::-1], [b[1] for b in bars][::-1], color=[b[2] for b in bars][::-1])
    ax.set_title("Ingest throughput (chunks/s, warm, higher is better)")
    return bool(bars)


def _plot_latency(ax: Any, results: dict[str, Any]) -> bool:
    sizes = results.get("query", {}).get("sizes", [])
    xs = [s["chunks"] for s in sizes]
    for key, style in (("retrieval_p50_ms", "o-"), ("retrieval_p95_ms", "o--"), ("answer_p50_ms", "s-"),
                       ("answer_p95_ms", "s--")):
        ax.plot(xs, [s[key] for s in sizes], style, label=key.replace("_ms", ""))
    if not sizes:
        return False
    ax.set(xscale="log", title="Query latency (ms), warm process", xlabel="chunks")
    ax.legend()
    return True


def _plot_memory(ax: Any, results: dict[str, Any]) -> bool:
    sizes = results.get("query", {}).get("sizes", [])
    if not sizes:
        return False
    xs = [s["chunks"] for s in sizes]
    ax.plot(xs, [s["peak_rss_mb"] for s in sizes], "o-", label="peak RSS of query process (MiB)")
    ax.plot(xs, [s["disk_mb"] for s in sizes], "s-", label="index on disk (MiB)")
    ax.axhline(GB, color="grey", linestyle=":", label="2 GB")
    ax.set(xscale="log", yscale="log", title="Memory and disk", xlabel="chunks")
    ax.legend()
    return True


def _plot_quality(ax: Any, results: dict[str, Any]) -> bool:
    labels, hits, facts = [], [], []
    for backend, r in results.get("quality", {}).items():
        for name, s in r.items():
            if isinstance(s, dict):
                labels.append(f"{backend}\n{name}")
                hits.append(s["hit_at_k"] or 0.0)
                facts.append(s["fact_recall"] or 0.0)
    if not labels:
        return False
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], hits, width=0.4, label="hit@k")
    ax.bar([x + 0.2 for x in xs], facts, width=0.4, label="fact recall")
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set(ylim=(0, 1.15), title="Quality per backend (rag eval)")
    ax.legend(loc="upper right", ncols=2)
    return True


if __name__ == "__main__":
    import json
    import sys

    source = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "bench" / "results.json")
    data = json.loads(source.read_text("utf-8"))
    render(data, Console(width=200))
    plot(data, source.with_suffix(".png"))
