"""Document routing and query expansion: pure functions, checked against hand-worked tables."""

from __future__ import annotations

import pytest

from rag.numbers import Period, periods_in
from rag.packs.finance.glossary import analyst_terms, expansions, statement_titles, translations
from rag.packs.finance.route import Router, name_keys, period_score, profile_period, question_keys
from rag.types import Profile


@pytest.mark.parametrize(("company", "ticker", "source", "expected"), [
    ("Johnson & Johnson", "JNJ", "JOHNSON_JOHNSON_2022Q4_EARNINGS.pdf",
     {"johnsonjohnson", "johnson&johnson", "johnson", "j&j", "jnj", "jojo"}),
    ("3M Company", None, "3M_2018_10K.pdf", {"3m"}),
    ("Amazon.com, Inc.", "AMZN", "AMAZON_2019_10K.pdf", {"amazon", "amzn"}),
    ("Square, Inc.", "SQ", "BLOCK_2020_10K.pdf", {"square", "block"}),  # a two-letter ticker is too ambiguous
    ("General Mills, Inc.", "GIS", "GENERALMILLS_2020_10K.pdf",  # "general" alone names nobody
     {"generalmills", "g&m", "gnm", "gemi", "gis"}),
    ("American Express Company", "AXP", "amex-annual-report.pdf",
     {"americanexpress", "a&e", "ane", "amex", "axp", "amexannualreport"}),
])
def test_name_keys(company: str, ticker: str | None, source: str, expected: set[str]) -> None:
    assert name_keys(company, ticker, source) == expected


def test_question_keys_join_runs_of_words() -> None:
    keys = question_keys("Did JnJ's and General Mills' sales grow?")
    assert {"jnj", "generalmills", "general", "mills", "salesgrow"} <= keys
    assert "jnjs" not in keys and "didjnjandgeneralmills" not in keys  # possessive dropped; runs of 4 words at most


@pytest.mark.parametrize(("text", "years", "quarters"), [
    ("Adobe's change from FY2015 to FY2016", {2015, 2016}, set()),
    ("Did Pfizer grow its PPNE between FY20 and FY21?", {2020, 2021}, set()),
    ("As of Q2'2023, is Pfizer spinning off a segment?", {2023}, {(2023, 2)}),
    ("revenues in Q22023 year over year", {2023}, {(2023, 2)}),
    ("JPM's segments in 2021 Q1", {2021}, {(2021, 1)}),
    ("As of FY2023Q1, why did Pepsico raise guidance?", {2023}, {(2023, 1)}),
    ("sales in the third quarter of fiscal 2024", {2024}, {(2024, 3)}),
    ("What was the $2018 million charge, up 2019%?", set(), set()),
    ("How much cash does it hold?", set(), set()),
])
def test_periods_in(text: str, years: set[int], quarters: set[tuple[int, int]]) -> None:
    assert periods_in(text) == Period(frozenset(years), frozenset(quarters))


@pytest.mark.parametrize(("period", "expected"), [
    ("FY2018", (2018, None)), ("Q4 2023", (2023, 4)), ("May 26, 2023", (2023, None)),
    ("quarter ended June 30, 2024", (2024, None)), (None, (None, None)),
])
def test_profile_period(period: str | None, expected: tuple[int | None, int | None]) -> None:
    assert profile_period(Profile(period=period)) == expected


@pytest.mark.parametrize(("years", "quarters", "year", "quarter", "score"), [
    ({2015, 2016}, set(), 2016, None, 1.0),  # the latest year asked: its own filing
    ({2015, 2016}, set(), 2015, None, 0.5),  # an earlier year asked
    ({2015, 2016}, set(), 2017, None, 0.25),  # the next filing restates it
    ({2015, 2016}, set(), 2022, None, 0.0),
    ({2023}, {(2023, 1)}, 2023, 1, 1.5),  # the quarter too
    ({2023}, {(2023, 1)}, 2023, 4, 1.0),
    (set(), set(), 2023, None, 0.0),  # no period asked
    ({2023}, set(), None, None, 0.0),  # no period known
])
def test_period_score(years: set[int], quarters: set[tuple[int, int]], year: int | None, quarter: int | None,
                      score: float) -> None:
    assert period_score(Period(frozenset(years), frozenset(quarters)), year, quarter) == score


