"""The page's panels and handlers, each built and driven on its own, without a browser."""

from __future__ import annotations

import base64
import io
import shutil
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from bs4 import BeautifulSoup, Tag
from click.testing import CliRunner
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from PIL import Image

import rag.cli
import ui
from rag.app import html as answer_html
from rag.app.workspace import Workspace
from rag.embed.hashing import HashingEmbedder
from rag.types import Answer, Citation, ShortAnswer

TEXT = "Kestrel Mills makes flour. Kestrel Mills sold 40 tonnes of rye flour in 2024 to bakeries in Leeds."


def small(tmp_path: Path, **options: Any) -> Workspace:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "mill.txt").write_text(TEXT, "utf-8")
    ws = Workspace(corpus, tmp_path / "index", HashingEmbedder(), **options)
    ws.ingest()
    return ws


def test_each_panel_builds_its_components(tmp_path: Path) -> None:
    ws = small(tmp_path)
    with gr.Blocks():
        chat = ui.chat_panel()
        settings = ui.settings_panel(ws)
        documents = ui.documents_panel(ws)
    assert isinstance(chat.chat, gr.Chatbot) and chat.box.elem_id == "rag-question"
    assert settings.k.value == ws.k and settings.mode.value == "extractive"
    assert documents.docs.value["data"] == [["mill.txt", 1, ""]]


def test_responder_streams_then_renders_a_cited_answer(tmp_path: Path) -> None:
    ws = small(tmp_path)
    respond = ui.responder(ws)
    state = {"queries": [], "answers": {}, "turn": 0}
    steps = list(respond("How many tonnes of rye flour did Kestrel Mills sell?", [], state, 5, False, "extractive"))
    history, box, final_state, status = steps[-1]
    assert box == "" and status == ""
    assert history[0] == {"role": "user", "content": "How many tonnes of rye flour did Kestrel Mills sell?"}
    assert 'class="rag-cite"' in history[1]["content"] and "40 tonnes" in history[1]["content"]
    assert final_state["turn"] == 1 and list(final_state["answers"]) == [1]


def test_empty_message_changes_nothing(tmp_path: Path) -> None:
    state = {"queries": [], "answers": {}, "turn": 0}
    assert list(ui.responder(small(tmp_path))("  ", [], state, 5, False, "extractive")) == [([], "", state, "")]


def test_document_actions_remove_and_report(tmp_path: Path) -> None:
    ws = small(tmp_path)
    actions = ui.DocumentActions(ws)
    assert actions.on_remove(None)[-1] == "Choose a document to remove."
    assert "is not a document in" in actions.on_remove("../etc/passwd")[-1]
    header, docs, _, picked, note = actions.on_remove("mill.txt", ["mill.txt"])
    assert note == "Removed mill.txt." and docs == [] and "0 documents" in header
    assert picked["choices"] == [] and picked["value"] == []  # a removed document is no longer asked


def test_api_answers_like_rag_ask_json(tmp_path: Path) -> None:
    reply = ui.api(small(tmp_path))("How many tonnes of rye flour did Kestrel Mills sell?", 0)
    assert reply["abstained"] is False and reply["citations"][0]["source"] == "mill.txt"


