"""The chat UI: HTML rendering as units, then the real app on a local port, through its API
(gradio_client) and in Debian's Chromium (Playwright), with the real model and index."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from gradio_client import Client
from markdown_it import MarkdownIt
from playwright.sync_api import Browser, Locator, Page, Route, expect, sync_playwright
from support import served

import rag.cli
import ui
from rag.app.uploads import UPLOAD_DIR
from rag.app.workspace import Workspace
from rag.embed.base import Embedder
from rag.embed.hashing import HashingEmbedder
from rag.load.corpus import load_document
from rag.types import Answer, Chunk, Citation, Hit

SCRIPT = "<script>alert(1)</script>"
UNPROFITABLE = "Why is CoreWeave unprofitable?"
TIMEOUT_MS = 60_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


# ---------------------------------------------------------------- render_answer (units)


def chunk(source: str, text: str, start: int = 0) -> Chunk:
    return Chunk(f"{source}:{start}", source, text, start, start + len(text))


def answer(text: str, citations: tuple[Citation, ...] = (), hits: tuple[Hit, ...] = (),
           abstained: bool = False) -> Answer:
    return Answer("q", text, abstained, "extractive", citations, hits)


def test_citation_markers_link_to_numbered_sources() -> None:
    cited = answer("- CoreWeave carries heavy debt. [1]\n- Its revenue grows fast. [2][1]",
                   (Citation(1, "a.txt", None, 0, 30, "CoreWeave carries heavy debt."),
                    Citation(2, "b.md", 3, 10, 33, "Its revenue grows fast.")))
    html = ui.render_answer(cited, turn=7)
    soup = BeautifulSoup(html, "html.parser")
    links = [(a["class"], a["href"], a.text) for a in soup.select("a")]
    assert links == [(["rag-cite"], "#src-7-1", "[1]"), (["rag-cite"], "#src-7-2", "[2]"),
                     (["rag-cite"], "#src-7-1", "[1]")]
    assert '<a class="rag-cite" href="#src-7-1">[1]</a>' in html
    assert [li.text for li in soup.select("ul > li")] == ["CoreWeave carries heavy debt. [1]",
                                                          "Its revenue grows fast. [2][1]"]
    sources = {d["id"]: d for d in soup.select("details.rag-src")}
    assert set(sources) == {"src-7-1", "src-7-2"}
    assert sources["src-7-1"].mark.text == "CoreWeave carries heavy debt."
    assert "b.md — p. 3, chars 10–33" in sources["src-7-2"].summary.text


def test_document_text_is_escaped() -> None:
    quote = f"Revenue rose {SCRIPT} & fell."
    hit = Hit(chunk("<img src=x onerror=alert(2)>.txt", f"{quote} More {SCRIPT}"), 0.9)
    html = ui.render_answer(answer(f"{quote} [1]", (Citation(1, hit.chunk.source, None, 0, len(quote), quote),),
                                   (hit,)), turn=1, query=f"Searched {SCRIPT}", show_retrieved=True)
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("script") is None and soup.find("img") is None
    assert soup.select_one("details.rag-src mark").text == quote  # shown as text, verbatim
    assert soup.select_one(".rag-query").text == f"Searched for: Searched {SCRIPT}"


def test_abstention_says_not_found_and_shows_the_closest_passages() -> None:
    hits = tuple(Hit(chunk(f"doc{i}.txt", f"passage {i} {SCRIPT}"), 1.0 - i / 10) for i in range(1, 5))
    html = ui.render_answer(answer("The documents do not answer this.", hits=hits, abstained=True), turn=2)
    soup = BeautifulSoup(html, "html.parser")
    assert soup.select_one(".rag-abstain").text == "Not found in the documents."
    assert "The documents do not answer this." in soup.text
    shown = soup.select("details.rag-src")
    assert [d["id"] for d in shown] == ["src-2-1", "src-2-2", "src-2-3"]  # the three closest
    assert [d.summary.text for d in shown] == ["doc1.txt", "doc2.txt", "doc3.txt"]
    assert [d.blockquote.text for d in shown] == [f"passage {i} {SCRIPT}" for i in (1, 2, 3)]
    assert "<script" not in html and soup.select("a.rag-cite") == []


def test_sources_show_the_quote_in_its_context_as_text_not_markdown(tmp_path: Path) -> None:
    """The chat renders Markdown: a blank line in a passage must not turn the rest into markup."""
    text = "Intro line.\n\n**Not bold** and ![x](http://example.com/t.png) here. The quoted sentence.\n\nAfter."
    (tmp_path / "doc.md").write_text(text, "utf-8")
    ws = Workspace(tmp_path, tmp_path / "index", HashingEmbedder())
    quote = "The quoted sentence."
    start = text.index(quote)
    cited = answer(f"{quote} [1]", (Citation(1, "doc.md", None, start, start + len(quote), quote),))

    html = ui.render_answer(cited, turn=1, workspace=ws)

    block = BeautifulSoup(html, "html.parser").select_one("details.rag-src blockquote")
    assert block.mark.text == quote
    assert block.text == f"…{text}…"  # the whole document fits in the context margins
    assert "\n" not in html
    # CommonMark keeps it as one raw HTML block: nothing inside is reinterpreted.
    assert MarkdownIt("commonmark").render(html) == html


# ---------------------------------------------------------------- the running app


@pytest.fixture(scope="module")
def workspace(shipped_corpus: Path, shipped_index: Path, real_embedder: Embedder,
              tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("ui")
    corpus = root / "corpus"
    shutil.copytree(shipped_corpus, corpus)
    for path in corpus.iterdir():
        path.chmod(0o644)
    shutil.copytree(shipped_index, root / "index")
    ws = Workspace(corpus, root / "index", real_embedder)
    report = ws.ingest()
    assert (report.unchanged, report.chunks_embedded) == (2, 0)
    return ws


@pytest.fixture(scope="module")
def server(workspace: Workspace) -> Iterator[str]:
    with served(ui.create_app(workspace)) as url:
        yield url


@pytest.mark.model
def test_api_ask_matches_rag_ask_json(server: str, workspace: Workspace, real_embedder: Embedder,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rag.cli, "_embedder", lambda *_:  real_embedder)
    monkeypatch.delenv("RAG_K", raising=False)
    client = Client(server, verbose=False, analytics_enabled=False, download_files=False)

    via_api = client.predict(UNPROFITABLE, 0, api_name="/ask")

    result = CliRunner().invoke(rag.cli.main, ["ask", UNPROFITABLE, "--json", "--corpus", str(workspace.corpus),
                                               "--index", str(workspace.index)])
    assert result.exit_code == 0, result.output
    via_cli = json.loads(result.stdout)
    assert not via_api["abstained"] and via_api["citations"]
    assert via_api["question"] == via_cli["question"] == UNPROFITABLE
    assert via_api["answer"] == via_cli["answer"]
    assert via_api["citations"] == via_cli["citations"]
    assert via_api["retrieved"] == via_cli["retrieved"]


# ---------------------------------------------------------------- in the browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def offline(route: Route) -> None:
    """The browser stays on this machine too (the theme would fetch web fonts)."""
    host = urlsplit(route.request.url).hostname
    if route.request.url.startswith(("data:", "blob:")) or host in {"127.0.0.1", "localhost"}:
        route.continue_()
    else:
        route.abort()


@pytest.fixture
def page(browser: Browser, server: str, workspace: Workspace) -> Iterator[Page]:
    """A fresh page on the app; documents uploaded during the test are removed afterwards."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    context.route("**/*", offline)
    tab = context.new_page()
    tab.goto(server)
    expect(tab.locator("#rag-question textarea")).to_be_visible()
    try:
        yield tab
    finally:
        context.close()
        for source, _ in workspace.documents():
            if source.startswith(f"{UPLOAD_DIR}/"):
                workspace.remove(source)


def ask(page: Page, question: str) -> Locator:
    """Ask in the page and wait for the finished answer (its sources block); returns that answer."""
    done = page.locator("#rag-chat .rag-sources")
    before = done.count()
    page.locator("#rag-question textarea").fill(question)
    page.locator("#rag-ask").click()
    expect(done).to_have_count(before + 1)
    return done.nth(before).locator("xpath=..")


def upload(page: Page, *files: Path) -> None:
    page.locator("#rag-upload input[type=file]").set_input_files([str(f) for f in files])


def shipped_texts(corpus: Path) -> list[str]:
    return [load_document(p, corpus).text for p in sorted(corpus.iterdir())]


@pytest.mark.model
@pytest.mark.browser
def test_page_shows_the_corpus_and_its_documents(page: Page, workspace: Workspace) -> None:
    header = page.locator("body")
    expect(header).to_contain_text(f"Corpus {workspace.corpus}: 2 documents")
    docs = page.locator("#rag-docs")
    for name in ("coreweave-vs-microsoft-ai-infrastructure.txt", "microsoft-meta-coreweave-ai-spending.md"):
        expect(docs).to_contain_text(name)


@pytest.mark.model
@pytest.mark.browser
def test_citation_link_opens_its_source_with_the_verbatim_quote(page: Page, shipped_corpus: Path,
                                                                 tmp_path: Path) -> None:
    reply = ask(page, UNPROFITABLE)
    first = reply.locator("a.rag-cite").first
    expect(first).to_be_visible()
    assert page.locator("details.rag-src[open]").count() == 0

    first.click()

    opened = page.locator("details.rag-src[open]")
    expect(opened).to_have_count(1)
    expect(opened).to_be_visible()
    assert "#" + (opened.get_attribute("id") or "") == first.get_attribute("href")
    mark = opened.locator("mark")
    expect(mark).to_be_visible()
    quote = mark.text_content() or ""
    texts = shipped_texts(shipped_corpus)
    assert len(quote) > 20 and any(quote in t for t in texts), quote
    context = (opened.locator("blockquote").text_content() or "").strip("…")
    assert any(context in t for t in texts), context  # passage shown exactly as in the document

    shot = tmp_path / "ui.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.model
@pytest.mark.browser
def test_uploaded_document_is_listed_and_answers_questions(page: Page, server: str, workspace: Workspace,
                                                           tmp_path: Path) -> None:
    fact = "The Zephyr-9 reactor produces 42 megawatts."
    doc = tmp_path / "zephyr notes.txt"
    doc.write_text(fact + "\n", "utf-8")

    upload(page, doc)

    expect(page.locator("#rag-status")).to_contain_text("Indexed: 1 added")
    expect(page.locator("#rag-docs")).to_contain_text("uploads/zephyr notes.txt")
    expect(page.locator("body")).to_contain_text("3 documents")
    reply = ask(page, "How many megawatts does the Zephyr-9 reactor produce?")
    expect(reply.locator("p").first).to_contain_text(fact)
    expect(reply.locator("details.rag-src summary").first).to_contain_text("uploads/zephyr notes.txt")
    assert "uploads/zephyr notes.txt" in dict(workspace.documents())

    other = page.context.new_page()  # a page opened later sees the documents as they are now
    other.goto(server)
    expect(other.locator("#rag-docs")).to_contain_text("uploads/zephyr notes.txt")
    expect(other.locator("body")).to_contain_text("3 documents")


@pytest.mark.model
@pytest.mark.browser
def test_unsupported_upload_is_refused_with_a_reason(page: Page, workspace: Workspace, tmp_path: Path) -> None:
    sheet = tmp_path / "budget.xlsx"
    sheet.write_bytes(b"PK\x03\x04 not a spreadsheet really")

    upload(page, sheet)

    status = page.locator("#rag-status")
    expect(status).to_contain_text("Refused budget.xlsx: unsupported file type '.xlsx'")
    expect(status).to_contain_text("accepted: .docx")
    assert not (workspace.corpus / UPLOAD_DIR / "budget.xlsx").exists()
    assert len(workspace.documents()) == 2


@pytest.mark.model
@pytest.mark.browser
def test_off_corpus_question_is_not_answered(page: Page) -> None:
    reply = ask(page, "What is the boiling point of water on Mars?")
    expect(reply.locator(".rag-abstain")).to_have_text("Not found in the documents.")
    expect(reply).to_contain_text("The closest passages")
    assert reply.locator("a.rag-cite").count() == 0


@pytest.mark.model
@pytest.mark.browser
def test_follow_up_is_searched_as_a_standalone_question(page: Page) -> None:
    first = ask(page, UNPROFITABLE)
    assert first.locator(".rag-query").count() == 0  # nothing rewritten

    follow = ask(page, "And what about Microsoft?")

    expect(follow.locator(".rag-query")).to_have_text("Searched for: Why is Microsoft unprofitable?")


@pytest.mark.model
@pytest.mark.browser
def test_thumbs_up_saves_the_rated_answer(page: Page, workspace: Workspace) -> None:
    path = workspace.feedback_path
    before = path.read_text("utf-8").splitlines() if path.exists() else []
    reply = ask(page, UNPROFITABLE)
    expect(reply.locator("a.rag-cite").first).to_be_visible()

    page.locator('#rag-chat button[aria-label="Like"]').last.click()

    expect(page.locator("#rag-status")).to_contain_text("feedback saved")
    lines = path.read_text("utf-8").splitlines()
    assert len(lines) == len(before) + 1
    record = json.loads(lines[-1])
    assert record["liked"] is True and record["asked"] == record["question"] == UNPROFITABLE
    assert record["citations"] and not record["abstained"]
    expect(reply.locator("mark").first).to_have_text(record["citations"][0]["quote"])  # the answer on the page


@pytest.mark.model
@pytest.mark.browser
def test_markup_in_a_document_is_shown_never_run(page: Page, tmp_path: Path) -> None:
    payload = "<script>window.__pwned=1</script>"
    doc = tmp_path / "quasar.txt"
    doc.write_text(f"The Quasar-7 telescope has a mirror 12 metres wide. {payload}\n"
                   '<img src=x onerror="window.__pwned=2">\n', "utf-8")
    upload(page, doc)
    expect(page.locator("#rag-status")).to_contain_text("Indexed: 1 added")

    reply = ask(page, "How wide is the Quasar-7 telescope mirror?")
    expect(reply.locator("a.rag-cite").first).to_be_visible()
    reply.locator("a.rag-cite").first.click()

    source = page.locator("details.rag-src[open]")
    expect(source).to_contain_text("uploads/quasar.txt")
    expect(source.locator("blockquote")).to_contain_text(payload)  # shown as text
    assert page.locator("#rag-chat script, #rag-chat img[onerror]").count() == 0
    assert page.evaluate("window.__pwned") is None
