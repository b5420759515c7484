"""The chat UI: a Gradio app over a `Workspace`, and the only module importing gradio.

`create_app(workspace)` builds the page from an already loaded workspace, so the model
is loaded once per process and tests can start the app on any free port. Document and
answer text is always HTML-escaped before it reaches the page: text inside documents is
data, never markup.
"""

from __future__ import annotations

import base64
import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home: the product runs offline

import gradio as gr

from rag.answer.cite import link_markers
from rag.app.engine import answer_json
from rag.app.uploads import MAX_UPLOAD_BYTES
from rag.app.workspace import Workspace, WorkspaceError
from rag.load.corpus import SUPPORTED_SUFFIXES
from rag.types import Answer, Citation, Profile

log = logging.getLogger("rag.ui")

EXAMPLES = [
    "Why is CoreWeave unprofitable?",
    "What is CoreWeave's 2025 capex guidance?",
    "How does CoreWeave's Price/Book multiple compare with Microsoft's?",
]
# The documents EXAMPLES were written for: the shipped corpus/ folder.
SHIPPED_SOURCES = frozenset({"coreweave-vs-microsoft-ai-infrastructure.txt", "microsoft-meta-coreweave-ai-spending.md"})
# Forms whose documents state a company's revenue for a period.
FINANCIAL_FORMS = frozenset({"10-K", "10-Q", "8-K", "20-F", "40-F", "6-K", "earnings release"})
MARKDOWN_SUFFIXES = (".md", ".markdown")

CSS = """
.rag-cite { font-weight: 600; text-decoration: none; padding: 0 1px; }
.rag-sources { margin-top: .6em; border-top: 1px solid #ddd; padding-top: .4em; font-size: .92em; }
.rag-src summary { cursor: pointer; }
.rag-src blockquote { margin: .3em 0 .6em 0; padding: .3em .6em; border-left: 3px solid #4a7bd0;
  white-space: pre-wrap; }
.rag-src mark { background: #ffe58a; }
.rag-src img.rag-page { display: block; max-width: 100%; margin: .2em 0 .6em 0; border: 1px solid #ddd; }
.rag-src:target, .rag-src.rag-flash { outline: 2px solid #4a7bd0; }
.rag-abstain { font-weight: 600; color: #8a5300; }
.rag-query { font-size: .85em; color: #666; }
"""

