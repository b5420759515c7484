"""Loaders: every fixture is built here in tmp_path, so the tests need no files and no network.

The invariant that matters downstream is that offsets are honest: a section's start, a page's
start and (for .txt/.md) the whole text must line up with what the user's file says.
"""

from __future__ import annotations

import codecs
import hashlib
import io
from pathlib import Path

import docx
import pypdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.load.corpus import SUPPORTED_SUFFIXES, LoadError, list_corpus, load_document
from rag.types import Document

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def make_pdf(pages: list[str], title: str | None = None) -> bytes:
    """A minimal valid PDF: one Helvetica text object per page, a correct xref table.

    Lines of a page are shown with `T*` (next line), so pypdf extracts them on separate lines.
    """

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    font = 3 + 2 * len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>"]
    for i, text in enumerate(pages):
        page = f"/Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R"
        objects.append(f"<< {page} /Resources << /Font << /F1 {font} 0 R >> >> >>")
        shown = "".join(f"({escape(line)}) Tj T* " for line in text.splitlines())
        stream = f"BT /F1 12 Tf 14 TL 72 720 Td {shown}ET" if text else ""
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    if title:
        objects.append(f"<< /Title ({escape(title)}) >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    info = f" /Info {len(objects)} 0 R" if title else ""
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def encrypted(pdf: bytes, user_password: str) -> bytes:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(pdf))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def write(root: Path, name: str, data: bytes | str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def load(tmp_path: Path, name: str, data: bytes | str) -> Document:
    return load_document(write(tmp_path, name, data), tmp_path)


TXT = """Quarterly Review

This report covers the quarter. It is not a heading because it ends with a period.

Revenue: Up and to the Right

Revenue grew 40% on new contracts.

Strengths:
- Fast growth
- Large backlog

• Bullet lines are not headings

Risks and Open Questions

Debt is high.
"""


@pytest.mark.parametrize(
    ("needle", "section"),
    [
        ("Quarterly Review", "Quarterly Review"),
        ("This report covers", "Quarterly Review"),
        ("Revenue grew 40%", "Revenue: Up and to the Right"),
        ("Large backlog", "Revenue: Up and to the Right"),
        ("Bullet lines", "Revenue: Up and to the Right"),
        ("Debt is high", "Risks and Open Questions"),
    ],
)
def test_txt_headings_are_short_lines_standing_alone(tmp_path: Path, needle: str, section: str) -> None:
    doc = load(tmp_path, "notes/review.txt", TXT)
    assert doc.text == TXT
    assert doc.source == "notes/review.txt"
    assert doc.section_at(doc.text.index(needle)) == section
    assert [s.title for s in doc.sections] == [
        "Quarterly Review",
        "Revenue: Up and to the Right",
        "Risks and Open Questions",
    ]
    assert all(doc.text.startswith(s.title, s.start) for s in doc.sections)
    assert doc.title == "Quarterly Review"  # the file starts with a heading
    assert doc.page_starts == () and doc.page_at(10) is None


MD = """# Market Notes #

Intro paragraph with a #hashtag.

## Growth Drivers
Demand is structural.

```python
# a comment, not a heading
```

**Risks**

Leverage.

2. **Numbered Bold Lead**:
- a point under it

**Bold start** then ordinary text is not a heading.
"""


@pytest.mark.parametrize(
    ("needle", "section"),
    [
        ("Intro paragraph", "Market Notes"),
        ("Demand is structural", "Growth Drivers"),
        ("a comment, not a heading", "Growth Drivers"),
        ("Leverage", "Risks"),
        ("a point under it", "Numbered Bold Lead"),
        ("then ordinary text", "Numbered Bold Lead"),
    ],
)
def test_md_sections_are_atx_headings_and_bold_lines(tmp_path: Path, needle: str, section: str) -> None:
    doc = load(tmp_path, "notes.md", MD)
    assert doc.text == MD
    assert doc.title == "Market Notes"
    assert [s.title for s in doc.sections] == ["Market Notes", "Growth Drivers", "Risks", "Numbered Bold Lead"]
    assert all(doc.text[s.start :].split("\n", 1)[0].find(s.title) >= 0 for s in doc.sections)
    assert doc.section_at(doc.text.index(needle)) == section


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (codecs.BOM_UTF16_LE + "Café – naïve\r\nline 2".encode("utf-16-le"), "Café – naïve\r\nline 2"),
        (codecs.BOM_UTF16_BE + "Grüße\n".encode("utf-16-be"), "Grüße\n"),
        (codecs.BOM_UTF8 + b"BOM stripped, rest kept\n", "BOM stripped, rest kept\n"),
        ("café naïve façade\n".encode("latin-1"), "café naïve façade\n"),
        ("“smart quotes” – cp1252\n".encode("cp1252"), "“smart quotes” – cp1252\n"),
        (b"crlf\r\nkept\r\n\tand tabs  too", "crlf\r\nkept\r\n\tand tabs  too"),
    ],
    ids=["utf16-le-bom", "utf16-be-bom", "utf8-bom", "latin-1", "cp1252", "untouched-whitespace"],
)
def test_text_is_decoded_but_never_normalised(tmp_path: Path, data: bytes, text: str) -> None:
    doc = load(tmp_path, "a.txt", data)
    assert doc.text == text
    assert doc.sha256 == hashlib.sha256(data).hexdigest()


