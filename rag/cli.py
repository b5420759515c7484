"""The `rag` command: reads settings, builds the real objects, and hands them over.

This is one of the two edges of the product (with `ui.py`): the only place where the
embedding model is loaded from settings. Everything below receives its dependencies.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from rag.config import Settings
from rag.types import Answer

OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error",
           "HF_HUB_DISABLE_PROGRESS_BARS": "1"}


def common_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--corpus, --index, --store and -k on every command; unset flags fall back to RAG_* and defaults."""
    fn = click.option("-k", "k", type=int, default=None, help="Passages to answer from [RAG_K, 5].")(fn)
    fn = click.option("--store", "store", default=None, metavar="URI",
                      help="Where the index is kept: folder (in --index), milvus:PATH.db (Milvus Lite) or "
                           "milvus:http://HOST:19530 (a Milvus server; token from RAG_MILVUS_TOKEN) "
                           "[RAG_STORE, folder].")(fn)
    fn = click.option("--index", "index", type=click.Path(path_type=Path), default=None,
                      help="Index folder [RAG_INDEX, index/].")(fn)
    fn = click.option("--corpus", "corpus", type=click.Path(path_type=Path), default=None,
                      help="Documents folder [RAG_CORPUS, corpus/].")(fn)
    return fn


def doc_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--doc: the documents to ask about (repeatable, globs allowed; default: all of them)."""
    return click.option("--doc", "docs", multiple=True, metavar="FILE",
                        help="Ask only of this document (a source path as indexed, or a glob such as "
                             "'reports/3M*.pdf'); repeat for several. Default: every document.")(fn)


def _scope(ws: Any, docs: tuple[str, ...]) -> frozenset[str] | None:
    """The indexed sources `--doc` names, or a usage error naming the one that matches none."""
    from rag.app.scope import ScopeError

    try:
        return ws.scope(docs)
    except ScopeError as exc:
        raise click.UsageError(str(exc)) from None


def llm_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--llm and --llm-base-url for the commands that answer questions."""
    fn = click.option("--llm-base-url", "llm_base_url", default=None,
                      help="Server for openai-compatible/ollama [RAG_LLM_BASE_URL].")(fn)
    fn = click.option("--llm", "llm", default=None, metavar="PROVIDER:MODEL",
                      help="Generate answers with openai:M, openai-compatible:M, ollama:M, llamacpp:PATH or "
                           "local:REPO/FILE (see `rag models`) [RAG_LLM; default: extractive, no LLM].")(fn)
    return fn


