"""The reader: short answers read from tables (a cell with its labels, a computed step, a comparison, a
list), no short answer when the question's line item or period is not in the table, and the answerer
citing what the short answer rests on."""

from __future__ import annotations

import pytest
from test_tables import STACKED

from rag.answer.asked import asked, focus, label_terms, periods_named
from rag.answer.reader import read
from rag.load.html import load_html
from rag.packs.finance import PACK
from rag.types import Chunk, Hit

REPORT = b"""<html><body>
<p>Sales by contract type. The table below presents total net sales disaggregated by contract type (in millions):</p>
<table>
<tr><td></td><td></td><td>Years Ended September 30,</td><td></td></tr>
<tr><td></td><td>2019</td><td>2018</td><td>2017</td></tr>
<tr><td>Fixed Price</td><td>$ 1,452.4</td><td>$ 1,146.2</td><td>$ 1,036.9</td></tr>
<tr><td>Other</td><td>44.1</td><td>56.7</td><td>70.8</td></tr>
<tr><td>Total sales</td><td>$1,496.5</td><td>$1,202.9</td><td>$1,107.7</td></tr>
</table></body></html>"""

CAPEX = b"""<html><body><h2>Capital expenditures</h2>
<table>
<tr><th></th><th>2022</th><th>2021</th></tr>
<tr><td>Capital expenditures:</td><td></td><td></td></tr>
<tr><td>Commercial Airplanes</td><td>$ 500</td><td>$ 420</td></tr>
<tr><td>Total</td><td>$1,222</td><td>$980</td></tr>
<tr><td>Depreciation</td><td>(1,979)</td><td>(2,144)</td></tr>
</table><p>Amounts in millions.</p></body></html>"""


def hits(data: bytes, source: str = "report.html") -> list[Hit]:
    loaded = load_html(data, source)
    return [Hit(Chunk("c1", source, loaded.text, 0, len(loaded.text), tables=tuple(loaded.tables)), 1.0)]


@pytest.mark.parametrize(("question", "value", "derivation"), [
    ("What is the amount of total sales in 2019?", "$1,496.5 million", None),
    ("What is the change in Other in 2019 from 2018?", "-$12.6 million", "44.1 - 56.7 = -12.6"),
    ("What is the percentage change in Other in 2019 from 2018?", "-22.22%", "(44.1 - 56.7) / 56.7 = -22.22%"),
    ("What is the average Other for 2018 and 2019?", "$50.4 million", "(56.7 + 44.1) / 2 = 50.4"),
    ("In which year is the amount of total sales the largest?", "2019", "1,496.5 > 1,202.9 > 1,107.7"),
    ("What is the 2019 Other expressed as a percentage of the 2018 Other?", "77.78%", "44.1 / 56.7 = 77.7778"),
])
def test_each_kind_of_short_answer_over_one_table(question: str, value: str, derivation: str | None) -> None:
    found = read(question, hits(REPORT))
    assert found is not None
    assert found.value == value
    assert found.derivation == derivation


def test_a_cell_is_stated_with_its_row_column_and_scale() -> None:
    found = read("What is the amount of total sales in 2019?", hits(REPORT))
    assert found is not None
    assert found.label() == "$1,496.5 million (Total sales, Years Ended September 30, 2019)"
    (index, row), = found.rows
    assert row.name() == "Total sales" and index == 0


def test_a_sub_row_is_named_under_its_parent() -> None:
    found = read("What is the total capital expenditures in 2022?", hits(CAPEX))
    assert found is not None
    assert found.row == "Capital expenditures, Total"
    assert found.value.startswith("$1,222")


def test_several_periods_are_listed_in_the_order_asked() -> None:
    found = read("What was Other in 2019 and 2018 respectively?", hits(REPORT))
    assert found is not None
    assert found.items == ("44.1 million", "56.7 million")


def test_a_share_of_a_total_is_one_step_over_two_rows() -> None:
    found = read("What is the percentage of Other in total sales in 2019?", hits(REPORT))
    assert found is not None
    assert found.value == "2.95%"
    assert {row.name() for _, row in found.rows} == {"Other", "Total sales"}


@pytest.mark.parametrize("question", [
    "What is the amount of research and development expense in 2019?",  # no such line item
    "What is the amount of total sales in 2015?",  # no such period
    "Why did total sales grow in 2019?",  # an explanation, not a figure
])
def test_no_short_answer_when_the_table_does_not_hold_what_is_asked(question: str) -> None:
    assert read(question, hits(REPORT)) is None


@pytest.mark.parametrize(("request_", "question"), [
    ("In which year was the rate greater than 2.0%?", "In which year was the rate greater than 2.0%?"),
    ("What was U.S. revenue in 2019?", "What was U.S. revenue in 2019?"),
    ("Answer using the balance sheet: what is the FY2018 net PPNE? Answer in USD billions.",
     " what is the FY2018 net PPNE?"),
])
def test_the_question_inside_a_request_keeps_its_decimals_and_abbreviations(request_: str, question: str) -> None:
    assert focus(request_) == question


@pytest.mark.parametrize(("question", "periods"), [
    ("What is the change in Other in 2019 from 2018?", ("2019", "2018")),
    ("What was the change from 2018 to 2019?", ("2019", "2018")),
    ("What is the change between 2018 and 2019?", ("2019", "2018")),
])
def test_a_change_runs_from_the_earlier_period_to_the_later(question: str, periods: tuple[str, ...]) -> None:
    assert asked(question).periods == periods


@pytest.mark.parametrize(("question", "years"), [
    ("average ROFE for the years F19 and F18", ["2019", "2018"]),
    ("net income from 2017-2019", ["2017", "2018", "2019"]),
    ("revenue in FY2019", ["2019"]),
])
def test_periods_as_questions_write_them(question: str, years: list[str]) -> None:
    assert periods_named(question) == years


def test_the_extractive_answer_carries_and_cites_the_short_answer(tmp_path: object) -> None:
    from rag.answer.extractive import ExtractiveAnswerer
    from rag.embed.hashing import HashingEmbedder

    answer = ExtractiveAnswerer(HashingEmbedder()).answer("What is the amount of total sales in 2019?",
                                                          hits(REPORT))
    assert answer.short is not None and not answer.abstained
    cited = {c.id: c for c in answer.citations}
    row = cited[answer.short.citations[0]]
    assert row.quote == "Total sales | $1,496.5 | $1,202.9 | $1,107.7"
    assert row.header is not None and "2019" in row.header


def test_a_generated_answer_gets_the_short_answer_with_its_row_cited() -> None:
    from rag.answer.reader import attach_short
    from rag.types import Answer

    passages = hits(REPORT)
    generated = Answer("What is the amount of total sales in 2019?", "Sales were $1,496.5 million [1].", False,
                       "generative", (), tuple(passages))
    answer = attach_short(generated, generated.question, passages)
    assert answer.short is not None and answer.short.value == "$1,496.5 million"
    (citation,) = answer.citations
    assert citation.id == answer.short.citations[0]
    text = passages[0].chunk.text
    assert text[citation.start : citation.end] == citation.quote == "Total sales | $1,496.5 | $1,202.9 | $1,107.7"


