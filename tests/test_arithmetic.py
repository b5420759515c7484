"""The arithmetic check of figures a generated sentence computes (rag.answer.arithmetic)."""

from __future__ import annotations

import pytest

from rag.answer.arithmetic import check
from rag.answer.figures import passage_figures

CONTRACTS = ["CoreWeave signed an agreement with Meta Platforms worth up to $14.2 billion. "
             "Its OpenAI contracts total $22.4 billion."]

# A cash-flow statement as the PDF loader gives it: the caption (scale, column years) in the context.
CASH_CONTEXT = ("3M Company · 10-K · FY2018\nConsolidated Statement of Cash Flows\n"
                "3M Company and Subsidiaries · Consolidated Statement of Cash Flows · (Millions) 2018 2017 2016")
CASH = ("Net cash provided by (used in) operating activities 6,439 6,240 6,662\n"
        "Purchases of property, plant and equipment (PP&E) (1,577) (1,373) (1,420)\n"
        "Net income attributable to 3M $ 5,349 $ 4,858 $ 5,050")

MARGINS = ("(Dollars in millions) 2022 2021\n"
           "Net sales $ 14,189 $ 14,082\n"
           "Gross margin 32.1 % 35.4 %\n"
           "Operating income 1,696 2,112")


def verdict(claim: str, passages: list[str], contexts: list[str] | None = None) -> tuple[bool, str]:
    result = check(claim, passages, contexts or [])
    return result.ok, "; ".join(str(d) for d in result.derivations) or result.reason


@pytest.mark.parametrize(("claim", "ok"), [
    # a share, at the precision printed: 14.2 / 22.4 = 63.39%
    ("The Meta agreement is about 63% of the cumulative OpenAI contract value.", True),
    ("The Meta agreement is about 63.4% of the cumulative OpenAI contract value.", True),
    ("The Meta agreement is about 48% of the cumulative OpenAI contract value.", False),
    ("The Meta agreement is about 61% of the cumulative OpenAI contract value.", False),
    ("The Meta agreement is about 64% of the cumulative OpenAI contract value.", False),
    # a difference and a sum, at the passage's scale or another
    ("The OpenAI contracts exceed the Meta agreement by $8.2 billion.", True),
    ("The OpenAI contracts exceed the Meta agreement by $8,200 million.", True),
    ("The OpenAI contracts exceed the Meta agreement by $8.2 million.", False),
    ("The OpenAI and Meta contracts total $36.6 billion.", True),
    ("The OpenAI and Meta contracts total $36.6 million.", False),
    ("The OpenAI contracts are 1.58x the Meta agreement.", True),
    ("The OpenAI contracts are 1.85x the Meta agreement.", False),
])
def test_prose_figures(claim: str, ok: bool) -> None:
    assert verdict(claim, CONTRACTS)[0] is ok, verdict(claim, CONTRACTS)


@pytest.mark.parametrize(("claim", "ok"), [
    # a percentage change: (1,577 - 1,373) / 1,373 = 14.86%; the later column over the earlier
    ("3M's purchases of PP&E rose 14.9% in 2018.", True),
    ("3M's purchases of PP&E rose 14.86% from 2017 to 2018.", True),
    ("3M's purchases of PP&E rose 15% in 2018.", True),  # printed without decimals, 14.86 is 15
    ("3M's purchases of PP&E rose 14.8% in 2018.", False),
    ("3M's purchases of PP&E fell 14.9% in 2018.", False),  # the wrong direction
    ("3M's purchases of PP&E rose 14.9% in 2017.", False),  # another period's change
    ("3M's purchases of PP&E rose 12.9% in 2018.", False),  # (1,577 - 1,373) / 1,577: the wrong base
    ("3M's purchases of PP&E rose from $1,373 million to $1,577 million, up 14.9%.", True),
    ("3M's purchases of PP&E fell from $1,373 million to $1,577 million, down 14.9%.", False),
    # a restated figure at another scale, and a figure printed at the wrong one or of the wrong year
    ("3M's purchases of PP&E were $1.58 billion in 2018.", True),
    ("3M's purchases of PP&E were $1.58 million in 2018.", False),
    ("3M's purchases of PP&E were $1,577 billion in 2018.", False),
    ("3M's purchases of PP&E were $1,373 million in 2018.", False),
    # free cash flow: operating cash flow less capital expenditures
    ("3M's free cash flow, operating cash flow less purchases of PP&E, was $4,862 million in 2018.", True),
    ("3M's free cash flow, operating cash flow less purchases of PP&E, was $4,867 million in 2017.", True),
    ("3M's free cash flow, operating cash flow less purchases of PP&E, was $4,867 million in 2018.", False),
    # a share of another row of the same year
    ("3M's purchases of PP&E were 24.5% of its operating cash flow in 2018.", True),
    ("3M's purchases of PP&E were 24.5% of its operating cash flow in 2017.", False),
    ("3M's purchases of PP&E were 29.5% of its net income in 2018.", True),
    ("3M's purchases of PP&E were 24.5% of its net income in 2018.", False),  # another row's figure
])
def test_statement_figures(claim: str, ok: bool) -> None:
    result = verdict(claim, [CASH], [CASH_CONTEXT])
    assert result[0] is ok, result


