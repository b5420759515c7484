"""Table structure from every loader: rows, located cells, merged column headers, parents, scale and unit.

Each format is loaded from a table made here (Markdown text, a DOCX written with python-docx, a PDF written
with fpdf2) or from the pages of 3M's 10-K in tests/data, and every table is held to the same invariants:
a cell is the loaded text at its offsets, a row is a line of it inside its table, tables are in text order
and disjoint, and a PDF cell names its page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import docx
import pytest
from docx.shared import Pt
from fpdf import FPDF
from hypothesis import given
from hypothesis import strategies as st

from rag.chunk import chunk_document
from rag.load.corpus import load_document
from rag.load.pdf.layout import clean, clean_map
from rag.load.table import build_table, is_delimiter_row, nest, pipe_cells, respace
from rag.numbers import parse_figure
from rag.types import Document, Table, TableRow

DATA = Path(__file__).resolve().parent / "data"


def words(texts: Sequence[str]) -> list[int]:
    return [len(t.split()) for t in texts]


def check(doc: Document) -> None:
    """The invariants every loader keeps, whatever the format."""
    ends = [0]
    for table in doc.tables:
        assert table.start >= ends[-1], "tables in text order and disjoint"
        ends.append(table.end)
        if table.header is not None:
            assert table.start <= table.header[0] < table.header[1] <= table.end
        for row in table.rows:
            line = doc.text[row.start:row.end]
            assert table.start <= row.start < row.end <= table.end
            assert line.strip() == line and "\n" not in line, "a row is one line of the text"
            for cell in row.cells:
                assert doc.text[cell.start:cell.end] == cell.text
                assert row.start <= cell.start < cell.end <= row.end
                assert 0 <= cell.column < len(table.columns)
                assert cell.page == doc.page_at(cell.start)


def row(table: Table, label: str) -> TableRow:
    return next(r for r in table.rows if r.label == label)


def texts(r: TableRow) -> list[str]:
    return [c.text for c in r.cells]


# -- build_table: a grid of cell strings -> lines and a Table --------------------------------------------


def test_multi_row_headers_merge_top_to_bottom() -> None:
    grid = [["", "", "Years Ended September 30,", ""], ["", "2019", "2018", "2017"],
            ["Fixed Price", "$ 1,452.4", "$ 1,146.2", "$ 1,036.9"], ["Other", "44.1", "56.7", "70.8"]]
    built = build_table(grid, title="Revenue by contract type (in millions)")
    assert built is not None
    text, table = built
    assert text.splitlines()[2:] == ["Fixed Price | $ 1,452.4 | $ 1,146.2 | $ 1,036.9", "Other | 44.1 | 56.7 | 70.8"]
    assert table.columns == ("Years Ended September 30, 2019", "Years Ended September 30, 2018",
                             "Years Ended September 30, 2017")
    assert table.header is not None and text[table.header[0]:table.header[1]] == (
        "Years Ended September 30,\n2019 | 2018 | 2017")
    assert (table.scale, table.unit, table.title) == ("million", "$", "Revenue by contract type (in millions)")
    assert table.caption == "Revenue by contract type (in millions)\n" + table.header_line()
    other = row(table, "Other")
    assert [(c.text, c.column) for c in other.cells] == [("44.1", 0), ("56.7", 1), ("70.8", 2)]
    for r in table.rows:
        assert text[r.start:r.end] in text.splitlines()
        assert all(text[c.start:c.end] == c.text for c in r.cells)


def test_headers_over_the_only_row_of_figures_are_headers() -> None:
    grid = [["Year Ended May 31,", "", "", "", ""], ["", "", "", "Percent Change", ""],
            ["(Dollars in millions)", "2019", "Actual", "Constant", "2018"],
            ["Interest expense", "$2,082", "3%", "3%", "$2,025"]]
    built = build_table(grid)
    assert built is not None
    _, table = built
    assert table.columns[0].endswith("2019") and table.columns[-1].endswith("2018")
    assert table.columns[1].endswith("Actual") and table.columns[2].endswith("Constant")
    assert [r.label for r in table.rows] == ["Interest expense"] and table.scale == "million"


def test_a_label_row_heads_the_rows_below_it_and_a_total_closes_it() -> None:
    grid = [["(in millions)", "2022", "2021"], ["Capital expenditures:", "", ""], ["Property", "(900)", "(800)"],
            ["Total", "1,222", "1,100"], ["Revenue", "5,000", "4,000"]]
    built = build_table(grid)
    assert built is not None
    text, table = built
    # The label row right under the header is a row, not a second header row.
    assert table.columns == ("2022", "2021") and "Capital expenditures:" in text.splitlines()[1:]
    assert row(table, "Total").parents == ("Capital expenditures",)
    assert row(table, "Total").name() == "Capital expenditures, Total"
    assert row(table, "Property").parents == ("Capital expenditures",)
    assert row(table, "Revenue").parents == ()
    assert row(table, "Capital expenditures").cells == ()
    assert table.scale == "million"


def test_a_table_of_text_has_its_first_row_as_header() -> None:
    built = build_table([["Name", "Role"], ["Ann Lee", "Chief Executive Officer"], ["Bo Chan", "Director"]])
    assert built is not None
    text, table = built
    assert text == "Name | Role\nAnn Lee | Chief Executive Officer\nBo Chan | Director"
    assert table.columns == ("Role",) and (table.scale, table.unit) == ("", "")
    assert [(r.label, texts(r)) for r in table.rows] == [("Ann Lee", ["Chief Executive Officer"]),
                                                          ("Bo Chan", ["Director"])]


def test_indents_stay_with_their_rows_when_empty_rows_are_dropped() -> None:
    grid = [["", "2023", "2022"], ["", "", ""], ["Revenue", "", ""], ["Products", "60", "50"],
            ["Services", "40", "30"], ["Cost", "(70)", "(60)"]]
    built = build_table(grid, indents=[0, 0, 0, 12, 12, 0])
    assert built is not None
    _, table = built
    assert [r.parents for r in table.rows] == [(), ("Revenue",), ("Revenue",), ()]


@pytest.mark.parametrize(("rows", "indents", "parents"), [
    # A label heads the rows after it; "Total" closes it.
    ([("Capital expenditures", False), ("Total", True), ("Revenue", True)], None,
     [(), ("Capital expenditures",), ()]),
    # A second label at its depth replaces the first, and is not under it.
    ([("Operating", False), ("Net income", True), ("Investing", False), ("Capex", True)], None,
     [(), ("Operating",), (), ("Investing",)]),
    # Indented rows sit under the label; the next row back at its depth leaves it.
    ([("Revenue", False), ("Products", True), ("Services", True), ("Cost", True)], [0, 1, 1, 0],
     [(), ("Revenue",), ("Revenue",), ()]),
    # Labels nest by depth.
    ([("Assets", False), ("Current", False), ("Cash", True), ("Other", True)], [0, 1, 2, 1],
     [(), ("Assets",), ("Assets", "Current"), ("Assets",)]),
    # A total set deeper than the rows it adds up is no child of the row above it.
    ([("Current assets", False), ("Cash", True), ("Securities", True), ("Total current assets", True),
      ("Goodwill", True)], [0, 1, 1, 2, 0],
     [(), ("Current assets",), ("Current assets",), ("Current assets",), ()]),
    # A row naming its group closes it ("Net cash ... operating activities").
    ([("Cash Flows from Operating Activities", False), ("Net income", True),
      ("Net cash provided by operating activities", True), ("Effect of exchange rates", True)], [-1, 0, 0, 0],
     [(), ("Cash Flows from Operating Activities",), ("Cash Flows from Operating Activities",), ()]),
])
def test_nest(rows: list[tuple[str, bool]], indents: list[float] | None, parents: list[tuple[str, ...]]) -> None:
    assert nest(rows, indents) == parents


@pytest.mark.parametrize(("line", "cells"), [
    ("| Sales |  $ 1,200 |", [("Sales", 2, 7), ("$ 1,200", 11, 18)]),
    ("a | b", [("a", 0, 1), ("b", 4, 5)]),
    ("|  | 2023 |", [("", 3, 3), ("2023", 5, 9)]),
    ("| A \\| B | 5 |", [("A \\| B", 2, 8), ("5", 11, 12)]),
])
def test_pipe_cells(line: str, cells: list[tuple[str, int, int]]) -> None:
    assert pipe_cells(line) == cells
    assert all(line[a:b] == text for text, a, b in cells)


@pytest.mark.parametrize(("line", "delimiter"), [
    ("|---|---:|", True), ("| :-- | :-: |", True), ("--- | ---", True), ("---", False), ("| a | b |", False),
])
def test_delimiter_row(line: str, delimiter: bool) -> None:
    assert is_delimiter_row(line) is delimiter


@given(st.lists(st.lists(st.sampled_from(["", "Net", "(1,577)", "$ 5", "12.5%", "2019", "Total"]),
                         min_size=3, max_size=3), min_size=1, max_size=6))
def test_built_and_respaced_cells_are_the_text_at_their_offsets(grid: list[list[str]]) -> None:
    built = build_table(grid)
    if built is None:
        return
    for text, table in (built, respace(*built, "\n\n")):
        assert table.start == 0 and table.end == len(text)
        for r in table.rows:
            assert "\n" not in text[r.start:r.end]
            assert all(text[c.start:c.end] == c.text for c in r.cells)


# -- Markdown: tables found in place ---------------------------------------------------------------------

MARKDOWN = """# Results