SEGMENTS = b"""<html><body><p>Net sales by segment (in thousands):</p>
<table>
<tr><td></td><td>2019</td><td>2018</td><td>2017</td></tr>
<tr><td>Revenue:</td><td></td><td></td><td></td></tr>
<tr><td>Hardware</td><td>120,000</td><td>90,000</td><td>80,000</td></tr>
<tr><td>Software</td><td>300,000</td><td>310,000</td><td>150,000</td></tr>
<tr><td>Services</td><td>50,000</td><td>40,000</td><td>30,000</td></tr>
<tr><td>Total revenue</td><td>470,000</td><td>440,000</td><td>260,000</td></tr>
</table>
<p>The standard rate of corporation tax in the United Kingdom was 19.0% in 2019, and the hurdle rate was 7%.</p>
</body></html>"""


@pytest.mark.parametrize(("question", "value", "items"), [
    ("What are the components of total revenue?", "Hardware, Software, Services", ("Hardware", "Software", "Services")),
    ("How many components does revenue consist of?", "3", ()),
    ("In which segment was revenue the largest in 2019?", "Software", ()),
    ("How many years did Hardware exceed $85,000 thousand?", "2", ()),
    ("In which years was Services recorded?", "2019, 2018, 2017", ("2019", "2018", "2017")),
    ("What was the change in Software in 2019?", "-10,000 thousand", ()),
])
def test_rows_listed_picked_counted_and_dated(question: str, value: str, items: tuple[str, ...]) -> None:
    found = read(question, hits(SEGMENTS))
    assert found is not None
    assert found.value.replace("$", "").replace("-10000", "-10,000") == value
    assert found.items == items


def test_a_figure_a_sentence_states_when_no_row_holds_it() -> None:
    found = read("What was the standard rate of corporation tax in the United Kingdom in 2019?", hits(SEGMENTS))
    assert found is not None and found.kind == "span" and found.value == "19.0%"
    ((index, start, end),) = found.sentences
    text = hits(SEGMENTS)[index].chunk.text
    assert "corporation tax" in text[start:end]


QUARTERS = b"""<html><body><table>
<tr><td></td><td>Three months ended March 31, 2021</td><td>Three months ended March 31, 2020</td></tr>
<tr><td>Total net revenue</td><td>$ 4,077</td><td>$ 3,389</td></tr>
</table></body></html>"""


def test_a_quarter_the_columns_do_not_hold_has_no_short_answer() -> None:
    assert read("What was total net revenue in 2021 Q3?", hits(QUARTERS)) is None
    found = read("What was total net revenue in 2021 Q1?", hits(QUARTERS))
    assert found is not None and found.value == "$4,077"


def test_a_table_answers_where_the_words_of_the_sentences_fall_short() -> None:
    from rag.answer.extractive import ExtractiveAnswerer
    from rag.embed.hashing import HashingEmbedder

    # "bookings" is in no sentence: the coverage of words abstains, the table's row and column answer.
    question = "What were the hardware bookings amounts in 2018 and 2019 respectively?"
    answer = ExtractiveAnswerer(HashingEmbedder()).answer(question, hits(SEGMENTS))
    assert not answer.abstained and answer.short is not None
    assert answer.short.items == ("90,000 thousand", "120,000 thousand")


CASH_FLOWS = b"""<html><body><h2>Consolidated Statement of Cash Flows</h2><p>(Millions)</p>
<table>
<tr><td></td><td>2018</td><td>2017</td></tr>
<tr><td>Net cash provided by operating activities</td><td>6,439</td><td>6,240</td></tr>
<tr><td>Purchases of property, plant and equipment (PP&amp;E)</td><td>(1,577)</td><td>(1,373)</td></tr>
<tr><td>Total current liabilities</td><td>7,244</td><td>7,687</td></tr>
</table></body></html>"""


def test_an_analysts_term_is_read_from_the_statement_row_that_reports_it() -> None:
    """With the finance pack's line items: no pack on, 'capital expenditure' names no row and nothing is read."""
    question = "What is the FY2018 capital expenditure amount (in USD millions) for 3M?"
    assert read(question, hits(CASH_FLOWS)) is None
    found = read(question, hits(CASH_FLOWS), PACK.lexicon(question))
    assert found is not None
    assert found.value == "(1,577) million"
    assert found.row == "Purchases of property, plant and equipment (PP&E)"


def test_a_metric_the_question_defines_is_one_step_over_its_operands_rows() -> None:
    question = ("What is the FY2018 operating cash flow ratio for 3M? Operating cash flow ratio is defined as: "
                "cash from operations / total current liabilities.")
    found = read(question, hits(CASH_FLOWS), PACK.lexicon(question))
    assert found is not None and found.kind == "computed"
    assert found.value == "0.89" and found.derivation == "6,439 / 7,244 = 0.89"
    assert len(found.rows) == 2


LEASES = b"""<html><body><p>Lease costs (in millions):</p><table>
<tr><td></td><td>Operating Leases</td><td>Finance Leases</td></tr>
<tr><td>2023</td><td>135</td><td>7</td></tr>
<tr><td>2022</td><td>138</td><td>6</td></tr>
</table></body></html>"""


def test_a_table_whose_rows_are_periods_is_read_turned() -> None:
    found = read("What was the change in finance leases between 2022 and 2023?", hits(LEASES))
    assert found is not None and found.value == "1 million" and found.derivation == "7 - 6 = 1"
    ((index, row),) = found.rows
    assert hits(LEASES)[index].chunk.text[row.start:row.end].startswith("7")  # from its first cell to its last


def test_the_respective_figures_of_two_rows_and_the_periods_under_a_bound() -> None:
    found = read("What were the respective revenue of Hardware and Services in 2019?", hits(SEGMENTS))
    assert found is not None and found.items == ("120,000 thousand", "50,000 thousand")
    found = read("In which year was Hardware lower than 100,000 thousand?", hits(SEGMENTS))
    assert found is not None and found.items == ("2018", "2017")
    found = read("Which years did Software exceed $200,000 thousand?", hits(SEGMENTS))  # "exceed" with no "than"
    assert found is not None and found.items == ("2019", "2018")


AGING = b"""<html><body><table>
<tr><td></td><td>1-90</td><td>91-180</td><td>Total</td></tr>
<tr><td>Country risk: Low</td><td>1,347</td><td>125</td><td>1,472</td></tr>
<tr><td>Country risk: High</td><td>583</td><td>365</td><td>948</td></tr>
</table></body></html>"""


def test_a_difference_between_two_columns_of_the_row_the_question_names() -> None:
    found = read("What is the difference between 1-90 and 91-180 days past due in low risk country?", hits(AGING))
    assert found is not None and found.value == "1222" and found.derivation == "1,347 - 125 = 1,222"
    assert found.row == "Country risk: Low"


def test_which_of_two_named_years_is_higher_and_the_years_a_table_covers() -> None:
    found = read("Between 2018 and 2019, which year had higher Software?", hits(SEGMENTS))
    assert found is not None and found.value == "2018"
    found = read("What are the years included in the table?", hits(SEGMENTS))
    assert found is not None and found.items == ("2019", "2018", "2017")