def test_downloaded_models_are_offered_and_the_chosen_one_answers(tmp_path: Path) -> None:
    """A local model is loaded when first chosen, one at a time; the answer and the header say which answered.
    The chat model is LangChain's scripted fake: what is tested is the choosing, not the model."""
    loaded: list[str] = []

    def load(spec: str) -> tuple[GenericFakeChatModel, dict[str, object]]:
        loaded.append(spec)
        reply = AIMessage("Kestrel Mills sold 40 tonnes of rye flour in 2024 to bakeries in Leeds. [1]")
        return GenericFakeChatModel(messages=iter([reply])), {"count_tokens": len, "label": spec}

    ws = small(tmp_path, local_models=lambda: ["local:o/a.gguf", "local:o/b.gguf"], load_model=load)
    assert ws.models() == ["local:o/a.gguf", "local:o/b.gguf"] and ws.modes == ["extractive", "generative"]
    assert ws.default_mode == "extractive" and ws.answering() == ("extractive", None)  # nothing chosen, no model
    assert "extractive, no language model" in ui._header(ws) and "see Settings" in ui._header(ws)
    assert "Answers are written by **local:o/b.gguf**" in ui._header(ws, "generative", "local:o/b.gguf")
    assert "Answers are written by **local:o/a.gguf**" in ui._header(ws, "generative", None)  # the first one
    with gr.Blocks():
        settings = ui.settings_panel(ws)
    assert settings.model.visible and settings.model.value == "local:o/a.gguf"
    assert [c[0] for c in settings.model.choices] == ["local:o/a.gguf", "local:o/b.gguf"]

    respond = ui.responder(ws)
    state = {"queries": [], "answers": {}, "turn": 0}
    question = "How many tonnes of rye flour did Kestrel Mills sell?"
    *_, (history, _, state, _) = respond(question, [], state, 5, False, "generative", "local:o/b.gguf")
    assert "Written by local:o/b.gguf" in history[-1]["content"] and "40 tonnes" in history[-1]["content"]
    assert state["answers"][1][1].model == "local:o/b.gguf"
    *_, (history, _, _, _) = respond(question, [], state, 5, False, "generative", "local:o/a.gguf")
    assert "Written by local:o/a.gguf" in history[-1]["content"]
    ws.ask(question, mode="generative", model="local:o/b.gguf")
    assert loaded == ["local:o/b.gguf", "local:o/a.gguf", "local:o/b.gguf"]  # one loaded at a time


def test_with_no_model_there_is_nothing_to_choose(tmp_path: Path) -> None:
    ws = small(tmp_path)
    with gr.Blocks():
        settings = ui.settings_panel(ws)
    assert ws.modes == ["extractive"] and not settings.model.visible
    assert "Answers quote the documents verbatim" in ui._header(ws) and "Settings" not in ui._header(ws)


# ---------------------------------------------------------------- the short answer and table rows

ROW = "Total sales $ 1,496.5 $ 1,380.2 $ 1,201.7"
HEADER = "2019 | 2018 | 2017"


def table_answer(short: ShortAnswer | None, source: str = "report-001.html", page: int | None = None) -> Answer:
    """An answer quoting one table row, as the extractive answerer gives it, with `short` as read from it."""
    cited = Citation(1, source, page, 100, 100 + len(ROW), ROW, header=HEADER)
    return Answer("What were total sales in 2019?", f"{ROW} [1]", False, "extractive", (cited,), (), short=short)


def short(**fields: Any) -> ShortAnswer:
    values: dict[str, Any] = {"text": "$1,496.5 million (Total sales, 2019)", "value": "$1,496.5 million",
                              "kind": "cell", "citations": (1,), "row": "Total sales", "column": "2019",
                              "unit": "$", "scale": "million", "source": "report-001.html"}
    return ShortAnswer(**{**values, **fields})


def one(soup: Tag, selector: str) -> Tag:
    """The element `selector` finds, failing the test when there is none."""
    found = soup.select_one(selector)
    assert found is not None, selector
    return found


def first(soup: BeautifulSoup) -> Tag:
    """The first element of the rendered answer."""
    element = soup.contents[0]
    assert isinstance(element, Tag)
    return element


def test_the_short_answer_comes_first_as_a_card() -> None:
    soup = BeautifulSoup(answer_html.render_answer(table_answer(short()), turn=4), "html.parser")
    card = first(soup)
    assert card["class"] == ["rag-card"]  # no page to open for an HTML table: a plain card
    assert one(card, ".rag-card-value").text == "$1,496.5 million"
    facts = [f.text for f in card.select(".rag-fact")]
    assert facts == ["Row Total sales", "Period 2019", "Unit $ million", "Source report-001.html [1]"]
    assert [a["href"] for a in card.select("a.rag-cite")] == ["#src-4-1"]  # to the row it was read from
    assert soup.select_one("details.rag-src") is not None  # the quotes still follow