# Clicking [n] opens and shows its source; delegated, so it works for streamed messages.
HEAD = """<script>
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


def _text(text: str) -> str:
    """Document text as HTML that no Markdown pass can reinterpret: escaped, and on one line.

    The chat renders Markdown, and a blank line would end the HTML block and turn the text
    after it into Markdown ('**x**' -> bold, '![](url)' -> a remote image); newlines become
    character references instead, which the pre-wrap style still shows as line breaks.
    """
    return escape(text).replace("\r", "&#13;").replace("\n", "&#10;")


def _where(source: str, page: int | None, section: str | None) -> str:
    """Where a passage sits, as a reader looks for it: 'report.pdf · page 2 · Item 8 › Cash Flows'.

    A Markdown heading keeps only its words ('## Risks:' -> 'Risks').
    """
    place = [f"page {page}"] if page else []
    if section and section.strip("*# :"):
        place.append(section.strip("*# :"))
    return " · ".join(_text(part) for part in [source, *place])


# Private-use characters stand in for tags while the text is still escaped plain text, so the
# emphasis rules below see the quote's bounds and can keep every tag properly nested.
_MARK, _UNMARK, _STRONG, _UNSTRONG, _EM, _UNEM = (chr(0xE000 + i) for i in range(6))
_STAND_INS = re.compile(f"[{_MARK}-{_UNEM}]")
_TAGS = {_MARK: "mark", _STRONG: "strong", _EM: "em"}
_CLOSES = {_UNMARK: "mark", _UNSTRONG: "strong", _UNEM: "em"}


def _delimited(delimiter: str, content: str) -> re.Pattern[str]:
    """Emphasis that opens and closes on word boundaries, so snake_case and 2*3*4 are left alone."""
    d = re.escape(delimiter[0])
    run = re.escape(delimiter)
    return re.compile(rf"(?<![\w{d}]){run}(?![\s{d}])({content})(?<![\s{d}]){run}(?![\w{d}])", re.S)


_NO_PARAGRAPH = "(?:(?!\n\n).)+?"  # emphasis never runs across a blank line
_NO_STRONG_EDGE = f"(?:(?!\n\n)[^{_STRONG}{_UNSTRONG}]|{_STRONG}[^{_UNSTRONG}]*{_UNSTRONG})+?"
_EMPHASIS = [(_delimited(d, _NO_PARAGRAPH), _STRONG, _UNSTRONG) for d in ("**", "__")] + [
    (_delimited(d, _NO_STRONG_EDGE), _EM, _UNEM) for d in ("*", "_")]


def emphasis(text: str) -> str:
    """Markdown's bold and italic markers in plain text as HTML, on word boundaries.

    '**Net** revenue in *2024*, not snake_case or 2*3*4' -> '<strong>Net</strong> revenue in
    <em>2024</em>, not snake_case or 2*3*4'
    """
    return _markup(_emphasize(escape(_STAND_INS.sub("", text))))


def _emphasize(text: str) -> str:
    """Bold and italic spans of escaped text as stand-ins; italics never straddle a bold span,
    so the tags they become nest."""
    for pattern, opening, closing in _EMPHASIS:
        text = pattern.sub(f"{opening}\\1{closing}", text)
    return text


def _markup(text: str) -> str:
    """Stand-ins to tags, emphasis closed before the quote's <mark> opens or closes and reopened
    after it, so a bold sentence cut by the quote's edge still nests; then _text's line rule."""
    out: list[str] = []
    open_tags: list[str] = []
    for piece in re.split(f"({_STAND_INS.pattern})", text):
        if piece in (_MARK, _UNMARK):
            out += [f"</{tag}>" for tag in reversed(open_tags)]
            out.append("<mark>" if piece == _MARK else "</mark>")
            out += [f"<{tag}>" for tag in open_tags]
        elif piece in _TAGS:
            open_tags.append(_TAGS[piece])
            out.append(f"<{_TAGS[piece]}>")
        elif piece in _CLOSES:
            open_tags.pop()
            out.append(f"</{_CLOSES[piece]}>")
        else:
            out.append(piece)
    return "".join(out).replace("\r", "&#13;").replace("\n", "&#10;")


def _passage(before: str, quote: str, after: str, source: str) -> str:
    """A quote highlighted in its context, as _text does it; Markdown emphasis is rendered for
    Markdown files, where '**' is formatting the author never meant a reader to see."""
    pieces = [escape(_STAND_INS.sub("", part)) for part in (before, quote, after)]
    text = (f"{pieces[0]}{_MARK}{pieces[1]}{_UNMARK}" if quote else pieces[0]) + pieces[2]
    return _markup(_emphasize(text) if source.lower().endswith(MARKDOWN_SUFFIXES) else text)


def _page_image(workspace: Workspace, citation: Citation) -> str:
    """The cited PDF page with the quote highlighted, inline as a data: URI.

    Inline, the image travels inside the chat message itself: Gradio's HTML sanitizer keeps
    data: images, the picture needs no route of its own (which would sit outside the app's
    auth and need its files cleaned up), and a message stays whole when the chat re-renders
    it. The price is message size, which is why only citations get one, never the
    abstention's closest passages.
    """
    shown = workspace.page_image(citation.source, citation.start, citation.end)
    if shown is None:
        return ""
    page, png = shown
    alt = _text(f"page {page} of {citation.source}, quoted passage highlighted")
    return f'<img class="rag-page" alt="{alt}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def render_answer(answer: Answer, turn: int, workspace: Workspace | None = None, query: str | None = None,
                  show_retrieved: bool = False) -> str:
    """An answer as HTML: [n] markers link to numbered sources, each quote highlighted in
    its surrounding text; an abstention is marked as such with the closest passages."""
    parts = []
    if query:
        parts.append(f'<div class="rag-query">Searched for: {_text(query)}</div>')
    if answer.abstained:
        parts.append('<div class="rag-abstain">Not found in the documents.</div>'
                     f"<p>{_text(answer.text)} The closest passages:</p>")
        parts.append('<div class="rag-sources">')
        for i, hit in enumerate(answer.hits[:3], start=1):
            ch = hit.chunk
            where = _where(ch.source, ch.page, ch.section)
            parts.append(f'<details class="rag-src" id="src-{turn}-{i}"><summary>{where}'
                         f"</summary><blockquote>{_passage(ch.text, '', '', ch.source)}</blockquote></details>")
        parts.append("</div>")
        return "".join(parts)

    cited = {c.id for c in answer.citations}

    def link(n: int, marker: str) -> str:
        if n not in cited:  # "[99]" quoted from a document is text, not a citation
            return marker
        return f'<a class="rag-cite" href="#src-{turn}-{n}">[{n}]</a>'

    # A sentence quoted from a Markdown file shows its emphasis as the file's reader would.
    markdown = {c.id for c in answer.citations if c.source.lower().endswith(MARKDOWN_SUFFIXES)}

    def shown(line: str) -> str:
        quoted_from = {int(n) for n in re.findall(r"\[(\d+)\]", line)}
        return emphasis(line) if quoted_from & markdown else _text(line)

    lines = [re.sub(r"^- ", "", line) for line in answer.text.splitlines() if line.strip()]
    items = [link_markers(shown(line), link) for line in lines]
    listed = "".join(f"<li>{i}</li>" for i in items)
    parts.append(f"<p>{items[0]}</p>" if len(items) == 1 else f"<ul>{listed}</ul>")
    parts.append('<div class="rag-sources"><b>Sources</b>')
    for c in answer.citations:
        before, quote, after = workspace.passage_context(c.source, c.start, c.end) if workspace else ("", "", "")
        body = f"…{_passage(before, quote or c.quote, after, c.source)}…"
        image = _page_image(workspace, c) if workspace else ""
        parts.append(f'<details class="rag-src" id="src-{turn}-{c.id}"><summary>[{c.id}] '
                     f"{_where(c.source, c.page, c.section)}, chars {c.start}–{c.end}</summary>"
                     f"<blockquote>{body}</blockquote>{image}</details>")
    parts.append("</div>")
    if show_retrieved:
        rows = "".join(f"<li>{_text(h.chunk.source)} ({h.score:.4f}): {_text(h.chunk.text[:300])}…</li>"
                       for h in answer.hits)
        parts.append(f"<details><summary>Retrieved passages ({len(answer.hits)})</summary><ol>{rows}</ol></details>")
    return "".join(parts)


def example_questions(profiles: dict[str, Profile | None]) -> list[str]:
    """Example questions the served documents can answer, from their sources and profiles.

    The CoreWeave questions only for the shipped corpus, which they were written for; else one
    revenue question per company with a dated financial filing, at most three; else none.
    {"3m-2018-10k.pdf": Profile(company="3M Company", form="10-K", period="FY2018"), "notes.txt": None}
    -> ["What was 3M Company's total revenue in FY2018?"]
    """
    if set(profiles) == SHIPPED_SOURCES:
        return list(EXAMPLES)
    questions: dict[str, str] = {}
    for _, profile in sorted(profiles.items()):
        if profile is None or not (profile.company and profile.period) or profile.form not in FINANCIAL_FORMS:
            continue
        if profile.company.casefold() not in questions and len(questions) < 3:
            questions[profile.company.casefold()] = _revenue_question(profile.company, profile.period)
    return list(questions.values())


def _revenue_question(company: str, period: str) -> str:
    """'FY2018' and 'Q3 2024' read 'in …'; 'quarter ended June 30, 2024' reads 'for the …'; an
    8-K's report date reads 'reported on …'."""
    owner = f"{company}'" if company.endswith("s") else f"{company}'s"
    if period.startswith("quarter"):
        return f"What was {owner} total revenue for the {period}?"
    if re.fullmatch(r"(?:FY|Q[1-4] )?\d{4}", period):
        return f"What was {owner} total revenue in {period}?"
    return f"What total revenue did {company} report on {period}?"