DEFERRED = b"""<html><body><table>
<tr><td></td><td>Balance at Beginning of Period</td><td>Balance at End of Period</td></tr>
<tr><td>Deferred revenue (current)</td><td>$5,101</td><td>$4,483</td></tr>
<tr><td>Deferred revenue (non-current)</td><td>$3,707</td><td>$3,444</td></tr>
</table></body></html>"""


def test_each_side_of_a_ratio_is_named_by_its_own_words_in_the_column_asked() -> None:
    question = "What is the ratio of current deferred revenue to non-current deferred revenue as of end of period?"
    found = read(question, hits(DEFERRED))
    assert found is not None and found.value == "1.3" and found.derivation == "4,483 / 3,444 = 1.3017"


def test_the_day_of_a_date_is_not_a_figure_of_prose() -> None:
    page = (b"<html><body><p>Deposits held as collateral at 31 December 2018 were \xc2\xa33.5 million, and the "
            b"deposits held as collateral rose after that date.</p></body></html>")
    found = read("What is the amount of deposits held as collateral at 31 December 2018?", hits(page))
    assert found is not None and found.value == "£3.5 million"


OBLIGATIONS = b"""<html><body><p>Contractual obligations (in millions):</p><table>
<tr><td></td><td>Payments Due by Period Total</td><td>Less than 1 Year</td><td>1-3 Years</td></tr>
<tr><td>Long-term debt</td><td>10,556.6</td><td>-</td><td>2,747.6</td></tr>
<tr><td>Operating lease obligations</td><td>312.6</td><td>52.1</td><td>86.4</td></tr>
<tr><td>Purchase obligations</td><td>1,483.5</td><td>1,195.3</td><td>223.4</td></tr>
<tr><td>Total</td><td>12,352.7</td><td>1,247.4</td><td>3,057.4</td></tr>
</table></body></html>"""


def test_the_row_with_the_largest_figure_in_a_column_named_only_by_total() -> None:
    """"Which obligation has the highest total value?": the Total column names it; the Total row is no candidate."""
    found = read("Which contractual obligation has the highest total value?", hits(OBLIGATIONS))
    assert found is not None and found.value == "Long-term debt"
    assert found.derivation == "10,556.6 > 1,483.5 > 312.6"
    assert read("Which contractual obligation has the highest value?", hits(OBLIGATIONS)) is None  # which column?


RECEIVABLES = b"""<html><body><table>
<tr><td></td><td>Current $'000</td><td>31 to 60 days past due $'000</td><td>Total $'000</td></tr>
<tr><td>Gross carrying amount</td><td>23,762</td><td>787</td><td>28,320</td></tr>
<tr><td>Net receivables</td><td>23,524</td><td>728</td><td>27,579</td></tr>
</table></body></html>"""


def test_a_share_of_two_columns_one_named_by_total_and_a_scale() -> None:
    """"Total $'000" is the column 'total': the share is one step over two cells of the row named."""
    found = read("What was the percentage of current net receivables out of total net receivables?",
                 hits(RECEIVABLES))
    assert found is not None and found.derivation == "23,524 / 27,579 = 85.2968"
    assert found.value == "85.3%"


PRICES = b"""<html><body><p>Common stock prices:</p><table>
<tr><td></td><td>High</td><td>Low</td></tr>
<tr><td>2019</td><td></td><td></td></tr>
<tr><td>Fourth Quarter</td><td>$11.44</td><td>$9.47</td></tr>
<tr><td>Third Quarter</td><td>$14.96</td><td>$10.26</td></tr>
<tr><td>2018</td><td></td><td></td></tr>
<tr><td>Fourth Quarter</td><td>$12.16</td><td>$7.43</td></tr>
<tr><td>Third Quarter</td><td>$20.60</td><td>$10.95</td></tr>
</table></body></html>"""


def test_a_difference_of_two_columns_in_the_row_the_period_heads() -> None:
    """"The difference in the high and low prices in the fourth quarter of 2019": High less Low, in the Fourth
    Quarter row under 2019, not under 2018."""
    found = read("What is the difference in the high and low prices of the common stock in the fourth quarter "
                 "of 2019?", hits(PRICES))
    assert found is not None and found.derivation == "11.44 - 9.47 = 1.97"


CONTRACTS = b"""<html><body>
<p>Contract types. Under time-and-materials contracts, we are reimbursed for labor hours at negotiated rates
and for materials at cost. Order intake represents commitments from customers to purchase goods and services.</p>
<p>Depreciation is calculated using the straight-line method. Revenue grew 4% in 2019 because of higher demand.
CYCLADES was a French research network designed and directed by Louis Pouzin.</p>
<p>Advisory Fees include fees billed for tax planning and for assistance with regulatory filings.
Platform revenue consisted of switching and routing products sold with support.</p>
</body></html>"""


@pytest.mark.parametrize(("question", "span"), [
    ("What is the company reimbursed for under time-and-materials contracts?",
     "labor hours at negotiated rates and for materials at cost"),
    ("What does order intake represent?", "commitments from customers to purchase goods and services"),
    ("What did platform revenue consist of?", "switching and routing products sold with support"),  # no table lists it
    # "What are X?" asks what X is: the sentence that opens with X and says what it includes is its definition
    ("What are Advisory Fees?",
     "Advisory Fees include fees billed for tax planning and for assistance with regulatory filings"),
])
def test_what_a_sentence_says_a_thing_is_is_the_span_after_its_name(question: str, span: str) -> None:
    found = read(question, hits(CONTRACTS))
    assert found is not None and (found.value, found.kind) == (span, "span")
    (index, start, end), = found.cited()  # the whole sentence is cited, the span is inside it
    sentence = hits(CONTRACTS)[index].chunk.text[start:end]
    assert span in sentence and sentence.endswith(".")


@pytest.mark.parametrize("question", [
    "Why did revenue grow in 2019?",  # a reason: no short answer
    "How much did revenue grow in 2019?",  # an amount, and no table or figure sentence names it surely
    "What does the backlog consist of?",  # no sentence names the backlog
    "What does the table show?",  # about a table, not a thing a sentence defines
    "What network was designed by the French?",  # the sentence goes on past the name with no verb of relation
])
def test_no_span_for_a_reason_an_amount_or_a_thing_no_sentence_names(question: str) -> None:
    found = read(question, hits(CONTRACTS))
    assert found is None or found.kind != "span"


def test_a_difference_whose_two_sides_are_not_told_apart_is_no_single_cell() -> None:
    """'The difference in Other in 2019' asks for two figures' difference, not saying which; the one cell of
    2019 would be a confident wrong answer."""
    question = "What is the difference in Other in 2019?"
    assert asked(question).operation == "difference"
    assert read(question, hits(REPORT)) is None


DATED = b"""<html><body><p>Quarterly results (in millions):</p><table>
<tr><td></td><td>July 27, 2019</td><td>April 27, 2019</td><td>January 26, 2019</td></tr>
<tr><td>Revenue</td><td>13,428</td><td>12,958</td><td>12,446</td></tr>
<tr><td>Net income</td><td>2,206</td><td>3,044</td><td>2,822</td></tr>
</table></body></html>"""