Net sales were as follows (in millions):

**Table 1: Net sales by segment**

| Segment | 2023 | 2022 |
|:--------|-----:|-----:|
| Cloud   | $ 1,200 | **$ 900** |
| Devices: | | |
| &nbsp;&nbsp;Phones | (50) | 40 |
| Total | 1,150 | 940 |

Cloud grew | fast, the pipe here is prose.

```
| a | b |
|---|---|
| 1 | 2 |
```

| | Years ended | |
|---|---|---|
| | 2023 | 2022 |
| Margin | 12.5% | 11.0% |

Table: Margins (percent)
"""


def test_markdown_pipe_tables_point_into_the_file(tmp_path: Path) -> None:
    (tmp_path / "r.md").write_text(MARKDOWN)
    doc = load_document(tmp_path / "r.md", tmp_path)
    assert doc.text == MARKDOWN  # the text stays the file's characters
    check(doc)
    assert len(doc.tables) == 2  # not the prose line with a pipe, not the fenced code
    sales, margins = doc.tables
    assert sales.title == "Table 1: Net sales by segment" and sales.columns == ("2023", "2022")
    assert (sales.scale, sales.unit) == ("million", "$")  # the scale from the sentence leading into it
    assert sales.header is not None and doc.text[sales.header[0]:sales.header[1]] == "| Segment | 2023 | 2022 |"
    assert sales.caption == "Table 1: Net sales by segment\n2023 | 2022"
    assert texts(row(sales, "Cloud")) == ["$ 1,200", "$ 900"]  # inside the emphasis
    assert row(sales, "Phones").parents == ("Devices",) and row(sales, "Total").parents == ()  # back out of it
    assert doc.text[row(sales, "Cloud").start:row(sales, "Cloud").end] == "| Cloud   | $ 1,200 | **$ 900** |"
    assert margins.columns == ("Years ended 2023", "Years ended 2022")  # a second header row, below the delimiter
    assert margins.title == "Margins (percent)" and margins.unit == "%"
    assert [c.page for t in doc.tables for r in t.rows for c in r.cells] == [None] * 8


CASH_FLOWS = """# Cash flows

