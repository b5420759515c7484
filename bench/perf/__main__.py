"""Performance of the product on this machine, with its baselines measured in the same run.

    python -m bench.perf            # the full run (make bench): ~2k-chunk corpus, 1k..1M indexes
    python -m bench.perf --quick    # small sizes, one repeat, for development

Sections: ingest throughput per embedding backend next to raw encodes and the LangChain
tutorial pipeline; re-ingest of an unchanged and of an edited corpus; query latency, ANN
recall and memory from 1k to 1M chunks; cold start of `rag ask`; answer quality per
backend from `rag eval`. Writes results.json and results.png (bench/ for a full run,
build/bench/quick/ for --quick, so a development run never replaces the published one).
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from bench.perf import cli as perf_cli
from bench.perf import corpus as perf_corpus
from bench.perf import ingest as perf_ingest
from bench.perf import query as perf_query
from bench.perf import report as perf_report
from bench.perf.env import (
    BACKENDS,
    BENCH,
    BUILD,
    ROOT,
    batch_size,
    default_backend,
    machine,
    make_embedder,
)

SECTIONS = ("ingest", "reingest", "query", "coldstart", "quality")
console = Console(width=None if Console().is_terminal else 200)


def parse_sizes(text: str) -> list[int]:
    """'1k,10k,1M' -> [1000, 10000, 1000000]."""
    scale = {"k": 1_000, "m": 1_000_000}
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        out.append(int(float(part[:-1]) * scale[part[-1]]) if part[-1] in scale else int(part))
    return out


def log(message: str) -> None:
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {message}")


@click.command(help=__doc__)
@click.option("--quick", is_flag=True, help="Small sizes and one repeat, for development.")
@click.option("--sizes", default=None, help="Index sizes for the query section [1k,10k,100k,1M; quick: 1k,5k].")
@click.option("--repeats", type=int, default=None, help="Repeats per measurement, medians reported [3; quick: 1].")
@click.option("--ingest-repeats", type=int, default=None,
              help="Repeats of each full embedding pass of the bench corpus [2; quick: 1].")
@click.option("--chunks", "target_chunks", type=int, default=None,
              help="Bench corpus size in chunks [2000; quick: 300].")
@click.option("--backends", default=",".join(BACKENDS), show_default=True, help="Embedding backends to compare.")
@click.option("--sections", default=",".join(SECTIONS), show_default=True, help="Which sections to run.")
@click.option("--questions", "question_limit", type=int, default=None,
              help="First N questions of each set for query latency and quality [all; quick: 20 and 10].")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Where results.json and results.png go [bench/; quick: build/bench/quick/].")
def main(quick: bool, sizes: str | None, repeats: int | None, ingest_repeats: int | None,
         target_chunks: int | None, backends: str, sections: str, question_limit: int | None,
         out_dir: Path | None) -> None:
    started = time.perf_counter()
    config: dict[str, Any] = {
        "quick": quick,
        "sizes": parse_sizes(sizes or ("1k,5k" if quick else "1k,10k,100k,1M")),
        "repeats": repeats or (1 if quick else 3),
        "ingest_repeats": ingest_repeats or (1 if quick else 2),
        "target_chunks": target_chunks or (300 if quick else 2000),
        "question_limit": question_limit or (20 if quick else None),
        "quality_limit": question_limit or (10 if quick else None),
        "batch_size": batch_size(),
    }
    out_dir = out_dir or (BUILD / "quick" if quick else BENCH)
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen = [s.strip() for s in sections.split(",") if s.strip()]
    usable = [b.strip() for b in backends.split(",") if b.strip()]
    unknown = sorted(set(usable) - set(BACKENDS)) + sorted(set(chosen) - set(SECTIONS))
    if unknown or not usable:
        raise click.UsageError(f"unknown backends or sections {unknown}: backends are {', '.join(BACKENDS)}, "
                               f"sections {', '.join(SECTIONS)}")
    config["backends"] = usable
    results: dict[str, Any] = {"machine": machine(), "config": config}

    def save() -> None:
        (out_dir / "results.json").write_text(json.dumps(results, indent=2, default=str), "utf-8")

    config["query_backend"] = default_backend()
    log(f"loading the {config['query_backend']} embedder to chunk the bench corpus ({config['target_chunks']} chunks)")
    reference = make_embedder(config["query_backend"])
    max_tokens = min(perf_corpus.CHUNK_TOKENS, reference.max_tokens)
    corpus, _ = perf_corpus.build_corpus(config["target_chunks"], reference.count_tokens, max_tokens)
    chunks = perf_corpus.base_chunks(corpus, reference.count_tokens, max_tokens)
    texts = [c.text for c in chunks]
    megabytes = perf_corpus.corpus_megabytes(corpus)
    results["corpus"] = {"folder": str(corpus.relative_to(ROOT)), "files": len(list(corpus.iterdir())),
                         "chunks": len(chunks), "megabytes": megabytes}

    def section(name: str, key: str, run: Callable[[], Any]) -> None:
        """Run one section; a failure is recorded and the other sections still run."""
        if name not in chosen:
            return
        try:
            results[key] = run()
        except Exception as exc:  # a long run should keep what the other sections measured
            log(f"[red]{name} failed:[/] {exc}")
            results.setdefault("errors", {})[name] = f"{type(exc).__name__}: {exc}"
        save()

    reingest_backend = config["query_backend"] if config["query_backend"] in usable else usable[0]
    section("ingest", "ingest", lambda: run_ingest(usable, corpus, megabytes, texts, config["ingest_repeats"],
                                                   results["corpus"]))
    section("reingest", "reingest", lambda: perf_ingest.measure_reingest(corpus, reingest_backend,
                                                                         config["repeats"], log))
    section("query", "query", lambda: run_query(reference, corpus, chunks, max_tokens, config))
    seed = perf_corpus.questions(1)["seed"][0]
    section("coldstart", "cold_start", lambda: {b: perf_cli.cold_start(b, seed, 3, log) for b in usable})
    section("quality", "quality", lambda: {b: perf_cli.quality(b, config["quality_limit"], log) for b in usable})
    results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    results["seconds"] = time.perf_counter() - started
    results["targets"] = perf_report.targets(results)
    save()
    perf_report.render(results, console)
    perf_report.plot(results, out_dir / "results.png")
    log(f"wrote {out_dir / 'results.json'} and {out_dir / 'results.png'} in {results['seconds']:.0f} s")


def run_ingest(backends: list[str], corpus: Path, megabytes: float, texts: list[str], repeats: int,
               corpus_info: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"corpus": corpus_info, "backends": {}}
    log("ingest: LangChain tutorial baseline")
    out["langchain"] = perf_ingest.measure_langchain(corpus, megabytes, repeats)
    if "torch" not in backends:
        log("ingest: SentenceTransformer.encode (raw)")
        out["sentence_transformers_raw"] = perf_ingest.measure_st_raw(texts, batch_size(), repeats)
    for backend in backends:
        log(f"ingest: {backend} (cold, then {repeats} warm rebuilds and raw encodes)")
        encode = perf_ingest.st_encoder(batch_size()) if backend == "torch" else None
        r = perf_ingest.measure_backend(backend, corpus, megabytes, texts, repeats, encode)
        r["mb_over_langchain"] = r["warm"]["mb_per_s"] / out["langchain"]["mb_per_s"]
        out["backends"][backend] = r
        if backend == "torch":
            out["sentence_transformers_raw"] = {**r["raw_encode"], "batch_size": batch_size(),
                                                "note": "measured as the torch backend's raw encode"}
        del encode
        gc.collect()
    return out


def run_query(embedder: Any, corpus: Path, chunks: list[Any], max_tokens: int,
              config: dict[str, Any]) -> dict[str, Any]:
    """Real vectors of the bench chunks (cached), then each index size in its own process."""
    key = perf_corpus.base_key(corpus, embedder.name, max_tokens)
    base = BUILD / "base" / key
    if not (base / "info.json").exists():
        log(f"query: embedding the {len(chunks):,} real chunks the synthetic indexes grow from")
        vectors = embedder.embed_documents([c.text for c in chunks])
        perf_corpus.save_base(base, chunks, vectors, {"model": embedder.name, "key": key,
                                                      "chunking": perf_corpus.chunking_settings(max_tokens)})
    sets = perf_corpus.questions(config["question_limit"])
    questions = [q for qs in sets.values() for q in qs]
    question_file = BUILD / f"questions-{len(questions)}.json"
    question_file.write_text(json.dumps(questions), "utf-8")
    result = perf_query.measure(base, key, config["sizes"], question_file, config["repeats"], config["query_backend"],
                                log=log)
    result["question_sets"] = {name: len(qs) for name, qs in sets.items()}
    return result


if __name__ == "__main__":
    main()