@pytest.mark.parametrize(("question", "value", "derivation"), [
    # a change runs from the earlier date to the later, whichever the question names first
    ("What was the change in revenue between the quarters ended July 27 and April 27 in 2019?", "470 million",
     "13,428 - 12,958 = 470"),
    ("What was the change in net income between quarters ended January 26 and April 27, 2019?", "222 million",
     "3,044 - 2,822 = 222"),
    ("What was the percentage change in revenue between the quarters ended July 27 and January 26, 2019?", "7.89%",
     "(13,428 - 12,446) / 12,446 = 7.89%"),
])
def test_a_change_between_two_dates_reads_the_columns_they_name(question: str, value: str, derivation: str) -> None:
    found = read(question, hits(DATED))
    assert found is not None and (found.value, found.derivation) == (value, derivation)


GOODWILL = b"""<html><body><p>Goodwill by segment (in millions):</p><table>
<tr><td>(In Millions)</td><td>Dec 29, 2018</td><td>Acquisitions</td><td>Dec 28, 2019</td></tr>
<tr><td>Data Center Group</td><td>$5,424</td><td>$1,758</td><td>$7,155</td></tr>
<tr><td>Mobileye</td><td>10,290</td><td>-</td><td>10,290</td></tr>
<tr><td>(In Millions)</td><td>Dec 30, 2017</td><td>Acquisitions</td><td>Dec 29, 2018</td></tr>
<tr><td>Data Center Group</td><td>$5,421</td><td>$3</td><td>$5,424</td></tr>
<tr><td>Mobileye</td><td>10,278</td><td>7</td><td>10,290</td></tr>
</table></body></html>"""


def test_a_ratio_of_two_rows_is_read_from_the_one_stacked_table_holding_both_and_the_year() -> None:
    found = read("What is the ratio of Data Center Group to Mobileye goodwill amount in 2019?", hits(GOODWILL))
    assert found is not None and found.derivation == "7,155 / 10,290 = 0.6953"
    assert {row.start for _, row in found.rows} <= {r.start for r in hits(GOODWILL)[0].chunk.tables[0].rows}


STACKED_QUARTERS = STACKED.encode()  # two years' quarters stacked in one grid


@pytest.mark.parametrize(("question", "value"), [
    ("What was the revenue in the fiscal 2019 second quarter?", "$96,037 thousand"),
    ("What was the revenue in the first quarter of fiscal 2018?", "$88,081 thousand"),
])
def test_a_row_of_tables_stacked_by_year_is_read_from_the_table_of_the_year_asked(question: str, value: str) -> None:
    found = read(question, hits(STACKED_QUARTERS))
    assert found is not None and found.value == value


BY_YEAR_ROWS = b"""<html><body><p>Investment properties (in millions):</p><table>
<tr><td></td><td>Valuation basis</td><td>Carrying value</td></tr>
<tr><td>Year ended 30 June 2019</td><td></td><td></td></tr>
<tr><td>Leasehold</td><td>External</td><td>230</td></tr>
<tr><td>Freehold</td><td>External</td><td>380</td></tr>
<tr><td>Year ended 30 June 2018</td><td></td><td></td></tr>
<tr><td>Leasehold</td><td>External</td><td>600</td></tr>
<tr><td>Freehold</td><td>Internal</td><td>450</td></tr>
</table></body></html>"""


def test_a_year_heading_a_group_of_rows_picks_the_row_under_it() -> None:
    for year, value in (("2019", "230 million"), ("2018", "600 million")):
        found = read(f"What was the carrying value of leasehold properties in {year}?", hits(BY_YEAR_ROWS))
        assert found is not None and found.value == value
        assert found.row == f"Year ended 30 June {year}, Leasehold"
    assert read("What was the carrying value of leasehold properties in 2017?", hits(BY_YEAR_ROWS)) is None


MARGINS = b"""<html><body><p>Results (in millions):</p><table>
<tr><td></td><td>2019</td><td>2018</td><td>Variation 2019 vs 2018</td></tr>
<tr><td>Gross profit</td><td>$3,696</td><td>$3,861</td><td>(4.3)%</td></tr>
<tr><td>Gross margin (as percentage of net revenues)</td><td>38.7%</td><td>40.0%</td><td>-130 bps</td></tr>
</table></body></html>"""


def test_a_row_of_percentages_beside_a_change_column_in_points_averages_as_percentages() -> None:
    found = read("What is the average gross margin (as percentage of net revenues)?", hits(MARGINS))
    assert found is not None and (found.value, found.derivation) == ("39.35%", "(38.7 + 40) / 2 = 39.35")


SPLIT_YEARS = """<html><body><table>
<tr><td>€ million</td><td>2017/2018</td><td>2018/2019</td></tr>
<tr><td>Earnings before interest and taxes EBIT</td><td>713</td><td>828</td></tr>
<tr><td>Net financial result</td><td>-138</td><td>-118</td></tr>
</table></body></html>""".encode()


def test_columns_of_split_fiscal_years_are_read_by_the_year_each_ends_in() -> None:
    found = read("What was the percentage change in EBIT in 2018/2019 from 2017/2018?", hits(SPLIT_YEARS))
    assert found is not None and found.derivation == "(828 - 713) / 713 = 16.13%"
    found = read("What was the net financial result in 2019?", hits(SPLIT_YEARS))
    assert found is not None and (found.value, found.column) == ("-118 million", "2018/2019")


SWAPS = b"""<html><body><p>Hedging (RMB million):</p><table>
<tr><td></td><td>2019</td><td>2018</td></tr>
<tr><td>Interest rate swaps</td><td></td><td></td></tr>
<tr><td>Carrying amount (non-current (liabilities)/assets)</td><td>(494)</td><td>1,663</td></tr>
<tr><td>Maturity date</td><td>30/7/2021~</td><td>28/6/2019~</td></tr>
<tr><td></td><td>11/4/2024</td><td>8/12/2023</td></tr>
</table></body></html>"""


def test_a_label_wrapped_onto_a_row_of_its_own_is_no_row_a_question_names() -> None:
    found = read("What is the 2019 carrying amount of interest rate swaps?", hits(SWAPS))
    assert found is not None and found.value == "(494) million"


DENOMINATED = b"""<html><body><table>
<tr><td></td><td>USD denominated RMB'Million</td><td>Non-USD denominated RMB'Million</td></tr>
<tr><td>As at 31 December 2019</td><td></td><td></td></tr>
<tr><td>Monetary assets, current</td><td>27,728</td><td>2,899</td></tr>
<tr><td>Monetary assets, non-current</td><td>373</td><td>-</td></tr>
</table></body></html>"""


def test_non_joined_to_a_word_negates_that_word_only() -> None:
    assert label_terms("Non-current assets") == label_terms("noncurrent assets")
    found = read("What was the amount of non-USD denominated current monetary assets as at 31 December 2019?",
                 hits(DENOMINATED))
    assert found is not None and found.value == "2,899 million"
    assert found.row == "As at 31 December 2019, Monetary assets, current"


