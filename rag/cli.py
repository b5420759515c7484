"""The `rag` command: reads settings, builds the real objects, and hands them over.

This is one of the two edges of the product (with `ui.py`): the only place where the
embedding model is loaded from settings. Everything below receives its dependencies.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from rag.config import Settings, resolve_model_path
from rag.types import Answer


def common_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--corpus, --index and -k on every command; unset flags fall back to RAG_* and defaults."""
    fn = click.option("-k", "k", type=int, default=None, help="Passages to answer from [RAG_K, 5].")(fn)
    fn = click.option("--index", "index", type=click.Path(path_type=Path), default=None,
                      help="Index folder [RAG_INDEX, index/].")(fn)
    fn = click.option("--corpus", "corpus", type=click.Path(path_type=Path), default=None,
                      help="Documents folder [RAG_CORPUS, corpus/].")(fn)
    return fn


def make_settings(**flags: Any) -> Settings:
    try:
        return Settings(**{key: value for key, value in flags.items() if value is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise click.UsageError(f"invalid setting: {problems}") from None


@functools.lru_cache(maxsize=2)
def _embedder(model: str, batch_size: int) -> Any:
    from rag.embeddings import SentenceTransformerEmbedder

    try:
        return SentenceTransformerEmbedder(resolve_model_path(model), name=model, batch_size=batch_size)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


def run_ingest(settings: Settings, *, rebuild: bool = False, show_progress: bool = False) -> Any:
    from rag.index import IndexUnavailable
    from rag.ingest import ingest

    embedder = _embedder(settings.embedding_model, settings.embed_batch_size)
    try:
        if not show_progress:
            return ingest(settings.corpus, settings.index, embedder, chunk_tokens=settings.chunk_tokens,
                          chunk_overlap=settings.chunk_overlap, rebuild=rebuild)
        from rich.progress import Progress

        with Progress(transient=False, console=_stderr_console()) as bar:
            tasks: dict[str, Any] = {}

            def tick(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=max(total, 1))
                bar.update(tasks[stage], completed=done, total=max(total, 1))

            return ingest(settings.corpus, settings.index, embedder, chunk_tokens=settings.chunk_tokens,
                          chunk_overlap=settings.chunk_overlap, rebuild=rebuild, progress=tick)
    except (IndexUnavailable, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None


def build_engine(settings: Settings) -> Any:
    """Load the index (ingesting first if there is none) and wire the answer chain."""
    from rag.answer import ExtractiveAnswerer
    from rag.engine import Engine
    from rag.index import IndexStore, IndexUnavailable, live_generation
    from rag.retriever import HybridRetriever

    if live_generation(settings.index) is None:
        click.echo(f"No index in {settings.index}; indexing {settings.corpus} first.", err=True)
        report = run_ingest(settings)
        _print_failures(report)
    embedder = _embedder(settings.embedding_model, settings.embed_batch_size)
    try:
        store = IndexStore.load(settings.index)
    except IndexUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    if store.manifest.embedding_model != embedder.name:
        raise click.ClickException(
            f"index {settings.index} was built with {store.manifest.embedding_model!r} but the setting "
            f"RAG_EMBEDDING_MODEL is {embedder.name!r}: run `rag ingest` to rebuild it"
        )
    retriever = HybridRetriever(store=store, embedder=embedder, k=settings.k)
    return Engine(retriever, ExtractiveAnswerer(embedder))


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _print_failures(report: Any) -> None:
    for item in report.failed:
        click.echo(f"failed: {item['path']}: {item['error']}", err=True)
    for item in report.skipped:
        click.echo(f"skipped: {item['path']}: {item['error']}", err=True)


def render_answer(answer: Answer) -> str:
    """Terminal form: the answer, then numbered sources with location and quote."""
    lines = [answer.text, ""]
    if answer.abstained:
        lines.append("Closest passages:")
        for hit in answer.hits[:3]:
            snippet = " ".join(hit.chunk.text.split())[:240]
            lines.append(f"  - {hit.chunk.source} [{hit.chunk.start}:{hit.chunk.end}] {snippet}...")
        return "\n".join(lines)
    lines.append("Sources:")
    for c in answer.citations:
        where = f"p. {c.page}" if c.page else (c.section or "")
        loc = f"{c.source}" + (f", {where}" if where else "") + f", chars {c.start}-{c.end}"
        lines.append(f"  [{c.id}] {loc}")
        lines.append(f"      \"{c.quote}\"")
    return "\n".join(lines)


@click.group()
def main() -> None:
    """rag: answers questions from your documents, with verified citations."""


@main.command()
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print one summary object.")
@click.option("--rebuild", is_flag=True, help="Ignore the existing index and rebuild from scratch.")
def ingest(corpus: Path | None, index: Path | None, k: int | None, as_json: bool, rebuild: bool) -> None:
    """Index the corpus incrementally: only new and changed files are embedded."""
    settings = make_settings(corpus=corpus, index=index, k=k)
    report = run_ingest(settings, rebuild=rebuild, show_progress=not as_json and sys.stderr.isatty())
    if as_json:
        click.echo(json.dumps(report.summary()))
    else:
        if report.rebuilt:
            click.echo(f"note: {report.rebuilt}", err=True)
        _print_failures(report)
        stages = ", ".join(f"{name} {sec:.2f}s" for name, sec in report.stages.items())
        click.echo(
            f"added {report.added}, updated {report.updated}, removed {report.removed}, "
            f"unchanged {report.unchanged}, failed {len(report.failed)}; "
            f"embedded {report.chunks_embedded} of {report.chunks_total} chunks in {report.seconds:.2f}s ({stages})"
        )
    if report.failed and not (report.added or report.updated or report.unchanged):
        sys.exit(3)


@main.command()
@common_options
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def ask(question: str, corpus: Path | None, index: Path | None, k: int | None, as_json: bool) -> None:
    """Answer QUESTION from the documents, citing the passages used."""
    from rag.engine import answer_json

    settings = make_settings(corpus=corpus, index=index, k=k)
    engine = build_engine(settings)
    try:
        answer = engine.ask(question)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(answer_json(answer), ensure_ascii=False))
    else:
        click.echo(render_answer(answer))


@main.command()
@common_options
def chat(corpus: Path | None, index: Path | None, k: int | None) -> None:
    """Ask questions in a terminal loop (empty line, 'exit' or Ctrl-D to leave)."""
    settings = make_settings(corpus=corpus, index=index, k=k)
    engine = build_engine(settings)
    click.echo(f"Answering from {settings.corpus} ({len(engine.retriever.store)} chunks). Ask a question.")
    while True:
        try:
            question = input("> ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not question or question.lower() in {"exit", "quit"}:
            break
        click.echo(render_answer(engine.ask(question)) + "\n")


@main.command(name="eval")
@common_options
@click.option("--qa", "qa", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Question set (JSONL: id, question, answer|null, facts, sources).")
@click.option("--json", "as_json", is_flag=True, help="Print {summary, results} as one JSON object.")
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Write report.json, report.md and report.html here.")
@click.option("--compare", "compare_to", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="An earlier report.json to show each metric's change against.")
@click.option("--fail-under", "gates", multiple=True, metavar="METRIC=VALUE",
              help="Exit 1 if METRIC falls short (latency and false_abstention_rate: if above).")
def eval_command(corpus: Path | None, index: Path | None, k: int | None, qa: Path, as_json: bool,
                 out: Path | None, compare_to: Path | None, gates: tuple[str, ...]) -> None:
    """Score answer accuracy on a question set, offline."""
    from rag import report as rpt
    from rag.evaluate import QuestionSetError, load_questions, run_eval

    # Everything a user can get wrong is checked before the model loads and the questions run.
    try:
        questions = load_questions(qa)
    except QuestionSetError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        parsed_gates = rpt.parse_gates(gates)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        previous = rpt.load_summary(compare_to) if compare_to else None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    settings = make_settings(corpus=corpus, index=index, k=k)
    ingest_report = run_ingest(settings)
    _print_failures(ingest_report)
    engine = build_engine(settings)
    embedder = _embedder(settings.embedding_model, settings.embed_batch_size)

    if as_json or not sys.stderr.isatty():
        result = run_eval(engine, questions, settings.corpus, embedder.embed_documents)
    else:
        from rich.progress import Progress

        with Progress(console=_stderr_console()) as bar:
            task = bar.add_task("questions", total=len(questions))
            result = run_eval(engine, questions, settings.corpus, embedder.embed_documents,
                              progress=lambda done, total: bar.update(task, completed=done))
    payload = result.to_json()
    changes = rpt.compare(result.summary, previous) if previous is not None else None
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False))
    else:
        click.echo(rpt.table(result.summary, changes))
    if out:
        for path in rpt.write_reports(out, payload):
            click.echo(f"wrote {path}", err=True)
    missed = rpt.failed_gates(result.summary, parsed_gates)
    for line in missed:
        click.echo(f"gate failed: {line}", err=True)
    if missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