| | 2019 | 2018 |
|---|---|---|
| Cash provided by operating activities | $45,007 | $45,082 |
| Cash used in investing activities | (44,215) | (20,370) |

Net cash provided by operations was $45.0 million for fiscal 2019, and $44.2 million was used in investing.
"""


@pytest.mark.parametrize(("prose", "scale"), [
    ("Net cash provided by operations was $45.0 million for fiscal 2019, and $44.2 million was used in investing.",
     "thousand"),  # both figures agree with cells at thousands
    ("Operations provided $45,007 million.", "million"),  # the same figure at the same scale
    ("Operations provided $45.0 million; investing used $44,215 billion.", ""),  # they disagree: no scale
    ("Operations provided $47 million.", ""),  # no cell rounds to it at any scale
    ("Operations provided a great deal of cash.", ""),  # nothing to agree with
])
def test_a_table_without_a_scale_takes_the_one_its_prose_agrees_on(tmp_path: Path, prose: str, scale: str) -> None:
    (tmp_path / "c.md").write_text(CASH_FLOWS.replace(CASH_FLOWS.splitlines()[-1], prose))
    table, = load_document(tmp_path / "c.md", tmp_path).tables
    assert table.scale == scale


SHARE_AWARDS = """# Awards

| | Shares | Fair value |
|---|---|---|
| Granted | 473,550 | $53.53 |
| Forfeited | (12,632) | $50.49 |