NOTES = b"""<html><body>
<p>We recognize accrued interest and penalties related to unrecognized tax benefits as a component of tax expense.
We had $3.0 million and $1.2 million of accrued interest and penalties at December 31, 2019 and 2018,
respectively.</p>
<p>The hurdle rate has been set at 7%, and the plan allows a share of up to 12% of growth above it. In 2019 the
NAV did not meet the hurdle rate, while in 2018 it grew approximately 21%.</p>
<p>During the year ended 31 December 2019, the Group reported exchange gains of approximately RMB77 million
(2018: RMB229 million).</p>
</body></html>"""


@pytest.mark.parametrize(("question", "value"), [
    ("What was the company's accrued interest and penalties in 2019?", "$3.0 million"),  # named after "of"
    ("What was the company's accrued interest and penalties in 2018?", "$1.2 million"),
    ("What is the hurdle rate?", "7%"),  # the figure in the clause that names it
    ("How much exchange gains did the Group report for the year ended 31 December 2019?", "RMB77 million"),
])
def test_a_figure_of_prose_named_before_it_after_it_or_in_its_clause(question: str, value: str) -> None:
    found = read(question, hits(NOTES))
    assert found is not None and (found.kind, found.value) == ("span", value)


INTEREST = b"""<html><body><p>Other income (in thousands):</p><table>
<tr><td></td><td>2019</td><td>2018</td></tr>
<tr><td>Interest income</td><td>30,182</td><td>13,281</td></tr>
<tr><td>Net decrease in cash</td><td>(472.7)</td><td>(120.4)</td></tr>
</table></body></html>"""


def test_an_increase_in_one_year_is_the_change_from_the_year_before_unless_the_row_is_the_increase() -> None:
    found = read("What was the increase in interest income in 2019?", hits(INTEREST))
    assert found is not None and (found.value, found.derivation) == ("16901 thousand", "30,182 - 13,281 = 16,901")
    found = read("What was the net decrease in cash in 2019?", hits(INTEREST))
    assert found is not None and found.value == "(472.7) thousand"
    assert read("What was the increase in interest income in 2018?", hits(INTEREST)) is None  # no 2017 column


SCHEMES = b"""<html><body><p>Pension costs (in thousands):</p><table>
<tr><td></td><td>2019</td><td>2018</td></tr>
<tr><td>Transportation Solutions:</td><td></td><td></td></tr>
<tr><td>Defined contribution schemes1</td><td>1,200</td><td>1,100</td></tr>
<tr><td>Industrial Solutions:</td><td></td><td></td></tr>
<tr><td>Defined benefit schemes (2)</td><td>300</td><td>350</td></tr>
<tr><td>Total</td><td>1,500</td><td>1,450</td></tr>
</table></body></html>"""


@pytest.mark.parametrize(("question", "items"), [
    ("What financial items are listed in the table?", ("Defined contribution schemes", "Defined benefit schemes")),
    ("What are the types of Solutions segments in the table?", ("Transportation Solutions", "Industrial Solutions")),
    ("Which financial years' information is shown in the table?", ("2019", "2018")),
])
def test_the_line_items_or_the_years_a_table_shows(question: str, items: tuple[str, ...]) -> None:
    found = read(question, hits(SCHEMES))
    assert found is not None and found.items == items


def test_dates_listed_in_a_table_are_not_its_line_items() -> None:
    assert read("What are the dates listed in the table?", hits(SCHEMES)) is None


PAYMENTS = b"""<html><body><p>Contractual obligations (in thousands):</p><table>
<tr><td></td><td>Payments due by Period</td><td></td><td></td></tr>
<tr><td></td><td>Less Than 1 Year</td><td>2-5 Years</td><td>Total</td></tr>
<tr><td>Operating lease obligations</td><td>$773</td><td>$2,055</td><td>$2,828</td></tr>
<tr><td>Purchase obligations</td><td>2,650</td><td>2,000</td><td>4,650</td></tr>
<tr><td>Total contractual obligations</td><td>$3,423</td><td>$4,055</td><td>$7,478</td></tr>
</table></body></html>"""


def test_the_respective_cells_of_two_columns_a_question_names_in_words() -> None:
    found = read("What are the respective values of operating lease obligations that are less than one year and "
                 "between 2-5 years?", hits(PAYMENTS))
    assert found is not None and found.items == ("$773 thousand", "$2,055 thousand")


def test_a_side_naming_a_row_of_its_own_is_not_a_column_of_the_other_sides_row() -> None:
    found = read("What is the value of operating lease obligations that are due in less than one year as a "
                 "percentage of the total contractual obligations?", hits(PAYMENTS))
    assert found is not None and found.derivation == "773 / 3,423 × 100 = 22.5825"
    assert found.row == "Operating lease obligations; Total contractual obligations"


ROLL_FORWARD = b"""<html><body><table>
<tr><td>Non-vested awards</td><td>Shares</td><td>Weighted-Average Grant Date Fair Value</td></tr>
<tr><td>Non-vested at December 31, 2018</td><td>1,187,586</td><td>$41.12</td></tr>
<tr><td>Granted</td><td>473,550</td><td>$53.53</td></tr>
<tr><td>Vested</td><td>(365,223)</td><td>$41.83</td></tr>
<tr><td>Non-vested at December 31, 2019</td><td>1,283,281</td><td>$45.40</td></tr>
</table></body></html>"""


def test_a_movement_between_two_dated_balances_is_the_later_years() -> None:
    found = read("What is the number of non-vested shares granted in 2019?", hits(ROLL_FORWARD))
    assert found is not None and (found.value, found.row) == ("473,550", "Granted")
    assert read("What is the number of non-vested shares granted in 2018?", hits(ROLL_FORWARD)) is None


CHANGES = b"""<html><body><p>Expenses (in thousands):</p><table>
<tr><td></td><td>Change between 2019 and 2018</td><td>Change between 2018 and 2017</td></tr>
<tr><td>Travel and communication</td><td>794</td><td>80</td></tr>
</table></body></html>"""


def test_two_periods_under_one_column_are_no_change_of_zero() -> None:
    assert read("What was the change in Travel and communication from 2018 to 2019?", hits(CHANGES)) is None


FLOWS = b"""<html><body><p>Cash flows (in millions):</p><table>
<tr><td></td><td>2019</td><td>2018</td><td>2017</td></tr>
<tr><td>Free cash flow</td><td>4,411</td><td>4,044</td><td>3,316</td></tr>
<tr><td>Investment income</td><td>433</td><td>685</td><td>500</td></tr>
<tr><td>Financing costs</td><td>(2,088)</td><td>(1,074)</td><td>(900)</td></tr>
<tr><td>Net change in cash balance</td><td>(12)</td><td>(9)</td><td>4</td></tr>
</table></body></html>"""


