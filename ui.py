"""The chat UI: a Gradio app over a `Workspace`, and the only module importing gradio.

`create_app(workspace)` builds the page from an already loaded workspace, so the model
is loaded once per process and tests can start the app on any free port. Document and
answer text is always HTML-escaped before it reaches the page: text inside documents is
data, never markup.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home: the product runs offline

import gradio as gr

from rag.app.engine import answer_json
from rag.app.html import example_questions, render_answer
from rag.app.scope import ScopeError
from rag.app.uploads import MAX_UPLOAD_BYTES
from rag.app.workspace import Workspace, WorkspaceError
from rag.load.corpus import SUPPORTED_SUFFIXES
from rag.types import Answer

log = logging.getLogger("rag.ui")

CSS = """
.rag-cite { font-weight: 600; text-decoration: none; padding: 0 1px; }
.rag-sources { margin-top: .6em; border-top: 1px solid #ddd; padding-top: .4em; font-size: .92em; }
.rag-src summary { cursor: pointer; }
.rag-src blockquote { margin: .3em 0 .6em 0; padding: .3em .6em; border-left: 3px solid #4a7bd0;
  white-space: pre-wrap; }
.rag-src mark { background: #ffe58a; }
.rag-src img.rag-page { display: block; max-width: 100%; height: auto; margin: .2em 0 .6em 0; border: 1px solid #ddd; }
.rag-header { display: block; font-size: .8em; color: #777; white-space: pre-wrap; }
.rag-card { display: block; margin: 0 0 .7em 0; padding: .5em .8em; border: 1px solid #c9d6ee; border-radius: 8px;
  background: #f4f7fd; color: #1d2533; }
.rag-card > summary, .rag-zoom > summary { list-style: none; }
.rag-zoom > summary { cursor: zoom-in; }
.rag-zoom > summary::-webkit-details-marker { display: none; }
.rag-card-value { display: block; font-size: 1.6em; font-weight: 700; line-height: 1.25; }
.rag-fact { display: block; font-size: .9em; }
.rag-fact-name { display: inline-block; min-width: 5.5em; color: #667; font-size: .85em; text-transform: uppercase;
  letter-spacing: .03em; }
.rag-card-hint { display: block; font-size: .78em; color: #4a7bd0; margin-top: .2em; }
.rag-card .rag-zoom-view { display: none; }
/* The chat dims its messages with opacity, which would trap the opened page under the page's other panels. */
#rag-chat .prose.chatbot.md:has(details.rag-zoom[open]) { opacity: 1; }
.rag-zoom[open] > summary .rag-zoom-view { display: block; position: fixed; inset: 0; z-index: 10000; overflow: auto;
  padding: 2vh 2vw; background: rgba(15, 18, 25, .88); cursor: zoom-out; }
.rag-zoom[open] > summary .rag-zoom-view img.rag-page { display: block; margin: 0 auto; width: auto;
  max-width: 100%; height: auto; max-height: none; border: 0; }
.rag-src:target, .rag-src.rag-flash { outline: 2px solid #4a7bd0; }
.rag-abstain { font-weight: 600; color: #8a5300; }
.rag-note { font-style: italic; color: #444; margin: .2em 0; }
.rag-query { font-size: .85em; color: #666; }
.rag-model { font-size: .85em; color: #555; margin-top: .4em; }
abbr.rag-computed { text-decoration: underline dotted; cursor: help; }
.rag-removed summary, .rag-derived summary { cursor: pointer; font-size: .9em; color: #555; }
.rag-unverified { font-size: .8em; font-weight: 600; color: #8a1c00; border: 1px solid #8a1c00; border-radius: 3px;
  padding: 0 3px; }
.rag-why { color: #666; font-size: .9em; }
"""

# Clicking [n] opens and shows its source; Escape closes an opened page. Delegated, so they work for
# streamed messages; the page still opens and closes by click without them (see rag/app/html.py).
HEAD = """<script>
document.addEventListener('keydown', function (e) {
  if (e.key === 'Escape') document.querySelectorAll('details.rag-zoom[open]').forEach(d => { d.open = false; });
});
document.addEventListener('click', function (e) {
  const a = e.target.closest && e.target.closest('a.rag-cite');
  if (!a) return;
  e.preventDefault(); e.stopPropagation();
  const id = (a.getAttribute('href') || '').slice(1);
  const el = document.getElementById(id);
  if (el) { el.open = true; el.classList.add('rag-flash'); el.scrollIntoView({block: 'nearest'}); }
}, true);
</script>"""


_PROGRESS = gr.Progress()


def _header(ws: Workspace, mode: str | None = None, model: str | None = None) -> str:
    """What the page serves and how it answers: with the answer mode and model chosen in the settings."""
    docs, chunks = ws.stats()
    _, model = ws.answering(mode, model)
    if model:
        how = (f"Answers are written by **{escape(model)}**; each sentence is shown only once the passages it "
               "cites support it, and a computed figure only when one step of arithmetic over their figures "
               "gives it.")
    else:
        how = "Answers quote the documents verbatim (extractive, no language model)."
        if ws.models():
            how += " A language model can write them instead: see Settings."
    return (f"### rag — answers from your documents\nCorpus **{escape(str(ws.corpus))}**: "
            f"{docs} documents, {chunks} chunks. {how} Every answer cites its passages; "
            "when the documents don't hold the answer, it says so.")


@dataclass(frozen=True)
class ChatPanel:
    chat: gr.Chatbot
    box: gr.Textbox
    send: gr.Button
    status: gr.Markdown


@dataclass(frozen=True)
class ScopePanel:
    docs: gr.Dropdown


@dataclass(frozen=True)
class SettingsPanel:
    k: gr.Slider
    mode: gr.Radio
    model: gr.Dropdown
    show: gr.Checkbox


@dataclass(frozen=True)
class DocumentsPanel:
    upload: gr.File
    docs: gr.Dataframe
    which: gr.Dropdown
    remove: gr.Button
    reindex: gr.Button


def chat_panel(examples: Sequence[str] = ()) -> ChatPanel:
    """The conversation, the question box, example questions (when there are any) and the status line."""
    chat = gr.Chatbot(height=560, label="Chat", feedback_options=("Like", "Dislike"), elem_id="rag-chat",
                      sanitize_html=True)
    with gr.Row():
        box = gr.Textbox(placeholder="Ask a question about the documents…", show_label=False, scale=5,
                         elem_id="rag-question", max_length=2000)
        send = gr.Button("Ask", variant="primary", scale=1, elem_id="rag-ask")
    if examples:
        gr.Examples(list(examples), inputs=[box], label="Examples")
    return ChatPanel(chat, box, send, gr.Markdown("", elem_id="rag-status"))


def scope_panel(ws: Workspace, chosen: Collection[str] | None = None) -> ScopePanel:
    """The documents to ask (none chosen: all of them), `chosen` picked to begin with (`rag ui --doc`)."""
    sources = [row[0] for row in ws.document_rows()]
    docs = gr.Dropdown(sources, value=[s for s in sources if s in (chosen or ())], multiselect=True,
                       label="Ask only these documents", info="None chosen: every document.", elem_id="rag-scope")
    return ScopePanel(docs)


def settings_panel(ws: Workspace) -> SettingsPanel:
    """Top-k, the answer mode, the model that writes generative answers, and whether to show the
    retrieved passages."""
    with gr.Accordion("Settings", open=False):
        k = gr.Slider(1, 20, value=ws.k, step=1, label="Passages (top-k)")
        models = ws.models()
        mode = gr.Radio(ws.modes, value=ws.default_mode, label="Answer mode", elem_id="rag-mode",
                        info="Generative sentences are each verified against their citations."
                        if models else "Extractive quotes the documents; no LLM is configured.")
        model = gr.Dropdown(models, value=models[0] if models else None, label="Model", visible=bool(models),
                            elem_id="rag-model", info="The configured model and those downloaded with "
                                                      "`rag models pull`; a local one loads when first asked.")
        show = gr.Checkbox(False, label="Show retrieved passages")
    return SettingsPanel(k, mode, model, show)


def documents_panel(ws: Workspace) -> DocumentsPanel:
    """Uploads, the document list, removal and re-indexing."""
    with gr.Accordion("Documents", open=True):
        # No `file_types`: Gradio would reject a whole batch over one bad file with a
        # passing toast; add_files accepts the good ones and says why it refused the rest.
        upload = gr.File(label=f"Add documents ({', '.join(sorted(SUPPORTED_SUFFIXES))})",
                         file_count="multiple", elem_id="rag-upload")
        rows = ws.document_rows()
        docs = gr.Dataframe(value=rows, headers=["document", "chunks", "profile"], interactive=False,
                            elem_id="rag-docs")
        which = gr.Dropdown([row[0] for row in rows], label="Document", value=None)
        with gr.Row():
            remove = gr.Button("Remove", variant="stop")
            reindex = gr.Button("Re-index")
    return DocumentsPanel(upload, docs, which, remove, reindex)


def responder(ws: Workspace) -> Callable[..., Iterator[tuple[Any, ...]]]:
    """The chat handler: streams verified text, then the rendered answer; the page stays usable
    whatever fails below. Yields (history, box, session, status)."""

    def respond(message: str, history: list[dict[str, Any]], state: dict[str, Any], top_k: int,
                show_retrieved: bool, answer_mode: str, model: str | None = None,
                docs: Sequence[str] | None = None) -> Iterator[tuple[Any, ...]]:
        message = (message or "").strip()
        if not message:
            yield history, "", state, ""
            return
        history = [*history, {"role": "user", "content": message}, {"role": "assistant", "content": "…"}]
        yield history, "", state, ""
        shown: list[str] = []
        answer: Answer | None = None
        try:
            query = ws.standalone(message, state["queries"])
            scope = frozenset(docs) if docs else None  # the documents picked to ask; none: all
            for item in ws.stream(query, int(top_k), answer_mode, model, scope):  # verified text as it comes
                if isinstance(item, Answer):
                    answer = item
                    continue
                shown.append(item)
                history[-1] = {"role": "assistant", "content": escape("\n".join(shown))}
                yield history, "", state, ""
            if answer is None:
                raise RuntimeError("no answer was produced")
        except Exception as exc:
            log.exception("answering failed")
            history[-1] = {"role": "assistant", "content": f"Something went wrong: {escape(str(exc))}"}
            yield history, "", state, "**Error:** the question could not be answered; see the server log."
            return
        state = {**state, "queries": [*state["queries"], query], "turn": state["turn"] + 1}
        state["answers"] = {**state["answers"], len(history) - 1: (message, answer)}
        shown_query = query if query != message else None
        history[-1] = {"role": "assistant",
                       "content": render_answer(answer, state["turn"], ws, shown_query, show_retrieved)}
        yield history, "", state, ""

    return respond


def feedback_handler(ws: Workspace) -> Callable[[gr.LikeData, dict[str, Any]], str]:
    """Thumbs up/down on an answer of this session, saved with its question."""

    def on_feedback(data: gr.LikeData, state: dict[str, Any]) -> str:
        index = data.index if isinstance(data.index, int) else data.index[0]
        if index not in state["answers"]:
            return ""
        question, answer = state["answers"][index]
        ws.record_feedback(question, answer, bool(data.liked))
        return "Thanks — feedback saved."

    return on_feedback


class DocumentActions:
    """The document panel's handlers; each returns (header, documents, dropdown, documents to ask, status).

    The documents to ask keep those still indexed of the ones picked (`chosen`): a choice the list no
    longer offers would be refused when the next question is sent.
    """

    def __init__(self, ws: Workspace, chosen: Collection[str] | None = None) -> None:
        self.ws = ws
        self.chosen = list(chosen or ())  # picked when the app starts (`rag ui --doc`)

    def refreshed(self, note: str, chosen: Sequence[str] | None = None) -> tuple[Any, ...]:
        rows = self.ws.document_rows()
        sources = [row[0] for row in rows]
        kept = [s for s in chosen or () if s in sources]
        return (_header(self.ws), rows, gr.update(choices=sources, value=None),
                gr.update(choices=sources, value=kept), note)

    def on_load(self) -> tuple[Any, ...]:
        return self.refreshed("", self.chosen)[:4]

    def on_upload(self, files: list[str] | None, chosen: list[str] | None = None,
                  progress: gr.Progress = _PROGRESS) -> tuple[Any, ...]:
        if not files:
            return self.refreshed("", chosen)
        progress(0.1, desc="indexing")
        paths = [Path(f) for f in files]
        try:
            report, refused = self.ws.add_files(paths, [p.name for p in paths])
        except Exception as exc:
            log.exception("upload failed")
            return self.refreshed(f"**Error:** upload failed: {escape(str(exc))}", chosen)
        notes = []
        if report:
            notes.append(f"Indexed: {report.added} added, {report.updated} updated "
                         f"({report.chunks_embedded} chunks embedded).")
        notes += [f"Refused **{escape(r.name)}**: {escape(r.reason)}" for r in refused]
        return self.refreshed("  \n".join(notes), chosen)

    def on_remove(self, source: str | None, chosen: list[str] | None = None) -> tuple[Any, ...]:
        if not source:
            return self.refreshed("Choose a document to remove.", chosen)
        try:
            self.ws.remove(source)
        except WorkspaceError as exc:
            return self.refreshed(f"**Error:** {escape(str(exc))}", chosen)
        return self.refreshed(f"Removed {escape(source)}.", chosen)

    def on_reindex(self, chosen: list[str] | None = None) -> tuple[Any, ...]:
        report = self.ws.ingest()
        failed = "".join(f"  \nFailed {escape(f['path'])}: {escape(f['error'])}" for f in report.failed)
        return self.refreshed(f"Re-indexed: {report.added} added, {report.updated} updated, "
                              f"{report.removed} removed, {report.unchanged} unchanged.{failed}", chosen)


def api(ws: Workspace) -> Callable[..., dict[str, Any]]:
    def ask(question: str, top_k: int = 0, docs: list[str] | None = None) -> dict[str, Any]:
        """Answer one question, from the documents `docs` names (source paths or globs, as `rag ask --doc`;
        none: all); the same object as `rag ask --json`."""
        try:
            scope = ws.scope(docs or ())
        except ScopeError as exc:
            raise gr.Error(str(exc)) from None
        return answer_json(ws.engine.ask(question, top_k or None, scope))

    return ask


def create_app(ws: Workspace, scope: Collection[str] | None = None) -> gr.Blocks:
    """The page: panels built by the functions above, then wired to their handlers. `scope` is the
    documents picked to ask when a page opens (`rag ui --doc`); None: every document."""
    with gr.Blocks(title="rag") as app:
        header = gr.Markdown(_header(ws))
        session = gr.State({"queries": [], "answers": {}, "turn": 0})
        with gr.Row():
            with gr.Column(scale=3):
                chat = chat_panel(example_questions(ws.profiles()))
            with gr.Column(scale=1):
                picked = scope_panel(ws, scope)
                settings = settings_panel(ws)
                documents = documents_panel(ws)

        respond = responder(ws)
        inputs = [chat.box, chat.chat, session, settings.k, settings.show, settings.mode, settings.model, picked.docs]
        outputs = [chat.chat, chat.box, session, chat.status]
        chat.send.click(respond, inputs, outputs, api_visibility="private")
        chat.box.submit(respond, inputs, outputs, api_visibility="private")
        chat.chat.like(feedback_handler(ws), [session], [chat.status])
        def described(mode: str, model: str | None) -> str:  # the header says how the next answer will be made
            return _header(ws, mode, model)

        choice = [settings.mode, settings.model]
        settings.mode.change(described, choice, [header], api_visibility="private")
        settings.model.change(described, choice, [header], api_visibility="private")

        actions = DocumentActions(ws, scope)
        panel = [header, documents.docs, documents.which, picked.docs, chat.status]
        documents.upload.upload(actions.on_upload, [documents.upload, picked.docs], panel, api_visibility="private")
        # The values above are fixed when the app is built; a page opened after an upload or
        # removal (a reload, a second tab) must show the documents as they are now.
        app.load(actions.on_load, None, panel[:4], api_visibility="private")
        documents.remove.click(actions.on_remove, [documents.which, picked.docs], panel, api_visibility="private")
        documents.reindex.click(actions.on_reindex, [picked.docs], panel, api_visibility="private")
        gr.api(api(ws), api_name="ask")
    return app


def launch(app: gr.Blocks, *, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None,
           block: bool = True) -> gr.Blocks:
    """Serve the app: a bounded queue, an upload size limit, our CSS and citation script."""
    app.queue(default_concurrency_limit=4, max_size=256)
    app.launch(server_name=host, server_port=port, auth=auth, max_file_size=MAX_UPLOAD_BYTES,
               css=CSS, head=HEAD, show_error=False, prevent_thread_lock=not block, footer_links=["api"])
    return app
