"""The page's panels and handlers, each built and driven on its own, without a browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

import ui
from rag.app.workspace import Workspace
from rag.embed.hashing import HashingEmbedder

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
    header, docs, _, note = actions.on_remove("mill.txt")
    assert note == "Removed mill.txt." and docs == [] and "0 documents" in header


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