@pytest.mark.parametrize(("question", "value", "derivation"), [
    ("What is the change between 2018 and 2019 average free cash flow?", "547.5 million",
     "(4,411 + 4,044) / 2 - (4,044 + 3,316) / 2 = 547.5"),
    ("What is the difference between the average investment income and average financing costs in 2019 and 2018?",
     "2140 million", "(433 + 685) / 2 - (-2,088 + -1,074) / 2 = 2,140"),
    ("What is the average net change in cash balance in 2019 and 2018?", "-10.5 million", "(-12 + -9) / 2 = -10.5"),
])
def test_changes_and_differences_of_averages(question: str, value: str, derivation: str) -> None:
    found = read(question, hits(FLOWS))
    assert found is not None and (found.value, found.derivation) == (value, derivation)


RESPECTIVELY = b"""<html><body>
<p>The Company recorded 3 acquisitions. Stock-based compensation expense was $2.3 million, $2.1 million and $1.9 million
for 2019, 2018 and 2017, respectively.</p>
</body></html>"""


def test_each_asked_year_is_read_from_a_sentence_listing_them_respectively() -> None:
    found = read("What was the stock-based compensation expense in 2019, 2018 and 2017 respectively?",
                 hits(RESPECTIVELY))
    assert found is not None and found.items == ("$2.3 million", "$2.1 million", "$1.9 million")
    found = read("What was the stock-based compensation expense in 2017 and 2019?", hits(RESPECTIVELY))
    assert found is not None and found.items == ("$1.9 million", "$2.3 million")


PRICES = b"""<html><body><table>
<tr><td></td><td>High</td><td>Low</td></tr>
<tr><td>2019</td><td></td><td></td></tr>
<tr><td>Fourth Quarter</td><td>$11.44</td><td>$9.47</td></tr>
<tr><td>Third Quarter</td><td>$14.96</td><td>$10.26</td></tr>
<tr><td>Second Quarter</td><td>$20.91</td><td>$12.61</td></tr>
<tr><td>First Quarter</td><td>$18.19</td><td>$8.87</td></tr>
<tr><td>2018</td><td></td><td></td></tr>
<tr><td>Fourth Quarter</td><td>$12.16</td><td>$7.43</td></tr>
<tr><td>Third Quarter</td><td>$20.60</td><td>$10.95</td></tr>
<tr><td>Second Quarter</td><td>$18.30</td><td>$6.70</td></tr>
<tr><td>First Quarter</td><td>$7.35</td><td>$6.00</td></tr>
</table>
<p>Quarterly results (in thousands):</p><table>
<tr><td></td><td>Fiscal 2019 First Quarter</td><td>Fiscal 2019 Second Quarter</td><td>Fiscal 2019 Total</td></tr>
<tr><td>Revenues</td><td>$94,888</td><td>$96,037</td><td>$190,925</td></tr>
</table></body></html>"""


@pytest.mark.parametrize(("question", "value", "derivation"), [
    ("In 2019, what is the change in high price between the third quarter and fourth quarter?", "-$3.52",
     "11.44 - 14.96 = -3.52"),
    ("What is the average quarterly low price for 2018?", "$7.77", "(6 + 6.7 + 10.95 + 7.43) / 4 = 7.77"),
    ("What is the change in revenues between the second and first quarter in fiscal 2019?", "$1149 thousand",
     "96,037 - 94,888 = 1,149"),
])
def test_quarters_named_without_a_year_of_their_own(question: str, value: str, derivation: str) -> None:
    found = read(question, hits(PRICES))
    assert found is not None and (found.value, found.derivation) == (value, derivation)


def test_each_quarters_figure_is_listed_in_the_order_of_the_year() -> None:
    found = read("What was the low price for each quarter in 2019?", hits(PRICES))
    assert found is not None and found.items == ("$8.87", "$12.61", "$10.26", "$9.47")


SHARES_OF = b"""<html><body><p>Results (in millions):</p><table>
<tr><td></td><td>2019</td><td>2018</td></tr>
<tr><td>EBITDA</td><td>372</td><td>350</td></tr>
<tr><td>Depreciation and amortisation</td><td>(111)</td><td>(100)</td></tr>
<tr><td>U.S. government obligations</td><td>416</td><td>300</td></tr>
<tr><td>Total unrealized gain</td><td>14,650</td><td>12,000</td></tr>
<tr><td>Total liabilities</td><td>100.1</td><td>90</td></tr>
<tr><td>Total assets</td><td>545.8</td><td>500</td></tr>
</table></body></html>"""


@pytest.mark.parametrize(("question", "derivation"), [
    ("What is the percentage constitution of Depreciation and Amortisation in EBITDA in 2019?",
     "111 / 372 × 100 = 29.8387"),  # a part printed as a deduction is a share all the same
    ("What percentage of the total unrealized gain is generated from U.S. government obligations in 2019?",
     "416 / 14,650 × 100 = 2.8396"),  # the whole named first
    ("What is the liability to asset ratio in 2019?", "100.1 / 545.8 = 0.1834"),  # a ratio named by its sides
    ("What was the percentage of EBITDA represented by U.S. government obligations in 2019?",
     "416 / 372 × 100 = 111.828"),  # the whole named first, the part after "represented by"
])
def test_shares_and_ratios_however_their_sides_are_named(question: str, derivation: str) -> None:
    found = read(question, hits(SHARES_OF))
    assert found is not None and found.derivation == derivation


def test_a_total_the_table_does_not_print_is_the_sum_of_the_rows_asked_alike() -> None:
    found = read("What was the total USD denominated monetary assets as at 31 December 2019?", hits(DENOMINATED))
    assert found is not None and (found.value, found.derivation) == ("28101 million", "27,728 + 373 = 28,101")
    assert found.row == "As at 31 December 2019, Monetary assets, current; As at 31 December 2019, Monetary assets, " \
                        "non-current"
    assert read("What was the USD denominated monetary assets as at 31 December 2019?", hits(DENOMINATED)) is None


DUE_BY_PERIOD = b"""<html><body><p>Contractual obligations (in thousands):</p><table>
<tr><td></td><td>Total</td><td>Less Than 1 Year</td><td>Year 5</td><td>More Than 5 Years</td></tr>
<tr><td>Operating leases</td><td>98,389</td><td>37,427</td><td>12,556</td><td>11,825</td></tr>
<tr><td>Land</td><td>672</td><td>100</td><td>200</td><td>372</td></tr>
<tr><td>Leasehold improvements</td><td>798</td><td>98</td><td>300</td><td>400</td></tr>
<tr><td>Employee severance and related costs</td><td>500</td><td>100</td><td>200</td><td>200</td></tr>
<tr><td>Related costs of exit</td><td>40</td><td>10</td><td>10</td><td>20</td></tr>
<tr><td>Total obligations</td><td>8,109</td><td>1,000</td><td>3,000</td><td>4,109</td></tr>
</table></body></html>"""


@pytest.mark.parametrize(("question", "value", "derivation"), [
    # the column the side names most fully: "more than 5 years" is not "Years 3-5"
    ("What is the percentage of the operating leases of more than 5 years in the total operating leases?",
     "12.02%", "11,825 / 98,389 = 12.0186"),
    # a first side joining two rows is a share of their sum
    ("What is the percentage of land and leasehold improvements over the total obligations?",
     "18.13%", "(672 + 798) / 8,109 = 18.128"),
    # a proportion, its percentage not asked, is a fraction
    ("What is the proportion of land and leasehold improvements over the total obligations?",
     "0.18", "(672 + 798) / 8,109 = 0.1813"),
    # a row whose own label holds the "and" is read whole
    ("What is the percentage of employee severance and related costs in the total obligations?",
     "6.17%", "500 / 8,109 × 100 = 6.166"),
])
def test_shares_of_a_column_and_of_two_rows_summed(question: str, value: str, derivation: str) -> None:
    found = read(question, hits(DUE_BY_PERIOD))
    assert found is not None and (found.value, found.derivation) == (value, derivation)


