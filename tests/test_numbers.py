"""Figures, rows, scales and periods as documents and sentences print them (rag.numbers): hand-worked tables."""

from __future__ import annotations

import pytest

from rag.numbers import (
    SCALES,
    Period,
    caption_years,
    column_years,
    dates_named,
    decimals,
    first_period,
    is_year,
    parse_figure,
    periods_in,
    periods_named,
    row_cells,
    scale_follows,
    scale_of,
    show,
    stated_figures,
    table_unit,
)


@pytest.mark.parametrize(("token", "value"), [
    ("(1,577)", -1577.0),  # an outflow or a loss, in parentheses
    ("$ 1,452.4", 1452.4),  # the currency apart, as a table's cell prints it
    ("$5,363", 5363.0),
    ("$(3,643,190)", -3643190.0),  # the currency outside the parentheses
    ("12.5%", 12.5),
    ("(5.2)%", -5.2),
    ("—", 0.0),  # nil
    ("$—", 0.0),
    ("-", 0.0),
    ("−3.4", -3.4),  # a minus sign, not a hyphen
    ("-0.4", -0.4),
    ("US$ 12", 12.0),
    ("RMB 8,000", 8000.0),
    ("€5", 5.0),
    ("3,115.1", 3115.1),
    ("Net", None),
    ("2,018,", None),
    ("(a)", None),
    ("A1", None),  # a rating or an exhibit, not a figure in Australian dollars
    ("C4591015", None),  # a form number
    ("", None),
])
def test_parse_figure(token: str, value: float | None) -> None:
    assert parse_figure(token) == value


@pytest.mark.parametrize(("token", "places"), [
    ("1,496.5", 1), ("(1,577)", 0), ("-22.22%", 2), ("$0.125", 3), ("—", 0),
])
def test_decimals(token: str, places: int) -> None:
    assert decimals(token) == places


@pytest.mark.parametrize(("value", "places", "most", "shown"), [
    (1577.0, None, 4, "1,577"),
    (3115.1, None, 4, "3,115.1"),
    (0.63393, None, 4, "0.6339"),
    (0.8831, 2, 4, "0.88"),
    (-12.6, 2, 4, "-12.60"),
    (0.88309, None, 2, "0.88"),
    (9.99996, None, 4, "10"),
    (0.0, None, 4, "0"),
])
def test_show(value: float, places: int | None, most: int, shown: str) -> None:
    assert show(value, places, most=most) == shown


@pytest.mark.parametrize(("text", "scale"), [
    ("(Dollars in millions, except per share)", "million"),
    ("$'000", "thousand"),
    ("£m", "million"),
    ("in thousands", "thousand"),
    ("RMB'000", "thousand"),
    ("(000s)", "thousand"),
    ("$bn", "billion"),
    ("Amounts in billions of dollars", "billion"),
    ("Revenue grew 12% in 2019.", ""),
    ("€ million", "million"),  # a currency and a scale heading a table's figures
    ("RMB thousand", "thousand"),
    ("emissions per $ million of revenue", ""),  # a rate, not the table's scale
    ("a charge of $1 million", ""),
    ("Number of shares (1,000)", "thousand"),  # the multiplier written as a number
    ("(in EUR 1,000,000)", "million"),
    ("a fee of $1,000", ""),
    ("(000’s)", "thousand"),
    ("(Rupees in million)", "million"),  # the scale word in the singular after "in"
    ("RMB in million", "million"),
    ("Millions of dollars", "million"),  # a header that opens with its scale
    ("$ million", "million"),
    ("Normalised per $ million of revenues", ""),
])
def test_scale_of(text: str, scale: str) -> None:
    assert scale_of(text) == scale
    assert not scale or SCALES[scale] in (1e3, 1e6, 1e9)


@pytest.mark.parametrize(("text", "unit"), [
    ("(Dollars in millions, except per share)", "millions"),
    ("(Millions) 2018 2017 2016", "millions"),
    ("in $ thousands", "thousands"),
    ("$'000", None),  # the caption reading of a statement, narrower than scale_of
    ("Revenue grew.", None),
])
def test_table_unit(text: str, unit: str | None) -> None:
    assert table_unit(text) == unit


@pytest.mark.parametrize(("text", "years", "quarters"), [
    ("Adobe's change from FY2015 to FY2016", {2015, 2016}, set()),
    ("Did Pfizer grow its PPNE between FY20 and FY21?", {2020, 2021}, set()),
    ("fiscal year 2019", {2019}, set()),
    ("As of Q2'2023, is Pfizer spinning off a segment?", {2023}, {(2023, 2)}),
    ("revenues in Q22023 year over year", {2023}, {(2023, 2)}),
    ("JPM's segments in 2021 Q1", {2021}, {(2021, 1)}),
    ("As of FY2023Q1, why did Pepsico raise guidance?", {2023}, {(2023, 1)}),
    ("sales in the third quarter of fiscal 2024", {2024}, {(2024, 3)}),
    ("revenue in the fiscal 2019 third quarter", {2019}, {(2019, 3)}),
    ("What was the $2018 million charge, up 2019%?", set(), set()),  # figures, not years
    ("How much cash does it hold?", set(), set()),
])
def test_periods_in(text: str, years: set[int], quarters: set[tuple[int, int]]) -> None:
    assert periods_in(text) == Period(frozenset(years), frozenset(quarters))


@pytest.mark.parametrize(("text", "period"), [
    ("FY2018", (2018, None)), ("Q4 2023", (2023, 4)), ("May 26, 2023", (2023, None)), ("n/a", (None, None)),
])
def test_first_period(text: str, period: tuple[int | None, int | None]) -> None:
    assert first_period(text) == period