def make_settings(**flags: Any) -> Settings:
    try:
        return Settings(**{key: value for key, value in flags.items() if value is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise click.UsageError(f"invalid setting: {problems}") from None


def _embedder(model: str, batch_size: int, backend: str, cache: Path | None) -> Any:
    from rag.app.build import BuildError, load_model

    try:
        return load_model(model, batch_size, backend, cache)
    except BuildError as exc:
        raise click.ClickException(str(exc)) from None


def make_workspace(settings: Settings) -> Any:
    """The workspace the settings describe, built by the product's one factory (`rag.app.build`)."""
    from rag.app.build import BuildError, build

    embedder = _embedder(settings.embedding_model, settings.embed_batch_size, settings.embedding_backend,
                         settings.model_cache)
    try:
        return build(settings, embedder=embedder)
    except BuildError as exc:
        raise click.ClickException(str(exc)) from None


def run_ingest(settings: Settings, *, rebuild: bool = False, show_progress: bool = False,
               workspace: Any = None, ray: str | None = None) -> Any:
    """Ingest with a progress bar per stage; `ray` ('local' or a cluster's address) runs loading,
    chunking and embedding as Ray Data stages instead of in this process."""
    from rag.store.base import IndexUnavailable

    ws = workspace or make_workspace(settings)

    def run(progress: Any) -> Any:
        pipeline = None if ray is None else _ray_pipeline(settings, ws, ray, quiet=progress is not None)
        try:
            return ws.ingest(rebuild=rebuild, progress=progress, pipeline=pipeline)
        except (ConnectionError, ValueError) as exc:  # only from Ray: an address it cannot reach or parse
            if pipeline is None:
                raise
            raise click.ClickException(f"could not ingest on Ray at {ray!r} (--ray): {exc}") from None

    try:
        if not show_progress:
            return run(None)
        from rich.progress import Progress

        with Progress(transient=False, console=_stderr_console()) as bar:
            tasks: dict[str, Any] = {}

            def tick(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=max(total, 1))
                bar.update(tasks[stage], completed=done, total=max(total, 1))

            return run(tick)
    except (IndexUnavailable, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None


def _ray_pipeline(settings: Settings, ws: Any, address: str, *, quiet: bool) -> Any:
    """Ingest's loading and embedding on Ray, by workers that build the embedder from the same settings
    (the one loaded here gives the index its model name and dimension)."""
    import importlib.util

    if importlib.util.find_spec("ray") is None or importlib.util.find_spec("pyarrow") is None:
        raise click.ClickException("--ray needs Ray Data: pip install 'rag[scale]'")
    from rag.ingest_ray import EmbedderSpec, RayPipeline

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # nothing leaves the machine unless asked
    spec = EmbedderSpec(settings.embedding_model, settings.embedding_backend, settings.embed_batch_size,
                        settings.model_cache)
    return RayPipeline(address, spec, dim=ws.embedder.dim, quiet=quiet)


def open_workspace(settings: Settings, *, refresh: bool = False) -> Any:
    """A workspace with a loaded index: ingested first if there is none (or if `refresh`)."""
    from rag.store.base import IndexUnavailable

    ws = make_workspace(settings)
    where = settings.index if settings.store == "folder" else settings.store
    try:
        missing = not ws.store.exists()
    except IndexUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    if refresh or missing:
        if not refresh:
            click.echo(f"No index in {where}; indexing {settings.corpus} first.", err=True)
        _print_failures(run_ingest(settings, workspace=ws))
    try:
        built_with = ws.index_info().embedding_model
    except IndexUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    if built_with != ws.embedder.name:
        raise click.ClickException(
            f"index {where} was built with {built_with!r} but the setting "
            f"RAG_EMBEDDING_MODEL is {ws.embedder.name!r}: run `rag ingest` to rebuild it"
        )
    return ws


def build_engine(settings: Settings) -> Any:
    """Load the index (ingesting first if there is none) and wire the answer chain."""
    return open_workspace(settings).engine


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _print_failures(report: Any) -> None:
    for item in report.failed:
        click.echo(f"failed: {item['path']}: {item['error']}", err=True)
    for item in report.skipped:
        click.echo(f"skipped: {item['path']}: {item['error']}", err=True)
    for item in report.warnings:
        click.echo(f"warning: {item['path']}: {item['warning']}", err=True)


def render_answer(answer: Answer) -> str:
    """Terminal form: the short answer, the answer, then numbered sources with location and quote."""
    return f"{render_short(answer)}{answer.text}\n{render_sources(answer)}"


def render_short(answer: Answer) -> str:
    """'Answer: $1,496.5 million (Total sales, 2019)' and its derivation under it, then a blank line; '' when
    the answer has no short form."""
    if not answer.short or answer.abstained:
        return ""
    derivation = f"  = {answer.short.derivation}\n" if answer.short.derivation else ""
    return f"Answer: {answer.short.text}\n{derivation}\n"


def render_sources(answer: Answer) -> str:
    """What follows the answer's sentences: each source with the quote, a table row under its column headers;
    for an abstention, the closest passages."""
    lines = [""]
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
        if c.header:
            lines.append(f"      {c.header}")
        lines.append(f"      \"{c.quote}\"")
    return "\n".join(lines)


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """rag: answers questions from your documents, with verified citations."""
    # Read once by huggingface_hub and transformers when they are imported (only on the torch
    # backend, or to export the ONNX graph): the model is on disk, never fetched. `rag models`
    # is left as the environment says: `pull` is the one command that downloads, when asked.
    if ctx.invoked_subcommand == "models":
        return
    for name, value in OFFLINE.items():
        os.environ.setdefault(name, value)


@main.command()
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print one summary object.")
@click.option("--rebuild", is_flag=True, help="Ignore the existing index and rebuild from scratch.")
@click.option("--ray", "ray", default=None, metavar="local|ADDRESS",
              help="Load, chunk and embed as Ray Data stages: 'local' starts Ray on this machine, ADDRESS is a "
                   "running cluster's (HOST:PORT of its head, or auto). Same index as without it.")
def ingest(corpus: Path | None, index: Path | None, store: str | None, k: int | None, as_json: bool,
           rebuild: bool, ray: str | None) -> None:
    """Index the corpus incrementally: only new and changed files are embedded."""
    settings = make_settings(corpus=corpus, index=index, store=store, k=k)
    report = run_ingest(settings, rebuild=rebuild, show_progress=not as_json and sys.stderr.isatty(), ray=ray)
    if as_json:
        click.echo(json.dumps(report.summary()))
    else:
        if report.rebuilt:
            click.echo(f"note: {report.rebuilt}", err=True)
        _print_failures(report)
        for item in report.profiles:
            click.echo(f"  {item['path']}: {item['profile']}")
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
@llm_options
@doc_option
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def ask(question: str, corpus: Path | None, index: Path | None, store: str | None, k: int | None, llm: str | None,
        llm_base_url: str | None, as_json: bool, docs: tuple[str, ...]) -> None:
    """Answer QUESTION from the documents, citing the passages used."""
    from rag.app.engine import answer_json

    settings = make_settings(corpus=corpus, index=index, store=store, k=k, llm=llm, llm_base_url=llm_base_url)
    ws = open_workspace(settings)
    scope, engine = _scope(ws, docs), ws.engine
    try:
        if as_json:
            click.echo(json.dumps(answer_json(engine.ask(question, scope=scope)), ensure_ascii=False))
        else:
            _stream_to_terminal(engine.stream(question, scope=scope), hold=_whole(engine))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _stream_to_terminal(items: Any, hold: bool = False) -> None:
    """Print the short answer first, then each verified sentence, then the sources. An extractive answer is
    ready whole (`hold`): its lines wait for the short answer to be printed above them. A generated answer's
    sentences are printed as they are verified, so its short answer, read once the model has written, comes
    after them."""
    lines: list[str] = []
    for item in items:
        if isinstance(item, Answer):
            head = render_short(item) + "\n".join(lines) if lines else render_short(item).rstrip("\n")
            if head:
                click.echo(head)
            if item.note:
                click.echo(f"({item.note})")
            click.echo(render_sources(item))
        elif hold:
            lines.append(item)
        else:
            click.echo(item)


def _whole(engine: Any) -> bool:
    """Whether the engine's answers are ready whole (extractive), not written sentence by sentence."""
    from rag.answer.extractive import ExtractiveAnswerer

    return isinstance(engine.answerer, ExtractiveAnswerer)


@main.command()
@common_options
@llm_options
@doc_option
def chat(corpus: Path | None, index: Path | None, store: str | None, k: int | None, llm: str | None,
         llm_base_url: str | None, docs: tuple[str, ...]) -> None:
    """Ask questions in a terminal loop (empty line, 'exit' or Ctrl-D to leave)."""
    settings = make_settings(corpus=corpus, index=index, store=store, k=k, llm=llm, llm_base_url=llm_base_url)
    ws = open_workspace(settings)
    scope = _scope(ws, docs)
    history: list[str] = []
    click.echo(f"Answering from {settings.corpus} ({ws.stats()[1]} chunks). Ask a question.")
    while True:
        try:
            question = input("> ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not question or question.lower() in {"exit", "quit"}:
            break
        query = ws.standalone(question, history)
        history.append(query)
        if query != question:
            click.echo(f"(searching for: {query})")
        _stream_to_terminal(ws.stream(query, scope=scope), hold=_whole(ws.engine))
        click.echo()


@main.command(name="eval")
@common_options
@click.option("--qa", "qa", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Question set (JSONL: id, question, answer|null, facts, sources).")
@click.option("--json", "as_json", is_flag=True, help="Print {summary, results} as one JSON object.")
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Write report.json, report.md and report.html here.")
@click.option("--compare", "compare_to", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="An earlier report.json to show each metric's change against.")
@click.option("--fail-under", "gates", multiple=True, metavar="METRIC=VALUE ...",
              help="Exit 1 if METRIC falls short (latency and false_abstention_rate: if above). "
                   "Several gates may follow one flag.")
@click.argument("more_gates", nargs=-1, metavar="")
@llm_options
@doc_option
def eval_command(corpus: Path | None, index: Path | None, store: str | None, k: int | None, llm: str | None,
                 llm_base_url: str | None, qa: Path, as_json: bool,
                 out: Path | None, compare_to: Path | None, gates: tuple[str, ...],
                 more_gates: tuple[str, ...], docs: tuple[str, ...]) -> None:
    """Score answer accuracy on a question set, offline."""
    if more_gates and not gates:
        raise click.UsageError(f"unexpected arguments {' '.join(more_gates)}: gates go after --fail-under")
    gates = gates + more_gates
    from rag.eval import report as rpt
    from rag.eval.questions import QuestionSetError, load_questions
    from rag.eval.runner import run_eval

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
    settings = make_settings(corpus=corpus, index=index, store=store, k=k, llm=llm, llm_base_url=llm_base_url)
    ws = open_workspace(settings, refresh=True)
    engine, embedder = ws.engine, ws.embedder
    scope = _scope(ws, docs)
    try:  # a row's own scope must name indexed documents too
        for q in questions:
            if q.scope:
                ws.scope(q.scope)
    except ValueError as exc:
        raise click.ClickException(f"{qa}: question {q.id}: {exc}") from None

    if as_json or not sys.stderr.isatty():
        result = run_eval(engine, questions, settings.corpus, embedder.embed_documents, scope=scope)
    else:
        from rich.progress import Progress

        with Progress(console=_stderr_console()) as bar:
            task = bar.add_task("questions", total=len(questions))
            result = run_eval(engine, questions, settings.corpus, embedder.embed_documents, scope=scope,
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



@main.command()
@common_options
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; beyond this machine only with --auth.")
@click.option("--port", default=7860, show_default=True, type=int)
@click.option("--auth", "auth", default=None, metavar="USER:PASS", envvar="RAG_UI_AUTH",
              help="Require a login [RAG_UI_AUTH].")
@llm_options
@doc_option
def ui(corpus: Path | None, index: Path | None, store: str | None, k: int | None, host: str, port: int,
       auth: str | None, llm: str | None, llm_base_url: str | None, docs: tuple[str, ...]) -> None:
    """Start the chat UI in the browser (indexes the corpus first, incrementally); --doc picks the
    documents to ask when a page opens, which the page can change."""
    import ui as web

    settings = make_settings(corpus=corpus, index=index, store=store, k=k, llm=llm, llm_base_url=llm_base_url)
    credentials = None
    if auth:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            raise click.UsageError("--auth / RAG_UI_AUTH must be USER:PASS")
        credentials = (user, password)
    if host not in {"127.0.0.1", "localhost", "::1"} and credentials is None:
        raise click.UsageError(f"binding to {host} shares the app beyond this machine: set --auth USER:PASS")
    ws = open_workspace(settings, refresh=True)
    app = web.create_app(ws, _scope(ws, docs)) if docs else web.create_app(ws)
    click.echo(f"Serving {settings.corpus} on http://{host}:{port}", err=True)
    web.launch(app, host=host, port=port, auth=credentials)


@main.group()
def feedback() -> None:
    """Work with the thumbs up/down ratings given in the UI."""


@feedback.command("export")
@common_options
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Question-set JSONL to write (usable with rag eval --qa).")
def feedback_export(corpus: Path | None, index: Path | None, store: str | None, k: int | None, out: Path) -> None:
    """Turn liked answers into a regression question set for `rag eval`."""
    from rag.app.feedback import feedback_to_questions

    settings = make_settings(corpus=corpus, index=index, store=store, k=k)
    source = settings.index / "feedback.jsonl"
    if not source.exists():
        raise click.ClickException(f"no feedback yet in {source}: rate answers in `rag ui` first")
    questions, disliked = feedback_to_questions(source.read_text("utf-8").splitlines())
    out.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in questions), "utf-8")
    click.echo(f"wrote {len(questions)} questions to {out}; {disliked} disliked answers left for review")


@main.group()
def models() -> None:
    """Download GGUF chat models from the Hugging Face Hub, to answer with --llm local:REPO/FILE."""


def _model_names(model: str, file: str | None) -> tuple[str, str]:
    """`REPO FILE`, `REPO/FILE` or `local:REPO/FILE` -> (repo, file)."""
    from rag.app.models import ModelError, check_names, split_spec

    try:
        if file is None:
            return split_spec(model.removeprefix("local:"))
        check_names(model, file)
        return model, file
    except ModelError as exc:
        raise click.UsageError(str(exc)) from None


@models.command("pull")
@click.argument("repo")
@click.argument("file", required=False)
def models_pull(repo: str, file: str | None) -> None:
    """Download FILE (a .gguf) of the Hub repository REPO into RAG_MODELS_DIR.

    A stopped download resumes where it stopped; the file is checked against the Hub's sha256.
    HF_ENDPOINT names a mirror; HF_TOKEN or `hf auth login` opens gated repositories.
    """
    from rag.app.models import ModelError, find, human_size, pull

    settings = make_settings()
    repo, file = _model_names(repo, file)
    if (model := find(repo, file, settings.models_dir)) is None:
        click.echo(f"Downloading {repo}/{file} into {settings.models_dir}", err=True)
        try:
            model = pull(repo, file, settings.models_dir)
        except ModelError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            raise click.ClickException(f"interrupted: run `rag models pull {repo} {file}` again to resume") from None
    else:
        click.echo(f"Already downloaded ({model.path}); `rag models remove {model.spec}` to download it again.",
                   err=True)
    click.echo(f"{model.spec}  {human_size(model.size)}  {model.path}")
    click.echo(f"Answer with it: rag ask --llm {model.spec} \"QUESTION\"  (or RAG_LLM={model.spec})", err=True)


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list: repo, file, spec, size, path, sha256.")
def models_list(as_json: bool) -> None:
    """List the downloaded models (partial downloads are not listed)."""
    from rag.app.models import downloaded, human_size

    settings = make_settings()
    found = downloaded(settings.models_dir)
    if as_json:
        click.echo(json.dumps([model.to_json() for model in found], ensure_ascii=False))
    elif not found:
        click.echo(f"No models in {settings.models_dir}: download one with `rag models pull REPO FILE` "
                   "(README: Local models).", err=True)
    for model in [] if as_json else found:
        click.echo(f"{model.spec}  {human_size(model.size)}  {model.path}")


@models.command("remove")
@click.argument("repo")
@click.argument("file", required=False)
def models_remove(repo: str, file: str | None) -> None:
    """Delete a downloaded model (REPO FILE, or its local:REPO/FILE spec), or a stopped download of it."""
    from rag.app.models import ModelError, human_size, remove

    settings = make_settings()
    repo, file = _model_names(repo, file)
    try:
        model = remove(repo, file, settings.models_dir)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Removed local:{repo}/{file}" + (f" ({human_size(model.size)})" if model else " (a partial download)"))


if __name__ == "__main__":
    main()
