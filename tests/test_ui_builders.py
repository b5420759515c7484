"""The page's panels and handlers, each built and driven on its own, without a browser."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

import ui
from rag.app.workspace import Workspace
from rag.embed.hashing import HashingEmbedder

TEXT = "Kestrel Mills makes flour. Kestrel Mills sold 40 tonnes of rye flour in 2024 to bakeries in Leeds."


def small(tmp_path: Path) -> Workspace:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "mill.txt").write_text(TEXT, "utf-8")
    ws = Workspace(corpus, tmp_path / "index", HashingEmbedder())
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