def _header(ws: Workspace) -> str:
    docs, chunks = ws.stats()
    return (f"### rag — answers from your documents\nCorpus **{escape(str(ws.corpus))}**: "
            f"{docs} documents, {chunks} chunks. Answers quote the documents verbatim and cite them; "
            "when the documents don't hold the answer, it says so.")


@dataclass(frozen=True)
class ChatPanel:
    chat: gr.Chatbot
    box: gr.Textbox
    send: gr.Button
    status: gr.Markdown


@dataclass(frozen=True)
class SettingsPanel:
    k: gr.Slider
    mode: gr.Radio
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


def settings_panel(ws: Workspace) -> SettingsPanel:
    """Top-k, the answer mode and whether to show the retrieved passages."""
    with gr.Accordion("Settings", open=False):
        k = gr.Slider(1, 20, value=ws.k, step=1, label="Passages (top-k)")
        generative = "generative" in ws.modes
        mode = gr.Radio(ws.modes, value=ws.modes[-1], label="Answer mode",
                        info="Generative sentences are each verified against their citations."
                        if generative else "Extractive quotes the documents; no LLM is configured.")
        show = gr.Checkbox(False, label="Show retrieved passages")
    return SettingsPanel(k, mode, show)


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
                show_retrieved: bool, answer_mode: str) -> Iterator[tuple[Any, ...]]:
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
            for item in ws.stream(query, int(top_k), answer_mode):  # verified text as it comes
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
    """The document panel's handlers; each returns (header, documents, dropdown, status)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def refreshed(self, note: str) -> tuple[Any, ...]:
        rows = self.ws.document_rows()
        return _header(self.ws), rows, gr.update(choices=[row[0] for row in rows], value=None), note

    def on_load(self) -> tuple[Any, ...]:
        return self.refreshed("")[:3]

    def on_upload(self, files: list[str] | None, progress: gr.Progress = _PROGRESS) -> tuple[Any, ...]:
        if not files:
            return self.refreshed("")
        progress(0.1, desc="indexing")
        paths = [Path(f) for f in files]
        try:
            report, refused = self.ws.add_files(paths, [p.name for p in paths])
        except Exception as exc:
            log.exception("upload failed")
            return self.refreshed(f"**Error:** upload failed: {escape(str(exc))}")
        notes = []
        if report:
            notes.append(f"Indexed: {report.added} added, {report.updated} updated "
                         f"({report.chunks_embedded} chunks embedded).")
        notes += [f"Refused **{escape(r.name)}**: {escape(r.reason)}" for r in refused]
        return self.refreshed("  \n".join(notes))

    def on_remove(self, source: str | None) -> tuple[Any, ...]:
        if not source:
            return self.refreshed("Choose a document to remove.")
        try:
            self.ws.remove(source)
        except WorkspaceError as exc:
            return self.refreshed(f"**Error:** {escape(str(exc))}")
        return self.refreshed(f"Removed {escape(source)}.")

    def on_reindex(self) -> tuple[Any, ...]:
        report = self.ws.ingest()
        failed = "".join(f"  \nFailed {escape(f['path'])}: {escape(f['error'])}" for f in report.failed)
        return self.refreshed(f"Re-indexed: {report.added} added, {report.updated} updated, "
                              f"{report.removed} removed, {report.unchanged} unchanged.{failed}")


def api(ws: Workspace) -> Callable[[str, int], dict[str, Any]]:
    def ask(question: str, top_k: int = 0) -> dict[str, Any]:
        """Answer one question; the same object as `rag ask --json`."""
        return answer_json(ws.engine.ask(question, top_k or None))

    return ask


def create_app(ws: Workspace) -> gr.Blocks:
    """The page: panels built by the functions above, then wired to their handlers."""
    with gr.Blocks(title="rag") as app:
        header = gr.Markdown(_header(ws))
        session = gr.State({"queries": [], "answers": {}, "turn": 0})
        with gr.Row():
            with gr.Column(scale=3):
                chat = chat_panel(example_questions(ws.profiles()))
            with gr.Column(scale=1):
                settings = settings_panel(ws)
                documents = documents_panel(ws)

        respond = responder(ws)
        inputs = [chat.box, chat.chat, session, settings.k, settings.show, settings.mode]
        outputs = [chat.chat, chat.box, session, chat.status]
        chat.send.click(respond, inputs, outputs, api_visibility="private")
        chat.box.submit(respond, inputs, outputs, api_visibility="private")
        chat.chat.like(feedback_handler(ws), [session], [chat.status])

        actions = DocumentActions(ws)
        panel = [header, documents.docs, documents.which, chat.status]
        documents.upload.upload(actions.on_upload, [documents.upload], panel, api_visibility="private")
        # The values above are fixed when the app is built; a page opened after an upload or
        # removal (a reload, a second tab) must show the documents as they are now.
        app.load(actions.on_load, None, panel[:3], api_visibility="private")
        documents.remove.click(actions.on_remove, [documents.which], panel, api_visibility="private")
        documents.reindex.click(actions.on_reindex, None, panel, api_visibility="private")
        gr.api(api(ws), api_name="ask")
    return app


def launch(app: gr.Blocks, *, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None,
           block: bool = True) -> gr.Blocks:
    """Serve the app: a bounded queue, an upload size limit, our CSS and citation script."""
    app.queue(default_concurrency_limit=4, max_size=256)
    app.launch(server_name=host, server_port=port, auth=auth, max_file_size=MAX_UPLOAD_BYTES,
               css=CSS, head=HEAD, show_error=False, prevent_thread_lock=not block, footer_links=["api"])
    return app