INTRODUCED = b"""<html><body><p>Goodwill is tested annually. The table below shows the carrying value of goodwill by
segment (in millions):</p><table>
<tr><td></td><td>2019</td><td>2018</td></tr>
<tr><td>Software</td><td>1,200</td><td>1,100</td></tr>
</table><p>In addition to the table above, the Company remeasures certain liabilities.</p>
<p>Aggregate emoluments of the Directors of the Company were as follows:</p><table>
<tr><td></td><td>2019</td><td>2018</td></tr>
<tr><td>Salaries</td><td>12</td><td>11</td></tr>
</table></body></html>"""


def test_what_a_table_shows_is_its_introducing_sentence_less_its_words_of_presenting() -> None:
    found = read("What does the table about goodwill show?", hits(INTRODUCED))
    assert found is not None and found.value == "the carrying value of goodwill by segment"
    found = read("What does the table show about the emoluments of the Directors?", hits(INTRODUCED))
    assert found is not None and found.value == "Aggregate emoluments of the Directors of the Company"
    assert read("What does the table show?", hits(INTRODUCED)) is None  # two tables: which one is a guess


GROUPED_BY_YEAR = b"""<html><body><p>Valuations of properties:</p><table>
<tr><td></td><td>External valuation %</td><td>Internal valuation %</td></tr>
<tr><td>Year ended 30 June 2019</td><td></td><td></td></tr>
<tr><td>Leasehold</td><td>23%</td><td>77%</td></tr>
<tr><td>Freehold</td><td>38%</td><td>62%</td></tr>
<tr><td>Year ended 30 June 2018</td><td></td><td></td></tr>
<tr><td>Leasehold</td><td>60%</td><td>40%</td></tr>
<tr><td>Freehold</td><td>27%</td><td>73%</td></tr>
</table></body></html>"""


@pytest.mark.parametrize(("question", "value", "derivation"), [
    ("What was the change in the leasehold external valuation % from 2018 to 2019?", "-37%", "23 - 60 = -37"),
    ("What is the average freehold internal valuation for 2018 and 2019?", "67.5%", "(73 + 62) / 2 = 67.5"),
    ("What was the freehold external valuation in 2018?", "27%", None),
])
def test_a_table_whose_periods_head_groups_of_rows_is_read_by_period(question: str, value: str,
                                                                    derivation: str | None) -> None:
    found = read(question, hits(GROUPED_BY_YEAR))
    assert found is not None and (found.value, found.derivation) == (value, derivation)


HEADINGS = b"""<html><body><p>Balance sheet (in thousands):</p><table>
<tr><td></td><td>2019</td><td>2018</td></tr>
<tr><td>Assets</td><td></td><td></td></tr>
<tr><td>Prepaid expenses</td><td>19,373</td><td>18,000</td></tr>
<tr><td>Deferred income tax assets</td><td>22,626</td><td>21,000</td></tr>
<tr><td>Liabilities</td><td></td><td></td></tr>
<tr><td>Deferred revenue</td><td>24,264</td><td>23,000</td></tr>
</table></body></html>"""


def test_a_total_of_a_heading_is_the_sum_of_its_rows_and_nothing_else_is_asked_of_it() -> None:
    found = read("What were the total Assets in 2019?", hits(HEADINGS))
    assert found is not None and found.derivation == "19,373 + 22,626 = 41,999"
    assert read("What were the Assets in 2019?", hits(HEADINGS)) is None  # a heading is no one row
    found = read("What was the deferred income tax assets in 2019?", hits(HEADINGS))
    assert found is not None and found.value == "22,626 thousand"


ALLOCATION = b"""<html><body><p>Purchase price allocation (in thousands):</p><table>
<tr><td></td><td>Estimated at June 30, 2019</td><td>Adjustments</td><td>Final as of December 31, 2019</td></tr>
<tr><td>Cash</td><td>$3,795</td><td>$ -</td><td>$3,795</td></tr>
<tr><td>Total fair value of consideration transferred</td><td>3,757</td><td>20</td><td>3,777</td></tr>
</table></body></html>"""


def test_the_respective_figures_at_two_dates_are_read_from_the_columns_the_dates_name() -> None:
    found = read("What are the respective total fair value of consideration transferred at June 30 and December 31, "
                 "2019?", hits(ALLOCATION))
    assert found is not None and found.items == ("3,757 thousand", "3,777 thousand")


CUSTOMERS = b"""<html><body><p>Percentage of revenue by customer:</p><table>
<tr><td></td><td>Fiscal Year 2018</td><td>Fiscal Year 2017</td></tr>
<tr><td>Apple Inc.</td><td>36%</td><td>34%</td></tr>
<tr><td>Huawei Technologies Co., Ltd.</td><td>8%</td><td>11%</td></tr>
<tr><td>Property and equipment</td><td>5%</td><td>6%</td></tr>
</table></body></html>"""


def test_a_sum_or_an_average_of_two_rows_the_question_joins_with_and() -> None:
    found = read("What is the average percentage of revenue from Apple and Huawei in 2018?", hits(CUSTOMERS))
    assert found is not None and (found.value, found.derivation) == ("22%", "(36 + 8) / 2 = 22")
    found = read("What is the average of property and equipment for 2018 and 2017?", hits(CUSTOMERS))
    assert found is not None and found.derivation == "(5 + 6) / 2 = 5.5"  # one row, its label holds the "and"


def test_what_a_table_shows_is_answered_from_the_passage_before_the_one_holding_the_table() -> None:
    """A chunk ends where a table begins: the introducing sentence is the last of the passage before it."""
    from rag.answer.extractive import ExtractiveAnswerer
    from rag.embed.hashing import HashingEmbedder

    loaded = load_html(INTRODUCED, "report.html")
    first = loaded.tables[0]
    before = Chunk("c0", "report.html", loaded.text[:first.start], 0, first.start)
    table = Chunk("c1", "report.html", loaded.text[first.start:first.end], first.start, first.end, tables=(first,))
    answer = ExtractiveAnswerer(HashingEmbedder()).answer("What does the table show?",
                                                          [Hit(before, 1.0), Hit(table, 0.9)])
    assert not answer.abstained and answer.short is not None
    assert answer.short.value == "the carrying value of goodwill by segment"
    cited = {c.id: c for c in answer.citations}[answer.short.citations[0]]
    assert cited.quote.startswith("The table below shows the carrying value of goodwill")