def test_a_computed_short_answer_shows_its_derivation_and_everything_is_escaped() -> None:
    computed = short(value="<b>-22.22%</b>", kind="computed", row="Margin & <i>x</i>", column="2018 to 2019",
                     unit="%", scale="", derivation="(44.1 - 56.7) / 56.7 = -22.22% <script>", page=4,
                     source="<img src=x>.pdf")
    html = answer_html.render_answer(table_answer(computed), turn=1)
    soup = BeautifulSoup(html, "html.parser")
    assert "<script" not in html and "<i>" not in html and "<img" not in html and "<b>-" not in html
    assert one(soup, ".rag-card").find_all(["b", "i", "script", "img"]) == []
    assert one(soup, ".rag-card-value").text == "<b>-22.22%</b>"  # shown as text
    facts = [f.text for f in soup.select(".rag-card .rag-fact")]
    assert facts == ["Row Margin & <i>x</i>", "Period 2018 to 2019", "Unit %",
                     "Computed (44.1 - 56.7) / 56.7 = -22.22% <script>", "Source <img src=x>.pdf · page 4 [1]"]


@pytest.mark.parametrize("answer", [table_answer(None), Answer("q", "No answer.", True, "extractive", (), (),
                                                                     short=short())])
def test_no_card_without_a_short_answer_or_for_an_abstention(answer: Answer) -> None:
    html = answer_html.render_answer(answer, turn=1)
    assert "rag-card" not in html and "rag-zoom" not in html


def test_a_quoted_table_row_shows_its_column_headers_above_it() -> None:
    soup = BeautifulSoup(answer_html.render_answer(table_answer(None), turn=1), "html.parser")
    line = one(soup, "p")
    assert one(line, ".rag-header").text == HEADER and line.text == f"{HEADER}{ROW} [1]"
    header = one(soup, "details.rag-src .rag-header")
    assert header.text == HEADER and header.find_next_sibling("blockquote") is not None  # above the quote
    plain = Answer("q", "A rose. [1]", False, "extractive", (Citation(1, "a.txt", None, 0, 7, "A rose."),), ())
    assert "rag-header" not in answer_html.render_answer(plain, turn=1)


def test_the_terminal_prints_the_short_answer_first_then_each_row_under_its_headers() -> None:
    answer = table_answer(short(derivation="1,496.5 - 1,380.2 = 116.3"))
    expected = ["Answer: $1,496.5 million (Total sales, 2019)", "  = 1,496.5 - 1,380.2 = 116.3", "",
                f"{ROW} [1]", "", "Sources:", f"  [1] report-001.html, chars 100-{100 + len(ROW)}", f"      {HEADER}",
                f'      "{ROW}"']
    assert rag.cli.render_answer(answer).splitlines() == expected
    assert "Answer:" not in rag.cli.render_answer(table_answer(None))
    # Streamed as `rag ask` streams an extractive answer: its lines held, the short answer printed above them.
    runner = CliRunner()
    with runner.isolation() as (out, _, _):
        rag.cli._stream_to_terminal(iter([f"{ROW} [1]", answer]), hold=True)
    assert out.getvalue().decode().splitlines() == expected