_SAFE_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00\ufeff"), min_size=1)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_SAFE_TEXT.filter(str.strip))
def test_any_utf8_text_round_trips_and_sections_start_lines(tmp_path: Path, text: str) -> None:
    for suffix in (".txt", ".md"):
        doc = load(tmp_path, "p" + suffix, text)
        assert doc.text == text
        assert all(s.start == 0 or text[s.start - 1] in "\r\n" for s in doc.sections)


PDF_2_PAGES = make_pdf(["Page one: revenue grew.\nA second line.", "Page two: debt (and risk)."], title="Annual Report")


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\n\t\n", "no extractable text"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file (binary content)"),
        ("broken.txt", codecs.BOM_UTF16_LE + b"a", "not a text file (invalid UTF-16)"),
        ("truncated.pdf", PDF_2_PAGES[: len(PDF_2_PAGES) // 2], "could not be read as PDF: "),
        ("scan.pdf", make_pdf(["", ""]), "no extractable text (scanned PDF?)"),
        ("locked.pdf", encrypted(PDF_2_PAGES, "secret"), "encrypted PDF"),
        ("memo.docx", b"PK\x03\x04 not really a zip", "could not be read as DOCX: "),
        ("book.xlsx", b"PK\x03\x04", "unsupported file type '.xlsx'"),
        ("Makefile", b"all:\n", "unsupported file type (no extension)"),
        ("page.html", b"<html><script>var x = 1;</script><!-- note --></html>", "no extractable text"),
    ],
)
def test_unloadable_files_raise_a_message_naming_the_file(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    with pytest.raises(LoadError) as caught:
        load(tmp_path, f"inbox/{name}", data)
    assert caught.value.source == f"inbox/{name}"
    assert caught.value.reason.startswith(reason)
    assert str(caught.value) == f"inbox/{name}: {caught.value.reason}"
    assert "Traceback" not in str(caught.value)


def test_pdf_pages_are_joined_with_page_starts(tmp_path: Path) -> None:
    doc = load(tmp_path, "report.pdf", PDF_2_PAGES)
    assert doc.title == "Annual Report"
    assert len(doc.page_starts) == 2 and doc.page_starts[0] == 0
    first, second = doc.text[: doc.page_starts[1]], doc.text[doc.page_starts[1] :]
    assert "Page one: revenue grew." in first and "A second line." in first
    assert second.startswith("Page two: debt (and risk).")
    assert doc.page_at(doc.text.index("revenue")) == 1
    assert doc.page_at(doc.text.index("debt")) == 2
    assert doc.sha256 == hashlib.sha256(PDF_2_PAGES).hexdigest()


def test_pdf_with_an_empty_user_password_is_opened(tmp_path: Path) -> None:
    doc = load(tmp_path, "permissions-only.pdf", encrypted(PDF_2_PAGES, ""))
    assert "Page two: debt" in doc.text
    assert doc.page_at(doc.text.index("debt")) == 2


def test_pdf_page_without_text_keeps_its_page_start(tmp_path: Path) -> None:
    doc = load(tmp_path, "gap.pdf", make_pdf(["First.", "", "Third."]))
    assert len(doc.page_starts) == 3
    assert doc.page_at(doc.text.index("Third")) == 3


def test_docx_paragraphs_tables_and_heading_sections(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("Board Memo", level=0)  # style "Title"
    document.add_paragraph("Opening remarks.")
    document.add_heading("Capital Plan", level=1)
    document.add_paragraph("We will spend $20 billion.")
    document.add_paragraph("")  # empty paragraphs add no blank blocks
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Year"
    table.cell(0, 2).text = "CapEx"
    table.cell(1, 0).text, table.cell(1, 1).text, table.cell(1, 2).text = "2025", "", "$20B"
    document.add_heading("Risks", level=2)
    document.add_paragraph("Leverage is high.")
    path = tmp_path / "memo.docx"
    document.save(str(path))

    doc = load_document(path, tmp_path)
    assert doc.text == (
        "Board Memo\n\nOpening remarks.\n\nCapital Plan\n\nWe will spend $20 billion.\n\n"
        "Year | CapEx\n\n2025 | $20B\n\nRisks\n\nLeverage is high."
    )
    assert [s.title for s in doc.sections] == ["Board Memo", "Capital Plan", "Risks"]
    assert all(doc.text.startswith(s.title, s.start) for s in doc.sections)
    assert doc.title == "Board Memo"
    assert doc.section_at(doc.text.index("$20B")) == "Capital Plan"


def test_docx_title_comes_from_core_properties_first(tmp_path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = "Official Title"
    document.add_heading("Heading Text", level=1)
    path = tmp_path / "t.docx"
    document.save(str(path))
    assert load_document(path, tmp_path).title == "Official Title"


HTML = b"""<!doctype html>
<html><head><meta charset="utf-8"><title> Quarterly   Update </title>
<style>body { color: red }</style><script>var secret = "SCRIPT TEXT";</script></head>
<body>
  <noscript>Enable JavaScript</noscript>
  <h1>Overview</h1>
  <p>Revenue   grew <b>40%</b>
     this year.<!-- hidden comment --></p>
  <div>Loose text<p>Nested paragraph.</p>tail text</div>
  <h2>Risks &amp; Debt</h2>
  <ul><li>High leverage</li><li>Customer concentration</li></ul>
  <script>document.write("MORE SCRIPT")</script>
</body></html>"""


def test_html_keeps_blocks_and_headings_and_drops_scripts(tmp_path: Path) -> None:
    doc = load(tmp_path, "update.html", HTML)
    assert doc.title == "Quarterly Update"
    for absent in ("SCRIPT", "secret", "color", "Enable JavaScript", "hidden comment", "Quarterly"):
        assert absent not in doc.text
    assert doc.text == (
        "Overview\n\nRevenue grew 40% this year.\n\nLoose text\n\nNested paragraph.\n\ntail text"
        "\n\nRisks & Debt\n\nHigh leverage\n\nCustomer concentration"
    )
    assert [(doc.text[s.start : s.start + len(s.title)], s.title) for s in doc.sections] == [
        ("Overview", "Overview"),
        ("Risks & Debt", "Risks & Debt"),
    ]
    assert doc.section_at(doc.text.index("Customer")) == "Risks & Debt"


def test_html_without_title_uses_first_heading(tmp_path: Path) -> None:
    doc = load(tmp_path, "p.htm", "<h2>Only   Heading</h2><p>Body</p>")
    assert doc.title == "Only Heading"


def test_list_corpus_returns_supported_files_and_reasons_for_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    for name in ("b.md", "a/z.txt", "a/y.pdf", "c.HTML", "sheet.xlsx", ".hidden.txt", ".git/config.md", "README"):
        write(root, name, "x")
    write(tmp_path, "outside.txt", "secret")
    (root / "link-out.txt").symlink_to(tmp_path / "outside.txt")
    (root / "link-in.txt").symlink_to(root / "b.md")
    (root / "linked-dir").symlink_to(root / "a", target_is_directory=True)

    files, skipped = list_corpus(root)

    assert [p.relative_to(root).as_posix() for p in files] == ["a/y.pdf", "a/z.txt", "b.md", "c.HTML", "link-in.txt"]
    assert skipped == [
        ("README", "unsupported file type (no extension)"),
        ("link-out.txt", "symlink points outside the corpus"),
        ("linked-dir", "symlink to a folder (not followed)"),
        ("sheet.xlsx", "unsupported file type '.xlsx'"),
    ]


def test_list_corpus_names_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="corpus folder not found"):
        list_corpus(tmp_path / "nope")


def test_source_is_relative_even_with_mixed_absolute_and_relative_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "corpus/sub/a.md", "# A\n")
    monkeypatch.chdir(tmp_path)
    assert load_document((tmp_path / "corpus/sub/a.md"), Path("corpus")).source == "sub/a.md"
    with pytest.raises(LoadError, match="is not inside the corpus folder"):
        load_document(tmp_path / "corpus/sub/a.md", tmp_path / "elsewhere")


def test_supported_suffixes() -> None:
    assert frozenset({".txt", ".md", ".markdown", ".pdf", ".html", ".htm", ".docx"}) == SUPPORTED_SUFFIXES


@pytest.mark.parametrize("path", sorted([*CORPUS.glob("*.txt"), *CORPUS.glob("*.md")]), ids=lambda p: p.name)
def test_shipped_corpus_loads_unchanged_with_sections(path: Path) -> None:
    doc = load_document(path, CORPUS)
    assert doc.source == path.name
    assert doc.text == path.read_bytes().decode("utf-8")
    assert doc.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert len(doc.sections) >= 3
    assert all(s.title in doc.text[s.start :].split("\n", 1)[0] for s in doc.sections)


def test_shipped_txt_headings() -> None:
    doc = load_document(CORPUS / "coreweave-vs-microsoft-ai-infrastructure.txt", CORPUS)
    titles = [s.title for s in doc.sections]
    assert "CoreWeave: The Pure-Play Growth Engine" in titles
    assert "Financial Picture: High Growth, High Burn" in titles
    assert "Strengths:" not in titles
    assert doc.section_at(doc.text.index("$20–$23 billion")) == "Financial Picture: High Growth, High Burn"