PROSE
"""


@pytest.mark.parametrize(("prose", "scale"), [
    ("The fair value of awards vested was $12.6 million.", ""),  # money says nothing of a column of shares
    ("Awards of 12.6 million shares were forfeited.", "thousand"),  # shares of shares
])
def test_a_count_of_shares_and_an_amount_of_money_do_not_agree_on_a_scale(tmp_path: Path, prose: str,
                                                                          scale: str) -> None:
    (tmp_path / "a.md").write_text(SHARE_AWARDS.replace("PROSE", prose))
    table, = load_document(tmp_path / "a.md", tmp_path).tables
    assert table.scale == scale


def test_a_stated_scale_or_a_percent_table_is_not_overridden_by_prose(tmp_path: Path) -> None:
    text = MARKDOWN + "\nCloud sales were $1.2 billion and margins 12.5 million.\n"
    (tmp_path / "r.md").write_text(text)
    sales, margins = load_document(tmp_path / "r.md", tmp_path).tables
    assert (sales.scale, margins.scale) == ("million", "")


def test_markdown_chunks_break_at_tables(tmp_path: Path) -> None:
    (tmp_path / "r.md").write_text(MARKDOWN)
    doc = load_document(tmp_path / "r.md", tmp_path)
    for chunk in chunk_document(doc, words, max_tokens=40, overlap_tokens=0):
        for table in doc.tables:
            assert chunk.end <= table.start or chunk.start >= table.end or (
                table.start <= chunk.start and chunk.end <= table.end)


# -- DOCX: build_table on the table's grid ----------------------------------------------------------------


def docx_report(path: Path) -> None:
    document = docx.Document()
    document.add_heading("Results", level=1)
    document.add_paragraph("Table 3: Cash flows (in thousands)", style="Caption")
    table = document.add_table(rows=8, cols=4)
    table.cell(0, 1).merge(table.cell(0, 3)).text = "Years ended December 31"
    table.cell(0, 0).merge(table.cell(1, 0)).text = "Item"  # merged down the two header rows
    for j, year in enumerate(["2023", "2022", "2021"], 1):
        table.cell(1, j).text = year
    body = [("Net sales", "5,000", "4,000", "3,000"), ("Capital expenditures", "", "", ""),
            ("Property", "(1,200)", "(900)", "(800)"), ("Equipment", "(300)", "(250)", "(100)"),
            ("Net income", "700", "(50)", "600"), ("Other", "10", "20", "")]
    for i, values in enumerate(body, 2):
        for j, value in enumerate(values):
            table.cell(i, j).text = value
    table.cell(6, 3).merge(table.cell(7, 3)).text = "45"  # one figure for two rows
    for i in (4, 5):
        table.cell(i, 0).paragraphs[0].paragraph_format.left_indent = Pt(18)
    document.add_paragraph("After the table.")
    document.save(str(path))


def test_docx_table_structure(tmp_path: Path) -> None:
    docx_report(tmp_path / "r.docx")
    doc = load_document(tmp_path / "r.docx", tmp_path)
    check(doc)
    blocks = doc.text.split("\n\n")
    # Rows stay blocks of their own, as DOCX tables have always been loaded.
    assert blocks[2:5] == ["Item | Years ended December 31", "Item | 2023 | 2022 | 2021",
                           "Net sales | 5,000 | 4,000 | 3,000"]
    assert "Net income | 700 | (50) | 45" in blocks and "Other | 10 | 20" in blocks  # the merged figure once
    (table,) = doc.tables
    assert table.title == "Table 3: Cash flows (in thousands)"
    assert table.columns == ("Years ended December 31 2023", "Years ended December 31 2022",
                             "Years ended December 31 2021")
    assert (table.scale, table.unit) == ("thousand", "")
    assert table.header is not None and doc.text[table.header[0]:table.header[1]] == (
        "Item | Years ended December 31\n\nItem | 2023 | 2022 | 2021")
    assert table.caption == "Table 3: Cash flows (in thousands)\n" + table.header_line()
    assert row(table, "Property").parents == ("Capital expenditures",)
    assert row(table, "Equipment").name() == "Capital expenditures, Equipment"
    assert row(table, "Net income").parents == ()
    cell = row(table, "Property").cell(0)
    assert cell is not None and cell.text == "(1,200)" and parse_figure(cell.text) == -1200.0
    assert cell.page is None  # DOCX has no pages
    assert doc.table_at(cell.start) == table and doc.section_at(cell.start) == "Results"


# -- PDF: the layout's tables, with their structure -------------------------------------------------------


def test_pdf_3m_cash_flow_statement() -> None:
    doc = load_document(DATA / "3M_2018_10K_excerpt.pdf", DATA)
    check(doc)
    at = doc.text.index("Purchases of property, plant and equipment (PP&E) (1,577)")
    table = doc.table_at(at)
    assert table is not None
    assert table.caption == ("3M Company and Subsidiaries · Consolidated Statement of Cash Flows · Years ended "
                             "December 31 · (Millions) 2018 2017 2016")  # what chunks embed, as before
    assert table.title == "3M Company and Subsidiaries · Consolidated Statement of Cash Flows"
    assert table.columns == ("Years ended December 31 2018", "Years ended December 31 2017",
                             "Years ended December 31 2016")
    assert (table.scale, table.unit) == ("million", "$")
    assert table.header is not None and doc.text[table.header[0]:table.header[1]] == (
        "Years ended December 31\n(Millions) 2018 2017 2016")
    capex = row(table, "Purchases of property, plant and equipment (PP&E)")
    assert capex.start == at and capex.parents == ("Cash Flows from Investing Activities",)
    assert [(c.text, c.column, c.page) for c in capex.cells] == [("(1,577)", 0, 4), ("(1,373)", 1, 4),
                                                                 ("(1,420)", 2, 4)]
    assert texts(row(table, "Net income including noncontrolling interest")) == ["$ 5,363", "$ 4,869", "$ 5,058"]
    assert row(table, "Inventories").parents == (
        "Cash Flows from Operating Activities",
        "Adjustments to reconcile net income including noncontrolling interest to net cash provided by operating "
        "activities", "Changes in assets and liabilities")
    assert row(table, "Net cash provided by (used in) operating activities").parents == (
        "Cash Flows from Operating Activities",)
    wrapped = row(table, "Proceeds from sale of businesses, net of cash sold")  # two PDF lines, one row
    assert texts(wrapped) == ["846", "1,065", "142"]


def test_pdf_3m_header_lines_read_as_one() -> None:
    doc = load_document(DATA / "3M_2018_10K_excerpt.pdf", DATA)
    table = doc.table_at(doc.text.index("Foreign exchange rates $ (290)"))
    assert table is not None
    assert table.columns == ("Adverse impact on after-tax earnings 2018", "Adverse impact on after-tax earnings 2017",
                             "Positive impact on after-tax earnings 2018", "Positive impact on after-tax earnings 2017")
    assert texts(row(table, "Foreign exchange rates")) == ["$ (290)", "$ (242)", "$ 305", "$ 253"]
    equity = doc.table_at(doc.text.index("Balance at December 31, 2015"))
    assert equity is not None and equity.scale == "million"  # "(Dollars in millions, except per share amounts)"
    balance = row(equity, "Balance at December 31, 2015")  # the date is the label's, not a figure
    assert texts(balance)[0] == "$ 11,468" and len(balance.cells) == len(equity.columns) == 6


def test_pdf_figures_of_rows_with_gaps_sit_under_their_columns() -> None:
    """The statement of changes in equity leaves most cells blank: Total, Retained Earnings and Noncontrolling
    Interest for net income, where the page puts them."""
    doc = load_document(DATA / "3M_2018_10K_excerpt.pdf", DATA)
    equity = doc.table_at(doc.text.index("Balance at December 31, 2015"))
    assert equity is not None
    assert [(c.text, c.column) for c in row(equity, "Net income").cells] == [("5,058", 0), ("5,050", 2), ("8", 5)]
    assert [(c.text, c.column) for c in row(equity, "Stock-based compensation").cells] == [("270", 0), ("270", 1)]
    assert [(c.text, c.column) for c in row(equity, "Total other comprehensive income (loss), net of tax").cells] == [
        ("(888)", 0)]


FILINGS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "financebench-public" / "corpus"


def test_pdf_first_year_set_on_the_caption_line_heads_the_first_column() -> None:
    """Adobe's statements set the first year on the caption's line ("Years Ended December 1, 2017") and the
    others below it, each over its column: the first column is that date's, not a column without a name."""
    doc = load_document(FILINGS / "ADOBE_2017_10K.pdf", FILINGS)
    table = doc.table_at(doc.text.index("Net cash provided by operating activities 2,912,853"))
    assert table is not None and table.title == "CONSOLIDATED STATEMENTS OF CASH FLOWS"
    assert table.columns == ("December 1, 2017", "2016", "2015")
    assert [(c.text, c.column) for c in row(table, "Net cash provided by operating activities").cells] == [
        ("2,912,853", 0), ("2,199,728", 1), ("1,469,502", 2)]