def test_a_column_is_named_by_the_question_words_its_row_label_does_not_hold() -> None:
    """'Year Ended December 31, 2019' over the rows holds "end", which still names "Balance at End of Period"."""
    from test_tables import WRAPPED_HEADER

    found = read("What is the total deferred revenue at the end of the period?", hits(WRAPPED_HEADER.encode()))
    assert found is not None and found.derivation == "4,483 + 3,444 = 7,927"


def test_two_columns_are_read_from_the_table_of_the_year_asked() -> None:
    from test_tables import QUARTERLY

    found = read("How much is the Revenues in the first quarter of Fiscal 2018 as a percentage of the total revenue "
                 "that year?", hits(QUARTERLY.encode()))
    assert found is not None and found.derivation == "88,081 / 272,243 = 32.3538"
    assert found.column == "Fiscal 2018 First Quarter; Fiscal 2018 Total"


GOODWILL_ROLLED = b"""<html><body><p>Goodwill by segment (in millions):</p><table>
<tr><td></td><td>Dec 29, 2018</td><td>Acquisitions</td><td>Other</td><td>Dec 28, 2019</td></tr>
<tr><td>Data Center Group</td><td>$5,424</td><td>$1,758</td><td>$ -</td><td>$7,155</td></tr>
<tr><td>Other</td><td>238</td><td>-</td><td>4</td><td>242</td></tr>
</table></body></html>"""


def test_a_movement_of_a_roll_forward_is_its_column_in_the_period_it_rolls_to() -> None:
    found = read("How much goodwill acquisitions for Data Center Group was done in 2019?", hits(GOODWILL_ROLLED))
    assert found is not None and (found.value, found.column) == ("$1,758 million", "Acquisitions")
    found = read("What was the Other goodwill in 2019?", hits(GOODWILL_ROLLED))  # the row "Other", not the column
    assert found is not None and found.value == "242 million"


@pytest.mark.parametrize(("question", "items"), [
    # each part's share of the whole, not their sum's
    ("What are the respective percentage of land and leasehold improvements in the total obligations?",
     ("8.29%", "9.84%")),
])
def test_respective_shares_of_two_parts(question: str, items: tuple[str, ...]) -> None:
    found = read(question, hits(DUE_BY_PERIOD))
    assert found is not None and found.items == items


def test_respective_shares_in_each_period_asked() -> None:
    found = read("What are the respective percentage of Deferred income tax assets in the total assets in 2019 and "
                 "2018?", hits(SHARE_OF_TOTAL))
    assert found is not None and found.items == ("53.87%", "53.85%") and found.column == "2019, 2018"


SHARE_OF_TOTAL = b"""<html><body><p>Balance sheet (in thousands):</p><table>
<tr><td></td><td>2019</td><td>2018</td></tr>
<tr><td>Prepaid expenses</td><td>19,373</td><td>18,000</td></tr>
<tr><td>Deferred income tax assets</td><td>22,626</td><td>21,000</td></tr>
<tr><td>Total assets</td><td>42,000</td><td>39,000</td></tr>
</table></body></html>"""


def test_the_row_picked_in_each_period_asked_respectively() -> None:
    found = read("Which customer made up the most of the revenue in 2018 and 2017 respectively?", hits(CUSTOMERS))
    assert found is not None and found.items == ("Apple Inc.", "Apple Inc.") and found.column == "2018, 2017"


SOFTWARE = b"""<html><body><p>Amortization expense on capitalized internal-use software was $2.5 million in 2019.</p>
<p>Property and equipment (in thousands):</p><table>
<tr><td></td><td>Year ended March 31, 2019</td><td>Year ended March 31, 2018</td></tr>
<tr><td>Software</td><td>16,427</td><td>14,000</td></tr>
<tr><td>Furniture</td><td>1,200</td><td>1,100</td></tr>
</table></body></html>"""


def test_a_sentence_naming_more_of_the_line_item_than_a_cell_answers_instead() -> None:
    """"The amortization expense on capitalized internal-use software" is the sentence's, not the row
    "Software" of a table of balances; asked of the row itself, the table answers."""
    found = read("What was the amortization expense on capitalized internal-use software in 2019?", hits(SOFTWARE))
    assert found is not None and found.value == "$2.5 million" and found.table is None
    found = read("What was the software in 2019?", hits(SOFTWARE))
    assert found is not None and found.value == "16,427 thousand"


BOOKINGS = b"""<html><body><p>Net bookings for Blizzard decreased $572 million in 2019, as compared to 2018, due to
lower sales. In-game net bookings grew 4% in 2019.</p>
<p>Net bookings (in millions):</p><table>
<tr><td></td><td>2019</td><td>2018</td></tr>
<tr><td>Net bookings</td><td>6,388</td><td>7,262</td></tr>
</table></body></html>"""


@pytest.mark.parametrize(("question", "value"), [
    ("What was the decrease in Blizzard net bookings for 2019, as compared to 2018?", "$572 million"),
    ("What was the percentage change in the in-game net bookings in 2019?", "4%"),
    ("What was the change in net bookings from 2018 to 2019?", "-874 million"),  # the table's, named by its row
])
def test_a_change_a_sentence_states_of_more_of_the_line_item_than_the_row_holds(question: str, value: str) -> None:
    found = read(question, hits(BOOKINGS))
    assert found is not None and found.value == value


NAV = b"""<html><body><p>In 2019 the NAV did not meet the hurdle rate, while in 2018 it grew approximately 21%. For
2019, Compensation NAV did not meet the hurdle rate, and declined by 26.1%. The portion of depreciation expense
associated with cost of providing services was 87%, 85% and 84% in 2019, 2018 and 2017, respectively.</p>
</body></html>"""


@pytest.mark.parametrize(("question", "value"), [
    ("What was the percentage decrease in NAV in 2019?", "26.1%"),  # not 2018's 21%, though in a 2019 sentence
    ("What is the portion of depreciation expense associated with cost of providing services in 2019?", "87%"),
])
def test_a_percentage_a_sentence_states_of_the_period_asked(question: str, value: str) -> None:
    found = read(question, hits(NAV))
    assert found is not None and found.value == value


LISTED_BEFORE = b"""<html><body><p>For the years ended December 31, 2019 and 2018, we recognized expense of $2.7 billion
and $2.0 billion, respectively, associated with the amortization of deferred contract costs. Since the
inception of the plan, $41.9 million has been recorded within special charges. There were 3 plans.</p>
</body></html>"""


@pytest.mark.parametrize(("question", "value"), [
    ("What was the amortization of deferred contract costs expense in 2018?", "$2.0 billion"),  # years named first
    ("What was the amortization of deferred contract costs expense in 2019?", "$2.7 billion"),
    ("How much has been recorded within special charges since the inception of the plan?", "$41.9 million"),
])
def test_amounts_named_by_the_words_after_them(question: str, value: str) -> None:
    found = read(question, hits(LISTED_BEFORE))
    assert found is not None and found.value == value


def test_words_after_amounts_that_name_another_year_name_nothing_asked_of_this_one() -> None:
    sentence = (b"<p>Meta is planning to spend between $66 billion and $72 billion on AI infrastructure in 2025, "
                b"and expects a similar increase in 2026.</p>")
    assert read("What does Meta expect its AI infrastructure spending to do in 2026?", hits(sentence)) is None