PROFILES = {
    "ADOBE_2015_10K.pdf": Profile(company="Adobe Systems Incorporated", form="10-K", period="FY2015"),
    "ADOBE_2016_10K.pdf": Profile(company="Adobe Systems Incorporated", form="10-K", period="FY2016"),
    "ADOBE_2022_10K.pdf": Profile(company="Adobe Inc.", ticker="ADBE", form="10-K", period="FY2022"),
    "JOHNSON_JOHNSON_2022Q4_EARNINGS.pdf": Profile(company="Johnson & Johnson", ticker="JNJ",
                                                   form="earnings release", period="Q4 2022"),
    "PEPSICO_2023Q1_EARNINGS.pdf": Profile(company="PepsiCo, Inc.", form="earnings release", period="Q1 2023"),
    "PEPSICO_2023_8K.pdf": Profile(company="PepsiCo, Inc.", form="8-K", period="May 26, 2023"),
    "coreweave-notes.txt": None,
}


@pytest.mark.parametrize(("question", "routed"), [
    ("What is Adobe's change in operating income from FY2015 to FY2016?", {"ADOBE_2016_10K.pdf"}),
    ("What is the FY2015 operating cash flow ratio for Adobe?", {"ADOBE_2015_10K.pdf"}),
    ("Does ADBE have an improving operating margin as of FY2022?", {"ADOBE_2022_10K.pdf"}),
    ("Is growth in JnJ's adjusted EPS expected to accelerate?", {"JOHNSON_JOHNSON_2022Q4_EARNINGS.pdf"}),
    ("How did J&J's US sales compare?", {"JOHNSON_JOHNSON_2022Q4_EARNINGS.pdf"}),
    ("As of FY2023Q1, why did Pepsico raise guidance?", {"PEPSICO_2023Q1_EARNINGS.pdf"}),
    ("How much may Pepsico borrow?", {"PEPSICO_2023Q1_EARNINGS.pdf", "PEPSICO_2023_8K.pdf"}),  # a tie: both
    ("What is Adobe's headcount?", {"ADOBE_2015_10K.pdf", "ADOBE_2016_10K.pdf", "ADOBE_2022_10K.pdf"}),
    ("What was revenue in FY2022?", set()),  # a period alone routes nowhere
    ("Why is CoreWeave unprofitable?", set()),  # an article's file name is not a company
    ("What did Microsoft spend in 2024?", set()),  # a company the corpus does not hold
])
def test_router_routes_to_the_named_company_and_period(question: str, routed: set[str]) -> None:
    assert Router.from_profiles(PROFILES).route(question) == routed


def test_expansions_word_analysts_terms_as_statements_do() -> None:
    found = expansions("What is 3M's FY2018 capex, per the cash flow statement?")
    assert len(found) == 2
    assert "consolidated statements of cash flows" in found[0]
    assert "purchases of property plant and equipment" in found[1]
    assert any("balance sheets" in e for e in expansions("Using the statement of financial position only"))
    assert expansions("Why is CoreWeave unprofitable?") == []
    assert expansions("the PPNE at year end") == ["property plant and equipment net"]
    assert expansions("a happening at Xepsilon") == []  # 'eps' inside a word is not EPS


def test_named_gives_the_question_terms_that_name_each_document() -> None:
    router = Router.from_profiles(PROFILES)
    assert router.named("Is JnJ's adjusted EPS up?") == {"JOHNSON_JOHNSON_2022Q4_EARNINGS.pdf": frozenset({"jnj"})}
    assert router.named("What is ADBE's margin?") == {"ADOBE_2022_10K.pdf": frozenset({"adb"})}  # stemmed, as terms()
    assert router.named("Why is CoreWeave unprofitable?") == {}


def test_translations_pair_the_question_wording_with_the_statements() -> None:
    (asked, wording), = translations("Is the quick ratio healthy?")
    assert asked == {"quick", "ratio"} and {"current", "asset", "liabil"} <= wording
    assert analyst_terms("What is 3M's PPNE and capex?") == {"ppne", "capex"}


@pytest.mark.parametrize(("question", "section", "matches"), [
    ("Answer using the cash flow statement.", "Item 8 › Consolidated Statements of Cash Flows", True),
    ("Answer using the cash flow statement.", "Item 8 › Consolidated Statement of Cash Flows", True),
    ("From the statement of financial position only", "Item 8 › Consolidated Balance Sheets", True),
    ("Per the P&L, what was EBIT?", "Consolidated Statements of Operations", True),
    ("Per the income statement, what was EBIT?", "Consolidated Statements of Earnings", True),
    ("Per the income statement, what was EBIT?", "Consolidated Balance Sheets", False),
    ("What was capex?", "Consolidated Statements of Cash Flows", None),  # names no statement
])
def test_statement_titles_find_the_sections_a_question_names(question: str, section: str,
                                                             matches: bool | None) -> None:
    titles = statement_titles(question)
    if matches is None:
        assert titles == []
    else:
        assert any(t.search(section) for t in titles) is matches