@pytest.mark.parametrize(("claim", "ok"), [
    ("Gross margin fell 3.3 percentage points in 2022.", True),
    ("Gross margin fell 3.3 percentage points, from 35.4% to 32.1%.", True),
    ("Gross margin fell 2.3 percentage points in 2022.", False),
    ("Operating income was 12.0% of net sales in 2022.", True),
    ("Operating income was 15.0% of net sales in 2022.", False),  # 2,112 / 14,082: the figures of 2021
    ("Net sales grew 0.8% in 2022.", True),
    ("Net sales grew 8% in 2022.", False),
    ("Operating income fell 19.7% in 2022.", True),
    ("Operating income rose 19.7% in 2022.", False),
])
def test_percent_columns_and_points(claim: str, ok: bool) -> None:
    assert verdict(claim, [MARGINS])[0] is ok, verdict(claim, [MARGINS])


def test_derivation_names_its_operands_and_lines() -> None:
    result = check("3M's purchases of PP&E rose 14.9% in 2018.", [CASH], [CASH_CONTEXT])
    [derivation] = result.derivations
    assert str(derivation) == "14.9%: (1,577 - 1,373) / 1,373 = 14.86%"
    [(passage, start, end)] = derivation.lines
    assert passage == 0 and CASH[start:end].startswith("Purchases of property, plant and equipment")


def test_printed_figures_need_no_derivation() -> None:
    result = check("3M's purchases of PP&E were $1,577 million in 2018.", [CASH], [CASH_CONTEXT])
    assert result.ok and result.derivations == ()


def test_operands_must_be_about_the_sentence() -> None:
    # 6,439 / 6,240 = 1.03: figures of a row the sentence does not name are not its operands.
    assert not check("3M's purchases of PP&E grew 1.03x.", [CASH], [CASH_CONTEXT]).ok


def test_passage_figures_read_columns_and_scale_from_the_caption() -> None:
    figures = passage_figures(CASH, CASH_CONTEXT)
    capex = [(f.value, f.year, f.scale) for f in figures if "purchas" in f.label]
    assert capex == [(-1577.0, 2018, 1e6), (-1373.0, 2017, 1e6), (-1420.0, 2016, 1e6)]
    assert not [f for f in figures if f.line is None]  # nothing is read from the document's name


SEGMENTS = ("(Amounts in millions) 2019 2018\n"
            "Segment net revenues $ 5,969 $ 6,835\n"
            "Consolidated net revenues $ 6,489 $ 7,500\n"
            "Selling, general and administrative expenses 926 1,062")


@pytest.mark.parametrize(("claim", "ok"), [
    ("Consolidated net revenues fell by $1,011 million in 2019.", True),
    ("Consolidated net revenues fell by $866 million in 2019.", False),  # the segment row's drop
    ("Segment net revenues fell by $866 million in 2019.", True),
    ("Consolidated net revenues fell 13.5% in 2019.", True),
    ("Expenses were 14.3% of consolidated net revenues in 2019.", False),  # one word of four names no row
    ("Selling, general and administrative expenses were 14.3% of consolidated net revenues in 2019.", True),
])
def test_the_row_a_sentence_names_is_the_one_it_uses_most_of(claim: str, ok: bool) -> None:
    assert verdict(claim, [SEGMENTS])[0] is ok, verdict(claim, [SEGMENTS])
