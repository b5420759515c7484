"""The finance pack: profiles read from a document's text, routing, the analyst glossary and section steering,
checked against hand-worked tables and the 20 public filings' own covers."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from rag.answer.extractive import translated
from rag.load.corpus import load_document
from rag.load.pdf import load_pdf
from rag.numbers import Period, periods_in
from rag.packs import Lexicon, Steer, installed, lexicon, recognise, steering
from rag.packs.finance import PACK
from rag.packs.finance.glossary import analyst_terms, expansions, statement_titles, translations
from rag.packs.finance.profile import profile_of, quarter_of
from rag.packs.finance.route import Router, forms_named, name_keys, period_score, profile_period, question_keys
from rag.packs.finance.sections import topic_titles
from rag.text import terms
from rag.types import Document, Profile

SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- what a document is


@pytest.mark.parametrize(("text", "quarter"), [
    ("Three Months Ended March 31, 2021 ... Three Months Ended March 31, 2021", 1),
    ("Three Months Ended July 2, 2023 Six Months Ended July 2, 2023 " * 3, 2),
    ("Three and Nine Months Ended October 1, 2023 ... Three Months Ended October 1, 2023", 3),
    ("Three Months Ended ... " * 20 + "Nine Months Ended (a note on last year)", 1),  # a stray mention is no column
    ("Year Ended December 31, 2022", None),
])
def test_the_quarter_a_10q_reports_is_read_from_its_year_to_date_columns(text: str, quarter: int | None) -> None:
    assert quarter_of(text) == quarter


@pytest.mark.parametrize(("title", "text", "expected"), [
    ("10-K - 02/07/2019 - 3M Company", "UNITED STATES SECURITIES AND EXCHANGE COMMISSION\nFORM 10-K\n"
     "For the fiscal year ended December 31, 2018", ("3M Company", None, "10-K", "FY2018")),
    (None, "SECURITIES AND EXCHANGE COMMISSION\nFORM 10-K\nFor the fiscal year ended December 31, 2018\n"
     "Commission file number 1-3285\n3M COMPANY\nState of Incorporation: Delaware",  # the registrant, unlabelled
     ("3M Company", None, "10-K", "FY2018")),
    (None, "SECURITIES AND EXCHANGE COMMISSION\nFORM 10-K\nfor the fiscal year ended May 31, 2020\n"
     "GENERAL MILLS, INC.\n(Exact name of registrant as specified in its charter)\nCommon Stock GIS New York Stock "
     "Exchange", ("General Mills, Inc.", "GIS", "10-K", "FY2020")),
    (None, "SECURITIES AND EXCHANGE COMMISSION Washington, D.C. 20549 Form 10-K\nFor the fiscal year ended "
     "January 1, 2023\nJOHNSON & JOHNSON\n(Exact name of registrant",  # a 52/53-week year: fiscal 2022
     ("Johnson & Johnson", None, "10-K", "FY2022")),
    (None, "SECURITIES AND EXCHANGE COMMISSION\nFORM 10-Q\nFor the quarterly period ended July 2, 2023\n"
     "PFIZER INC.\n(Exact name of registrant", ("Pfizer Inc.", None, "10-Q", "quarter ended July 2, 2023")),
    (None, "FOR IMMEDIATE RELEASE\nNew Brunswick, N.J. (January 24, 2023) – Johnson & Johnson (NYSE: JNJ) today "
     "announced results for fourth-quarter and full year 2022.",
     ("Johnson & Johnson", "JNJ", "earnings release", "Q4 2022")),
    (None, "PepsiCo Reports First-Quarter 2023 Results; Raises Full-Year Guidance\nPlease refer to PepsiCo's "
     "Quarterly Report on Form 10-Q for the 12 weeks ended March 25, 2023 filed with the Securities and Exchange "
     "Commission",  # a release that cites its 10-Q is a release
     ("PepsiCo", None, "earnings release", "Q1 2023")),
    ("Amcor 4Q 2023 Exhibit 99.1", "Amcor reports fiscal 2023 results and provides outlook for fiscal 2024",
     ("Amcor", None, "earnings release", "Q4 2023")),
])
def test_a_filings_profile_is_read_from_its_cover(title: str | None, text: str,
                                                  expected: tuple[str | None, ...]) -> None:
    profile = profile_of(title, text)
    assert profile is not None and profile.pack == "finance"
    assert (profile.company, profile.ticker, profile.form, profile.period) == expected


@pytest.mark.parametrize("text", [
    "Meeting notes from the offsite.",
    "CoreWeave's Form 10-K for the fiscal year ended December 31, 2024 shows a net loss.",  # cites a filing
    "Employee Handbook\nSection 1. Working hours\nThe company expects staff to report results to their manager.",
])
def test_what_is_not_a_filing_has_no_profile(text: str) -> None:
    assert profile_of(None, text) is None


def test_an_accession_number_is_no_title() -> None:
    cover = "SECURITIES AND EXCHANGE COMMISSION\nFORM 10-K\nfiscal year ended June 1, 2018"
    assert profile_of("0001018724-18-000005", cover).title is None  # type: ignore[union-attr]
    assert profile_of("10-K - 02/07/2019 - 3M Company", cover).label() == "3M Company · 10-K · FY2018"  # type: ignore[union-attr]


# Each public filing as its cover states it (company, ticker, form, period), whatever its file is called.
PUBLIC = {
    "3M_2018_10K.pdf": ("3M Company", None, "10-K", "FY2018"),
    "ACTIVISIONBLIZZARD_2019_10K.pdf": ("Activision Blizzard, Inc.", "ATVI", "10-K", "FY2019"),
    "ADOBE_2015_10K.pdf": ("Adobe Systems Incorporated", None, "10-K", "FY2015"),
    "ADOBE_2016_10K.pdf": ("Adobe Systems Incorporated", None, "10-K", "FY2016"),
    "ADOBE_2017_10K.pdf": ("Adobe Systems Incorporated", None, "10-K", "FY2017"),
    "ADOBE_2022_10K.pdf": ("Adobe Inc.", "ADBE", "10-K", "FY2022"),
    "AMAZON_2017_10K.pdf": ("Amazon.com, Inc.", None, "10-K", "FY2017"),
    "AMAZON_2019_10K.pdf": ("Amazon.com, Inc.", "AMZN", "10-K", "FY2019"),
    "AMCOR_2023Q4_EARNINGS.pdf": ("Amcor", None, "earnings release", "Q4 2023"),
    "BLOCK_2020_10K.pdf": ("Square, Inc.", "SQ", "10-K", "FY2020"),
    "CORNING_2022_10K.pdf": ("Corning Incorporated", "GLW", "10-K", "FY2022"),
    "GENERALMILLS_2020_10K.pdf": ("General Mills, Inc.", "GIS", "10-K", "FY2020"),
    "JOHNSON_JOHNSON_2022Q4_EARNINGS.pdf": ("Johnson & Johnson", "JNJ", "earnings release", "Q4 2022"),
    "JPMORGAN_2021Q1_10Q.pdf": ("JPMorgan Chase & Co.", "JPM", "10-Q", "Q1 2021"),
    "PEPSICO_2023Q1_EARNINGS.pdf": ("PepsiCo, Inc.", "PEP", "earnings release", "Q1 2023"),
    "PEPSICO_2023_8K_dated-2023-05-30.pdf": ("PepsiCo, Inc.", "PEP", "8-K", "May 26, 2023"),
    "PFIZER_2021_10K.pdf": ("Pfizer Inc.", "PFE", "10-K", "FY2021"),
    "Pfizer_2023Q2_10Q.pdf": ("Pfizer Inc.", "PFE", "10-Q", "Q2 2023"),  # its six-months columns
    "VERIZON_2021_10K.pdf": ("Verizon Communications Inc.", "VZ", "10-K", "FY2021"),
    "VERIZON_2022_10K.pdf": ("Verizon Communications Inc.", "VZ", "10-K", "FY2022"),
}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_the_public_filings_are_profiled_from_their_covers(name: str) -> None:
    """Read as `doc-01.pdf` would be: the loader is given no name the pack could read a company from."""
    data = (SHARED / "financebench-public" / "corpus" / name).read_bytes()
    loaded = load_pdf(data, "doc-01.pdf")
    doc = Document("doc-01.pdf", loaded.text, hashlib.sha256(data).hexdigest(), loaded.title,
                   tuple(loaded.page_starts))
    profile = PACK.recognise(doc)
    assert profile is not None
    assert (profile.company, profile.ticker, profile.form, profile.period) == PUBLIC[name]


def test_articles_and_other_documents_switch_no_pack_on() -> None:
    """The shipped articles, SQuAD's Wikipedia pages and the PDF excerpt's loader-level view: no profile."""
    paths = [*sorted((ROOT / "corpus").iterdir()), *sorted((SHARED / "squad2-public" / "corpus").iterdir())]
    assert len(paths) >= 10
    for path in paths:
        doc = load_document(path, path.parent)
        assert recognise(installed(), doc) is None, path.name


# ---------------------------------------------------------------- the pack behind the core's interface


def test_the_finance_pack_is_found_by_its_entry_point_and_unknown_names_are_refused() -> None:
    assert [p.name for p in installed()] == ["finance"]
    assert installed([]) == ()
    with pytest.raises(ValueError, match=r"RAG_PACKS: no pack named 'legal' \(installed: finance\)"):
        installed(["legal"])


def test_no_recognised_document_means_no_steer_and_no_translations() -> None:
    articles = {"coreweave.txt": None, "notes.md": None}
    assert steering([PACK], articles) is None
    assert lexicon([PACK], articles)("What was the capex?") == Lexicon()
    filings = {**articles, "acme.pdf": Profile(company="Acme Corp", form="10-K", period="FY2020", pack="finance")}
    steer = steering([PACK], filings)
    assert steer is not None and steer("What is the weather?") == Steer(among=frozenset({"acme.pdf"}))
    routed = steer("What was Acme's FY2020 capex, per the cash flow statement?")
    assert routed.routed == {"acme.pdf"} and routed.named == {"acme.pdf": frozenset({"acm"})}
    assert any(t.search("Item 8 › Consolidated Statements of Cash Flows") for t in routed.sections)
    assert any("purchases of property" in w for w in routed.wording)
    known = lexicon([PACK], filings)("What was the capex?")
    assert known.translations != () and known.items() == ("capex",)
    assert "purchases of property plant and equipment" in known.labels("capex")


def test_a_folder_of_one_companys_filings_routes_a_question_that_names_no_company_by_its_period() -> None:
    adobe = {s: dataclasses.replace(PROFILES[s], pack="finance") for s in ("ADOBE_2015_10K.pdf", "ADOBE_2022_10K.pdf")}
    steer = steering([PACK], adobe)
    assert steer is not None
    assert steer("What was capex in FY2015, per the cash flow statement?").routed == {"ADOBE_2015_10K.pdf"}
    assert steer("What was capex?").routed == set(adobe)  # no period: both
    # Beside an article, or beside another company's filing, a question must name the company to be routed.
    pepsico = dataclasses.replace(PROFILES["PEPSICO_2023_8K.pdf"], pack="finance")
    for corpus in ({**adobe, "notes.md": None}, {**adobe, "PEPSICO_2023_8K.pdf": pepsico}):
        mixed = steering([PACK], corpus)
        assert mixed is not None and mixed("What was capex in FY2015?").routed == frozenset()
        assert mixed("What was Adobe's capex in FY2015?").routed == {"ADOBE_2015_10K.pdf"}


@pytest.mark.parametrize(("company", "ticker", "expected"), [
    ("Johnson & Johnson", "JNJ", {"johnsonjohnson", "johnson&johnson", "johnson", "j&j", "jnj", "jojo"}),
    ("3M Company", None, {"3m"}),
    ("Amazon.com, Inc.", "AMZN", {"amazon", "amzn"}),
    ("Square, Inc.", "SQ", {"square"}),  # a two-letter ticker is too ambiguous
    ("General Mills, Inc.", "GIS", {"generalmills", "g&m", "gnm", "gemi", "gis"}),  # "general" alone names nobody
    ("American Express Company", "AXP", {"americanexpress", "a&e", "ane", "amex", "axp"}),
    (None, None, set()),
])
def test_name_keys(company: str | None, ticker: str | None, expected: set[str]) -> None:
    assert name_keys(company, ticker) == expected


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


# ---------------------------------------------------------------- routing


PROFILES = {
    "ADOBE_2015_10K.pdf": Profile(company="Adobe Systems Incorporated", form="10-K", period="FY2015"),
    "ADOBE_2016_10K.pdf": Profile(company="Adobe Systems Incorporated", form="10-K", period="FY2016"),
    "ADOBE_2022_10K.pdf": Profile(company="Adobe Inc.", ticker="ADBE", form="10-K", period="FY2022"),
    "JOHNSON_JOHNSON_2022Q4_EARNINGS.pdf": Profile(company="Johnson & Johnson", ticker="JNJ",
                                                   form="earnings release", period="Q4 2022"),
    "PEPSICO_2023Q1_EARNINGS.pdf": Profile(company="PepsiCo, Inc.", form="earnings release", period="Q1 2023"),
    "PEPSICO_2023_8K.pdf": Profile(company="PepsiCo, Inc.", form="8-K", period="May 26, 2023"),
    "MGM_2022_10K.pdf": Profile(company="MGM Resorts International", form="10-K", period="FY2022"),
    "BESTBUY_2023_10K.pdf": Profile(company="Best Buy Co., Inc.", ticker="BBY", form="10-K", period="FY2023"),
    "PFIZER_2021_10K.pdf": Profile(company="Pfizer Inc.", form="10-K", period="FY2021"),
    "AMAZON_2022_10K.pdf": Profile(company="Amazon.com, Inc.", form="10-K", period="FY2022"),
    "PFIZER_2023Q2_10Q.pdf": Profile(company="Pfizer Inc.", form="10-Q", period="Q2 2023"),
    "coreweave-notes.txt": None,
}


ROUTED = [
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
    # A name written as one ("MGM") makes a lower-case match a word: "the best" is not Best Buy.
    ("Which region had the best topline performance for MGM?", {"MGM_2022_10K.pdf"}),
    ("Is Best Buy's margin the best in its industry?", {"BESTBUY_2023_10K.pdf"}),
    ("which region did best for mgm?", {"MGM_2022_10K.pdf", "BESTBUY_2023_10K.pdf"}),  # nothing written as a name
    # A name is read alike however it is written: "Amazon.com's" is Amazon's beside "MGM".
    ("How did Amazon.com's sales in 2022 compare with MGM's?", {"AMAZON_2022_10K.pdf", "MGM_2022_10K.pdf"}),
    # What a company expects of a year is in the report of the year before (the 2015 10-K guides 2016) as much
    # as in the year's own; a question about the year's figures is the year's own report's.
    ("What did Adobe expect its revenue to be in FY2016?", {"ADOBE_2015_10K.pdf", "ADOBE_2016_10K.pdf"}),
    ("What was Adobe's revenue in FY2016?", {"ADOBE_2016_10K.pdf"}),
    ("What was Adobe's guidance for FY2023?", {"ADOBE_2022_10K.pdf"}),
    ("What was Adobe's revenue in FY2023?", {"ADOBE_2015_10K.pdf", "ADOBE_2016_10K.pdf", "ADOBE_2022_10K.pdf"}),
    # The kind of report a question says it asks of, among one company's filings of several forms.
    ("Which companies did Pfizer acquire?", {"PFIZER_2021_10K.pdf", "PFIZER_2023Q2_10Q.pdf"}),
    ("Which companies did Pfizer acquire, per this 10K report?", {"PFIZER_2021_10K.pdf"}),
    ("What lawsuits does Pfizer's annual report list?", {"PFIZER_2021_10K.pdf"}),
    ("What does Pfizer's latest Form 10-Q say of its debt?", {"PFIZER_2023Q2_10Q.pdf"}),
    ("How much may Pepsico borrow, per its 8-K?", {"PEPSICO_2023_8K.pdf"}),
    ("What did Pepsico's earnings release say of its outlook?", {"PEPSICO_2023Q1_EARNINGS.pdf"}),
    # A period asked outweighs a form: the 10-Q of the quarter asked, not the 10-K of another year.
    ("What was Pfizer's revenue in Q2 2023 in the 10-K?", {"PFIZER_2023Q2_10Q.pdf"}),
]


@pytest.mark.parametrize(("question", "routed"), ROUTED)
def test_router_routes_to_the_named_company_and_period(question: str, routed: set[str]) -> None:
    assert Router.from_profiles(PROFILES).route(question) == routed


@pytest.mark.parametrize(("question", "forms"), [
    ("What acquisitions does this 10K report mention?", {"10-K", "20-F", "40-F"}),
    ("According to its 2019 annual report, what lawsuits was Acme defending?", {"10-K", "20-F", "40-F"}),
    ("In the Form 10-Q for Q1 2021, what was net income?", {"10-Q"}),
    ("What does Acme's latest quarterly report say of debt?", {"10-Q"}),
    ("Per the 8-K, how much may Acme borrow?", {"8-K"}),
    ("What did the earnings release say of the outlook?", {"earnings release"}),
    ("How did Acme's 10 key products sell?", set()),
    ("What did Acme report for the quarter?", set()),  # a period is not a form
])
def test_forms_named_reads_the_kind_of_report_a_question_asks_of(question: str, forms: set[str]) -> None:
    assert forms_named(question) == forms


def test_routing_reads_profiles_not_file_names() -> None:
    """The same filings under opaque names route every question to the same documents."""
    opaque = {f"doc-{i:02d}.pdf": profile for i, profile in enumerate(PROFILES.values())}
    renamed = dict(zip(PROFILES, opaque, strict=True))
    real, hidden = Router.from_profiles(PROFILES), Router.from_profiles(opaque)
    for question, _ in ROUTED:
        assert {renamed[s] for s in real.route(question)} == hidden.route(question)


def test_expansions_word_analysts_terms_as_statements_do() -> None:
    found = expansions("What is 3M's FY2018 capex, per the cash flow statement?")
    assert len(found) == 2
    assert "consolidated statements of cash flows" in found[0]
    assert "purchases of property plant and equipment" in found[1]
    assert any("balance sheets" in e for e in expansions("Using the statement of financial position only"))
    assert expansions("Why is CoreWeave unprofitable?") == []
    assert expansions("the PPNE at year end") == ["property plant and equipment net"]
    assert expansions("a happening at Xepsilon") == []  # 'eps' inside a word is not EPS
    # Lawsuits in a filing's words: proceedings, complaints filed.
    for question in ("Has Acme reported material legal battles?", "Is Acme being sued?", "Any major lawsuits?"):
        assert any("legal proceedings" in e for e in expansions(question))


def test_a_lawsuit_asked_of_is_covered_by_a_passage_on_a_complaint_filed() -> None:
    question = "What major lawsuits was Acme defending?"
    vocabulary = set(terms("Legal Proceedings. In April 2019, a complaint was filed against Acme alleging that its "
                           "devices infringe patents; the plaintiffs seek damages."))
    assert "lawsuit" in translated(PACK.lexicon(question).translations, vocabulary)


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


@pytest.mark.parametrize(("question", "section"), [
    ("What are the main risks to Acme's business?", "PART I › Item 1A. Risk Factors"),
    ("Is Acme exposed to currency swings?", "PART II › Item 1A. Risk Factors › Risks Related to Our Operations"),
    ("Has Acme been sued over its products?", "PART I › Item 3. Legal Proceedings"),
    ("Is Acme facing any material litigation?", "Note 14. Commitments and Contingencies"),
    ("Who are Acme's primary customers?", "PART I › Item 1. Business › Customers"),
    ("Is demand for Acme's products seasonal?", "PART I › Item 1. Business › Seasonality"),
    ("Which region had the worst sales growth for Acme?", "Note 13. Segment, Geographic and Other Revenue"),
    ("How did Acme's U.S. sales growth compare to its international growth?", "REGIONAL SALES RESULTS"),
    ("What drove Acme's gross margin change in FY2022?",
     "PART II › Item 7. Management’s Discussion and Analysis › Results of Operations"),
    ("What is Acme's outlook for next year?", "Fiscal 2024 Outlook"),
    ("Is Acme a capital-intensive business?", "Item 7 › Liquidity and Capital Resources"),
    ("Does Acme pay a dividend?", "PART II › Item 5. Market for Registrant’s Common Equity"),
])
def test_open_questions_are_steered_to_the_parts_of_a_filing_that_discuss_them(question: str, section: str) -> None:
    titles = topic_titles(question)
    assert any(t.search(section) for t in titles)
    # A part about something else is not steered to.
    assert not any(t.search("PART II › Item 9A. Controls and Procedures") for t in titles)


@pytest.mark.parametrize("question", [
    "What is the FY2018 capital expenditure amount (in USD millions) for 3M?",
    "What was Acme's total revenue in 2022?",
    "How much cash did Acme hold at year end?",
])
def test_a_statement_figure_question_is_steered_to_no_part(question: str) -> None:
    assert topic_titles(question) == []


def test_the_steer_carries_the_parts_an_open_question_is_about_not_its_instructions() -> None:
    steer = steering([PACK], {"acme.pdf": Profile(company="Acme Corp", form="10-K", period="FY2020", pack="finance")})
    assert steer is not None
    assert any(t.search("Item 1A. Risk Factors") for t in steer("What are Acme's biggest risks?").topics)
    # "explain why" addressed to the answerer is no question about what drove a change.
    assert steer("Does Acme have positive working capital? If not, please explain why.").topics == ()
    # A question naming no company (a user of one 10-K) is steered among every filing; an article is not one.
    unnamed = steering([PACK], {"acme.pdf": Profile(company="Acme Corp", form="10-K", period="FY2020",
                                                   pack="finance"), "notes.md": None})
    assert unnamed is not None
    asked = unnamed("What are the biggest risks?")
    assert asked.routed == frozenset() and asked.among == {"acme.pdf"} and asked.topics


def test_the_core_never_imports_the_finance_pack() -> None:
    """Only the pack itself names rag.packs.finance; the core finds it through its entry point."""
    core = [path for path in (ROOT / "rag").rglob("*.py") if "finance" not in path.relative_to(ROOT / "rag").parts]
    assert len(core) > 50
    importing = [str(path.relative_to(ROOT)) for path in core if "rag.packs.finance" in path.read_text("utf-8")]
    assert importing == []