@pytest.mark.parametrize(("line", "label", "cells"), [
    ("Inventories (509) (387) 57", "Inventories", [("(509)", -509.0), ("(387)", -387.0), ("57", 57.0)]),
    ("Net cash provided by operating activities $ 381,603 $ 465,699", "Net cash provided by operating activities",
     [("381,603", 381603.0), ("465,699", 465699.0)]),
    ("Gross margin 32.1 % 35.4 %", "Gross margin", [("32.1", 32.1), ("35.4", 35.4)]),
    ("Restructuring — (12)", "Restructuring", [("—", 0.0), ("(12)", -12.0)]),
    ("Net of tax of $(5) 533", "Net of tax of", [("$(5)", -5.0), ("533", 533.0)]),
    ("Credit rating A1", "Credit rating A1", []),
    ("Revenue grew strongly.", "Revenue grew strongly.", []),
    ("", "", []),
])
def test_row_cells(line: str, label: str, cells: list[tuple[str, float]]) -> None:
    assert row_cells(line) == (label, cells)


@pytest.mark.parametrize(("line", "columns", "caption"), [
    ("(Millions) 2018 2017 2016", [2018, 2017, 2016], [2018, 2017, 2016]),
    ("FY2019 FY2018", [2019, 2018], []),
    ("3M · Consolidated Statement of Cash Flows · (Millions) 2018 2017", [2018, 2017], [2018, 2017]),
    ("Twelve Months Ended June 30, 2022 Twelve Months Ended June 30, 2023", [2022, 2023], []),
    ("Sales rose in 2018.", [], []),
])
def test_header_years(line: str, columns: list[int], caption: list[int]) -> None:
    assert column_years(line) == columns
    assert caption_years(line) == caption


@pytest.mark.parametrize(("sentence", "figures"), [
    ("3M's 10-K for FY2018 and COVID-19 in Q4 2019", []),
    ("Capex rose 14.9% to $1.58 billion",
     [("14.9%", 14.9, "%", None, 1, False), ("$1.58 billion", 1.58, "", 1e9, 2, True)]),
    ("down 2.1 percentage points, 2.3x, -4%",
     [("2.1 percentage points", 2.1, "pp", None, 1, False), ("2.3x", 2.3, "x", None, 1, False),
      ("-4%", -4.0, "%", None, 0, False)]),
    ("margin up 2.1 points", [("2.1 points", 2.1, "pp", None, 1, False)]),
    ("emissions fell by 29 per cent", [("29 per cent", 29.0, "%", None, 0, False)]),  # as British reports write it
    ("$12m and 1,577 million", [("$12m", 12.0, "", 1e6, 0, True), ("1,577 million", 1577.0, "", 1e6, 0, False)]),
    ("as of December 31, 2019, 3M had 93,000 employees", [("93,000", 93000.0, "", None, 0, False)]),
    ("exchange gains of RMB77 million (2018: RMB229 million)",  # a currency code printed against the figure
     [("77 million", 77.0, "", 1e6, 0, False), ("229 million", 229.0, "", 1e6, 0, False)]),
    ("model ABC12 and Q3", []),
])
def test_stated_figures(sentence: str, figures: list[tuple[object, ...]]) -> None:
    assert [(s.text, s.value, s.unit, s.scale, s.decimals, s.money) for s in stated_figures(sentence)] == figures


@pytest.mark.parametrize(("text", "figure", "follows"), [
    ("guidance of $2.9 to $3.4 billion", "$2.9", True),
    ("$4,200,000,000 in cash", "$4,200,000,000", False),
    ("$2.9. The billion", "$2.9", False),  # not past the end of the sentence
])
def test_scale_follows(text: str, figure: str, follows: bool) -> None:
    assert scale_follows(text, text.index(figure) + len(figure)) is follows


@pytest.mark.parametrize(("text", "years"), [
    ("the change from FY18 to FY19", ["2018", "2019"]),
    ("average ROFE for F19 and F18", ["2019", "2018"]),
    ("net income from 2017-2019", ["2017", "2018", "2019"]),
    ("fiscal 2019 and 2018 respectively", ["2019", "2018"]),
    ("EBIT in 2018/2019 from 2017/2018", ["2019", "2018"]),  # a fiscal year split over two, by its end
    ("FY2018-19 and 2017/18", ["2019", "2018"]),
    ("from 2018-2019", ["2018", "2019"]),  # a range, not a split year
    ("2019/2018", ["2019", "2018"]),  # not consecutive the way a fiscal year runs: two years
])
def test_periods_named_in_order(text: str, years: list[str]) -> None:
    assert periods_named(text) == years


@pytest.mark.parametrize(("token", "year"), [("2019", True), ("FY2019", True), ("2019*", True), ("2 0 1 8", True),
                                             ("1,577", False), ("2019.5", False), ("$2019", False)])
def test_is_year(token: str, year: bool) -> None:
    assert is_year(token) is year


@pytest.mark.parametrize(("text", "dates"), [
    ("between the quarters ended January 26 and April 27, 2019", [(2019, 1, 26), (2019, 4, 27)]),
    ("quarters ended January 26, 2019 and October 27, 2018", [(2019, 1, 26), (2018, 10, 27)]),
    ("between July 27 and April 27 in 2019", [(2019, 7, 27), (2019, 4, 27)]),  # the one year the text names
    ("as at 31 March 2019", [(2019, 3, 31)]),  # day first
    ("in May 2019", []),  # a month is no date
    ("June 30 and December 31", [(None, 6, 30), (None, 12, 31)]),
])
def test_dates_named(text: str, dates: list[tuple[int | None, int, int]]) -> None:
    assert dates_named(text) == dates