@given(st.text(alphabet="ab -\x00\x02\t\n\u00a0\u00ad\ufffe", max_size=16))
def test_clean_map_reads_each_character_back(raw: str) -> None:
    cleaned, source = clean_map(raw)
    assert cleaned == clean(raw) and len(source) == len(cleaned)
    assert all(raw[i] == ch or ch in "- " for i, ch in zip(source, cleaned, strict=True))


def statement_pdf() -> bytes:
    """A statement with a title, two header lines, a label row over indented rows, a total and percentages."""
    pdf = FPDF(unit="pt", format="letter")
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=12)
    pdf.set_xy(72, 72)
    pdf.cell(468, 16, "Acme Corp Segment Results", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    pdf.cell(468, 14, "Years ended December 31", new_x="LMARGIN", new_y="NEXT")
    for text, width in (("(Dollars in millions)", 288), ("2023", 60), ("2022", 60), ("2021", 60)):
        pdf.cell(width, 14, text, align="L" if width > 100 else "R")
    pdf.ln(14)
    rows = [(0, "Net sales", ("$ 1,452.4", "$ 1,146.2", "$ 1,036.9")), (0, "Capital expenditures:", ()),
            (12, "Property", ("(120)", "(95)", "(80)")), (12, "Equipment", ("(30)", "(25)", "(20)")),
            (12, "Total", ("(150)", "(120)", "(100)")), (0, "Operating margin", ("12.5 %", "11.0 %", "10.2 %")),
            (0, "Other income", ("5", "", "7"))]
    for indent, label, values in rows:
        pdf.set_x(72 + indent)
        pdf.cell(288 - indent, 13, label)
        for value in values:
            pdf.cell(60, 13, value, align="R")
        pdf.ln(13)
    pdf.set_font("Helvetica", size=11)
    pdf.ln(20)
    pdf.multi_cell(468, 14, "Sales grew in every segment this year, and margins widened as costs fell.")
    return bytes(pdf.output())


def test_pdf_statement_made_with_fpdf(tmp_path: Path) -> None:
    (tmp_path / "s.pdf").write_bytes(statement_pdf())
    doc = load_document(tmp_path / "s.pdf", tmp_path)
    check(doc)
    (table,) = doc.tables
    assert table.title == "Acme Corp Segment Results"
    assert table.columns == ("Years ended December 31 2023", "Years ended December 31 2022",
                             "Years ended December 31 2021")
    assert (table.scale, table.unit) == ("million", "$")
    assert texts(row(table, "Net sales")) == ["$ 1,452.4", "$ 1,146.2", "$ 1,036.9"]
    assert texts(row(table, "Operating margin")) == ["12.5 %", "11.0 %", "10.2 %"]
    assert row(table, "Property").parents == ("Capital expenditures",)
    assert row(table, "Total").name() == "Capital expenditures, Total"
    assert row(table, "Operating margin").parents == ()
    # Rows with gaps: each figure under the column it is printed in.
    assert [(c.text, c.column) for c in row(table, "Other income").cells] == [("5", 0), ("7", 2)]
    assert all(c.page == 1 for r in table.rows for c in r.cells)
    assert re.search(r"\(Dollars in millions\) 2023 2022 2021\nNet sales", doc.text)


STACKED = """<html><body><p>Quarterly results (in thousands):</p><table>
<tr><td></td><td>Fiscal 2019</td><td></td></tr>
<tr><td></td><td>First Quarter</td><td>Second Quarter</td></tr>
<tr><td>Revenues</td><td>$ 94,888</td><td>$ 96,037</td></tr>
<tr><td>Gross profit</td><td>38,091</td><td>39,821</td></tr>
<tr><td></td><td>Fiscal 2018</td><td></td></tr>
<tr><td></td><td>First Quarter</td><td>Second Quarter</td></tr>
<tr><td>Revenues</td><td>$88,081</td><td>$89,767</td></tr>
<tr><td>Gross profit</td><td>37,443</td><td>36,838</td></tr>
<tr><td></td><td>Liabilities</td><td></td></tr>
<tr><td>Accounts payable</td><td>1,200</td><td>1,100</td></tr>
<tr><td>Maturity date</td><td>30/7/2021</td><td>28/6/2019</td></tr>
<tr><td></td><td>11/4/2024</td><td>8/12/2023</td></tr>
<tr><td>Notional amount</td><td>29,423</td><td>77,630</td></tr>
</table></body></html>"""


def test_tables_stacked_in_one_grid_load_as_one_table_each(tmp_path: Path) -> None:
    """A second year's block under headers of its own is a table of its own; a row heading a group of line
    items, or a second line of dates, names no new block (no period, or no line item repeated below it)."""
    (tmp_path / "q.html").write_text(STACKED)
    doc = load_document(tmp_path / "q.html", tmp_path)
    check(doc)
    first, second = doc.tables
    assert first.columns == ("Fiscal 2019 First Quarter", "Fiscal 2019 Second Quarter")
    assert second.columns == ("Fiscal 2018 First Quarter", "Fiscal 2018 Second Quarter")
    assert texts(row(first, "Revenues")) == ["$ 94,888", "$ 96,037"]
    assert texts(row(second, "Revenues")) == ["$88,081", "$89,767"]
    assert [r.label for r in second.rows][-3:] == ["Maturity date", "", "Notional amount"]  # all in one table
    assert first.title == second.title == "Quarterly results (in thousands):" and second.scale == "thousand"


HEADED_TWICE = """<html><body><p>Revenue by currency:</p><table>
<tr><td></td><td>Weightage (%)</td><td>FY 2019</td><td>FY 2018</td></tr>
<tr><td>USD</td><td>53.6</td><td>70.07</td><td>64.49</td></tr>
<tr><td>Breakup of revenue growth</td><td>FY 2019 (%)</td><td>FY 2018 (%)</td><td></td></tr>
<tr><td>Business growth</td><td>11.4</td><td>6.7</td><td></td></tr>
<tr><td>Impact of exchange rate</td><td>7.6</td><td>(2.3)</td><td></td></tr>
</table></body></html>"""


def test_a_row_of_period_headers_under_figures_heads_a_table_of_its_own(tmp_path: Path) -> None:
    """'Breakup of revenue growth | FY 2019 (%) | FY 2018 (%)' below rows of figures: the rows under it are in its
    columns, so 7.6 is FY 2019's, not the weightage's."""
    (tmp_path / "q.html").write_text(HEADED_TWICE)
    doc = load_document(tmp_path / "q.html", tmp_path)
    check(doc)
    first, second = doc.tables
    assert first.columns == ("Weightage (%)", "FY 2019", "FY 2018")
    assert second.columns[:2] == ("FY 2019 (%)", "FY 2018 (%)")
    assert texts(row(second, "Impact of exchange rate")) == ["7.6", "(2.3)"]


HEADING_IN_A_VALUE_COLUMN = """<html><body><table>
<tr><td></td><td>As reported</td><td>Adjustments</td></tr>
<tr><td>Assets</td><td></td><td></td></tr>
<tr><td>Deferred income tax assets</td><td>22,626</td><td>(532)</td></tr>
<tr><td></td><td>Liabilities and Stockholders' Equity</td><td></td></tr>
<tr><td>Deferred revenue</td><td>$24,264</td><td>(1,945)</td></tr>
</table></body></html>"""


def test_a_heading_set_in_a_value_column_heads_the_rows_below_it(tmp_path: Path) -> None:
    (tmp_path / "q.html").write_text(HEADING_IN_A_VALUE_COLUMN)
    doc = load_document(tmp_path / "q.html", tmp_path)
    check(doc)
    (table,) = doc.tables
    assert row(table, "Deferred revenue").parents == ("Liabilities and Stockholders' Equity",)
    assert row(table, "Liabilities and Stockholders' Equity").cells == ()


WRAPPED_HEADER = """<html><body><table>
<tr><td></td><td>Balance at Beginning of</td><td></td><td></td></tr>
<tr><td></td><td>Period (1/1/19)</td><td>Increase / (Decrease)</td><td>Balance at End of Period</td></tr>
<tr><td>Year Ended December 31, 2019</td><td></td><td></td><td></td></tr>
<tr><td>Deferred revenue (current)</td><td>$5,101</td><td>$(618)</td><td>$4,483</td></tr>
<tr><td>Deferred revenue (non-current)</td><td>$3,707</td><td>$(263)</td><td>$3,444</td></tr>
</table></body></html>"""


def test_a_header_cut_mid_phrase_goes_on_below_it_and_spans_nothing(tmp_path: Path) -> None:
    (tmp_path / "q.html").write_text(WRAPPED_HEADER)
    doc = load_document(tmp_path / "q.html", tmp_path)
    check(doc)
    (table,) = doc.tables
    assert table.columns == ("Balance at Beginning of Period (1/1/19)", "Increase / (Decrease)",
                             "Balance at End of Period")


QUARTERLY = """<html><body><p>Quarterly results (in thousands):</p><table>
<tr><td></td><td></td><td></td><td>Fiscal 2019</td><td></td></tr>
<tr><td></td><td>First</td><td>Second</td><td>Fourth</td><td></td></tr>
<tr><td></td><td>Quarter</td><td>Quarter</td><td>Quarter</td><td>Total</td></tr>
<tr><td>Revenues</td><td>$ 94,888</td><td>$ 96,037</td><td>$84,380</td><td>$275,305</td></tr>
<tr><td></td><td></td><td></td><td>Fiscal 2018</td><td></td></tr>
<tr><td></td><td>First</td><td>Second</td><td>Fourth</td><td></td></tr>
<tr><td></td><td>Quarter</td><td>Quarter</td><td>Quarter</td><td>Total</td></tr>
<tr><td>Revenues</td><td>$88,081</td><td>$89,767</td><td>$94,395</td><td>$272,243</td></tr>
</table></body></html>"""


def test_headers_side_by_side_own_one_column_each(tmp_path: Path) -> None:
    """'First | Second | Fourth' own a column each: the 'Total' beside them is not the fourth quarter's."""
    (tmp_path / "q.html").write_text(QUARTERLY)
    doc = load_document(tmp_path / "q.html", tmp_path)
    check(doc)
    first, second = doc.tables
    assert first.columns == ("Fiscal 2019 First Quarter", "Fiscal 2019 Second Quarter", "Fiscal 2019 Fourth Quarter",
                             "Fiscal 2019 Total")
    assert second.columns[-1] == "Fiscal 2018 Total"