def test_a_pdf_card_and_its_source_open_the_page_large(tmp_path: Path) -> None:
    """The cited page of a real 10-K excerpt, drawn large enough to read, and opened by the card or the thumbnail."""
    shutil.copy(Path(__file__).parent / "data" / "3M_2018_10K_excerpt.pdf", tmp_path / "3m.pdf")
    ws = Workspace(tmp_path, tmp_path / "index", HashingEmbedder())
    document = ws.document("3m.pdf")
    assert document is not None
    row = "Purchases of property, plant and equipment (PP&E) (1,577) (1,373) (1,420)"
    start = document.text.index(row)
    cited = Citation(1, "3m.pdf", document.page_at(start), start, start + len(row), row)
    card = short(value="$1,577 million", row="Purchases of property, plant and equipment (PP&E)", column="2018",
                 source="3m.pdf", page=cited.page)
    answer = Answer("q", f"{row} [1]", False, "extractive", (cited,), (), short=card)

    soup = BeautifulSoup(answer_html.render_answer(answer, turn=1, workspace=ws), "html.parser")

    zoom = first(soup)
    assert zoom.name == "details" and zoom["class"] == ["rag-zoom", "rag-card"]
    assert one(zoom, "summary .rag-card-value").text == "$1,577 million"
    opened = one(zoom, "summary .rag-zoom-view img.rag-page")  # inside the summary: a click closes it
    thumb = one(soup, "details.rag-src details.rag-zoom.rag-thumb summary .rag-zoom-view img.rag-page")
    assert thumb["src"] == opened["src"]  # the same page, drawn once
    page = Image.open(io.BytesIO(base64.b64decode(str(thumb["src"]).split(",", 1)[1])))
    assert page.width >= 1200  # 612 points at ZOOM_SCALE: a table's figures legible at the picture's own size


# ---------------------------------------------------------------- the documents to ask


def two_docs(tmp_path: Path) -> Workspace:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "kestrel.txt").write_text("Kestrel Mills sold 40 tonnes of rye flour in 2024.", "utf-8")
    (corpus / "osprey.txt").write_text("Osprey Mills sold 75 tonnes of rye flour in 2024.", "utf-8")
    ws = Workspace(corpus, tmp_path / "index", HashingEmbedder())
    ws.ingest()
    return ws


@pytest.mark.parametrize(("docs", "sources"), [(["osprey.txt"], {"osprey.txt"}), (["kestrel.txt"], {"kestrel.txt"})])
def test_the_documents_picked_are_the_only_ones_asked(tmp_path: Path, docs: list[str], sources: set[str]) -> None:
    respond = ui.responder(two_docs(tmp_path))
    state = {"queries": [], "answers": {}, "turn": 0}
    *_, (_, _, state, _) = respond("How many tonnes of rye flour were sold?", [], state, 5, False, "extractive", None,
                                   docs)
    answer = state["answers"][1][1]
    assert answer.citations and {c.source for c in answer.citations} == sources


def test_the_picker_lists_the_documents_and_keeps_the_preselected(tmp_path: Path) -> None:
    ws = two_docs(tmp_path)
    with gr.Blocks():
        picked = ui.scope_panel(ws, {"osprey.txt", "gone.txt"})
    assert [c[0] for c in picked.docs.choices] == ["kestrel.txt", "osprey.txt"] and picked.docs.value == ["osprey.txt"]
    actions = ui.DocumentActions(ws, ["osprey.txt"])
    _, _, _, on_load = actions.on_load()
    assert on_load["value"] == ["osprey.txt"]  # a page opened later starts from `rag ui --doc` too


def test_api_asks_only_the_documents_named(tmp_path: Path) -> None:
    ask = ui.api(two_docs(tmp_path))
    reply = ask("How many tonnes of rye flour were sold?", 0, ["osp*.txt"])
    assert {c["source"] for c in reply["citations"]} == {"osprey.txt"}
    with pytest.raises(gr.Error, match=r"'nope\.txt' is not in the index"):
        ask("How many tonnes?", 0, ["nope.txt"])


def test_rag_ui_doc_preselects_the_documents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = two_docs(tmp_path)
    built: list[Any] = []
    monkeypatch.setattr(rag.cli, "open_workspace", lambda settings, refresh=False: ws)
    monkeypatch.setattr(ui, "launch", lambda app, **kwargs: built.append(app))
    monkeypatch.delenv("RAG_UI_AUTH", raising=False)

    result = CliRunner().invoke(rag.cli.main, ["ui", "--doc", "osprey*"])

    assert result.exit_code == 0, result.output
    (scope,) = [b for b in built[0].blocks.values() if getattr(b, "elem_id", None) == "rag-scope"]
    assert scope.value == ["osprey.txt"]
    result = CliRunner().invoke(rag.cli.main, ["ui", "--doc", "nope.txt"])
    assert result.exit_code == 2 and "document 'nope.txt' is not in the index" in result.output
