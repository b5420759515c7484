"""Arithmetic over quoted statement rows: parsing figures and rows, the calculation a question asks for,
which row is an operand's, and a result given only for one step over figures of the asked year."""

from __future__ import annotations

import pytest

from rag.answer.calculation import (
    Asked,
    Row,
    asked_calculation,
    compute,
    find_rows,
    label_match,
    operand_queries,
)
from rag.answer.cite import answer_sentences
from rag.numbers import parse_figure, row_parts
from rag.packs.finance import PACK
from rag.types import Chunk, Hit


@pytest.mark.parametrize(("token", "value"), [
    ("(1,577)", -1577.0), ("$5,363", 5363.0), ("12.5%", 12.5), ("—", 0.0), ("3,115.1", 3115.1), ("-0.4", -0.4),
    ("Net", None), ("2,018,", None), ("(a)", None),
])
def test_parse_figure(token: str, value: float | None) -> None:
    assert parse_figure(token) == value


@pytest.mark.parametrize(("line", "label", "values"), [
    ("Purchases of property, plant and equipment (PP&E) (1,577) (1,373) (1,420)",
     "Purchases of property, plant and equipment (PP&E)", [-1577.0, -1373.0, -1420.0]),
    ("Net cash provided by operating activities $ 381,603 $ 465,699", "Net cash provided by operating activities",
     [381603.0, 465699.0]),
    ("Revenue grew strongly.", "Revenue grew strongly.", []),
])
def test_row_parts(line: str, label: str, values: list[float]) -> None:
    assert row_parts(line) == (label, values)


def test_asked_calculation_reads_a_definition() -> None:
    asked = asked_calculation("What is the FY2017 operating cash flow ratio for Adobe? Operating cash flow ratio is "
                              "defined as: cash from operations / total current liabilities. Round your answer to two "
                              "decimal places.")
    assert asked == Asked("operating cash flow ratio", "cash from operations / total current liabilities",
                          ("cash from operations", "total current liabilities"), "/", (2017,))


@pytest.mark.parametrize(("question", "operator", "operands", "years"), [
    # Two steps (an average, then a ratio): no one-step operator; `evaluate` reads the formula.
    ("What is the FY2019 fixed asset turnover ratio? It is defined as: FY2019 revenue / (average PP&E between "
     "FY2018 and FY2019).", None, ("revenue", "PP&E"), (2019,)),
    ("What is the FY2020 free cash flow for General Mills? FCF here is defined as: (cash from operations - capex).",
     "-", ("cash from operations", "capex"), (2020,)),
    ("What is Amazon's year-over-year change in revenue from FY2016 to FY2017?", "change", ("revenue",),
     (2017, 2016)),
    ("What is the FY2019 - FY2020 total revenue growth rate for Block?", "change", ("total revenue",), (2020, 2019)),
])
def test_asked_calculation_kinds(question: str, operator: str | None, operands: tuple[str, ...],
                                 years: tuple[int, ...]) -> None:
    asked = asked_calculation(question)
    assert asked is not None
    assert (asked.operator, asked.operands, asked.years) == (operator, operands, years)


@pytest.mark.parametrize("question", [
    "What is 3M's FY2018 capital expenditure?",  # a reported figure
    "Is growth in JnJ's adjusted EPS expected to accelerate in FY2023?",  # a judgement, not arithmetic
    "How did the revenue change in 2022?",  # one year: a change from when?
])
def test_no_calculation_is_read_into_other_questions(question: str) -> None:
    assert asked_calculation(question) is None


def test_operand_queries_carry_the_company_and_period() -> None:
    assert operand_queries("What is the FY2017 operating cash flow ratio for Adobe? Operating cash flow ratio is "
                           "defined as: cash from operations / total current liabilities.") == [
        "cash from operations FY2017 Adobe", "total current liabilities FY2017 Adobe"]
    assert operand_queries("What is 3M's FY2018 capital expenditure?") == []


@pytest.mark.parametrize(("operand", "label", "at_least", "below"), [
    ("total current liabilities", "Total current liabilities", 1.0, None),
    ("revenue", "Net sales", 1.0, None),  # as statements label it
    ("capex", "Capital expenditures", 1.0, None),
    ("cash from operations", "Net cash provided by operating activities", 1.0, None),
    ("capex", "Purchases of property, plant and equipment (PP&E)", 0.6, None),
    ("total revenue", "Hardware revenue", None, 0.6),  # a part is not the total
    ("capex", "Equipment", None, 0.6),  # a word of the label is not the label
    ("total current liabilities", "Other current liabilities", None, 1.0),
])
def test_label_match(operand: str, label: str, at_least: float | None, below: float | None) -> None:
    score = label_match(operand, label, PACK.lexicon(operand).labels(operand))  # the finance pack knows the rows
    assert at_least is None or score >= at_least
    assert below is None or score < below


def hit(text: str, context: str = "", source: str = "k.pdf") -> Hit:
    return Hit(Chunk("c", source, text, 1000, 1000 + len(text), page=60, context=context), 1.0)


TABLE = ("(Dollars in millions) 2018 2017 2016\n"
         "Net cash provided by operating activities 6,439 6,240 6,662\n"
         "Purchases of property, plant and equipment (PP&E) (1,577) (1,373) (1,420)\n"
         "Total current liabilities 7,244 7,687\n")


def test_find_rows_maps_each_operands_row_to_the_years_of_its_header() -> None:
    asked = Asked("fcf", "cash from operations - capex", ("cash from operations", "capex"), "-", (2018,))
    known = PACK.lexicon("Free cash flow is cash from operations minus capex.")
    rows = find_rows(asked.operands, [hit("Revenue grew in every segment this year, the company said."), hit(TABLE)],
                     known)
    assert [r.text for r in rows] == ["Net cash provided by operating activities 6,439 6,240 6,662",
                                      "Purchases of property, plant and equipment (PP&E) (1,577) (1,373) (1,420)"]
    assert rows[0].values == {2018: 6439.0, 2017: 6240.0, 2016: 6662.0}
    assert [r.hit_index for r in rows] == [1, 1] and all(r.unit == "millions" for r in rows)
    assert TABLE[rows[1].start - 1000 : rows[1].end - 1000] == rows[1].text  # offsets quote the row exactly
    # Two figures but three years in the header: which column is which is not known, so no values.
    assert find_rows(("total current liabilities",), [hit(TABLE)])[0].values == {}
    assert find_rows(("capex",), [hit(TABLE)]) == []  # with no pack on, 'capex' names no row


def row(text: str, values: dict[int, float], unit: str | None = "millions") -> Row:
    return Row("x", 0, 0, len(text), text, values, unit)


@pytest.mark.parametrize(("asked", "rows", "line"), [
    (Asked("operating cash flow ratio", "a / b", ("a", "b"), "/", (2017,)),
     [row("Net cash 2,912.9", {2017: 2912.9}), row("Total current liabilities 3,527.5", {2017: 3527.5})],
     "Computed: 2,912.9 / 3,527.5 = 0.83 (operating cash flow ratio, 2017)."),
    (Asked("fcf", "a - b", ("a", "b"), "-", (2020,)),
     [row("Cash 3,676.2", {2020: 3676.2}), row("Capital expenditures 460.8", {2020: 460.8})],
     "Computed: 3,676.2 - 460.8 = 3,215.4 millions (fcf, 2020)."),
    (Asked("change in revenue", "...", ("revenue",), "change", (2017, 2016)),
     [row("Net sales 135,987 177,866", {2016: 135987.0, 2017: 177866.0})],
     "Computed: (177,866 - 135,987) / 135,987 = 30.8% (change in revenue, 2016 to 2017)."),
])
def test_compute_one_step_over_the_asked_years(asked: Asked, rows: list[Row], line: str) -> None:
    assert compute(asked, rows) == line


@pytest.mark.parametrize(("asked", "rows"), [
    # Different scales: thousands against millions would be off by a thousand.
    (Asked("r", "a / b", ("a", "b"), "/", (2017,)),
     [row("A 2,912.9", {2017: 2912.9}), row("B 3,527,457", {2017: 3527457.0}, unit="thousands")]),
    (Asked("r", "a / b", ("a", "b"), "/", (2017,)), [row("A 1", {2017: 1.0}, unit=None), row("B 2", {2017: 2.0})]),
    # The asked year's column is not known for one operand.
    (Asked("r", "a / b", ("a", "b"), "/", (2017,)), [row("A 2,912.9", {2017: 2912.9}), row("B 3,527.5", {})]),
    # A formula whose terms name no row found, or one operand missing.
    (Asked("r", "a / (avg b)", ("a", "b"), None, (2019,)), [row("A 1", {2019: 1.0}), row("B 2", {2019: 2.0})]),
    (Asked("r", "a / b", ("a", "b"), "/", (2017,)), [row("A 1", {2017: 1.0})]),
    (Asked("r", "a / b", ("a", "b"), "/", (2017,)), [row("A 1", {2017: 1.0}), row("B 0", {2017: 0.0})]),
    # An outflow in parentheses: minus (1,577) or minus 1,577? The statement does not say.
    (Asked("fcf", "a - b", ("a", "b"), "-", (2018,)),
     [row("Net cash 6,439", {2018: 6439.0}), row("Purchases of PP&E (1,577)", {2018: -1577.0})]),
    (Asked("change", "...", ("x",), "change", (2018, 2017)), [row("Net loss (5) 3", {2018: -5.0, 2017: 3.0})]),
])
def test_no_result_unless_it_is_over_figures_known_to_fit(asked: Asked, rows: list[Row]) -> None:
    assert compute(asked, rows) is None


def test_labelled_calculation_lines_are_no_claims() -> None:
    text = "- Net sales 135,987 177,866 [1]\nCalculation: change = (b - a) / a.\nComputed: (2 - 1) / 1 = 100.0% (x)."
    assert answer_sentences(text) == [("Net sales 135,987 177,866", [1])]


def operand_row(operand: str, values: dict[int, float], unit: str | None = "millions") -> Row:
    return Row(operand, 0, 0, 1, operand, values, unit)


TURNOVER = asked_calculation("What is the FY2019 fixed asset turnover ratio? Fixed asset turnover ratio is defined as: "
                             "FY2019 revenue / (average PP&E between FY2018 and FY2019).")
DPO = asked_calculation("What is the FY2017 days payable outstanding (DPO)? DPO is defined as: 365 * (average "
                        "accounts payable between FY2016 and FY2017) / (FY2017 COGS + change in inventory between "
                        "FY2016 and FY2017).")


@pytest.mark.parametrize(("asked", "rows", "line"), [
    (TURNOVER, [operand_row("revenue", {2019: 6489.0}), operand_row("PP&E", {2019: 253.0, 2018: 282.0})],
     "Computed: 6,489 / ((282 + 253) / 2) = 24.26 (fixed asset turnover ratio, 2019)."),
    (DPO, [operand_row("accounts payable", {2017: 34616.0, 2016: 25309.0}), operand_row("COGS", {2017: 111934.0}),
           operand_row("inventory", {2017: 16047.0, 2016: 11461.0})],
     "Computed: 365 * ((25,309 + 34,616) / 2) / (111,934 + (16,047 - 11,461)) = 93.86 (dpo, 2017)."),
])
def test_a_defined_formula_of_averages_changes_and_constants_is_computed(asked: Asked | None, rows: list[Row],
                                                                        line: str) -> None:
    assert asked is not None and asked.operator is None
    assert compute(asked, rows) == line


@pytest.mark.parametrize("rows", [
    [operand_row("revenue", {2019: 6489.0}), operand_row("PP&E", {2019: 253.0})],  # 2018's figure is not known
    [operand_row("revenue", {2019: 6489.0}), operand_row("PP&E", {2019: 253.0, 2018: 282.0}, unit="thousands")],
    [operand_row("revenue", {2019: -6489.0}), operand_row("PP&E", {2019: 253.0, 2018: 282.0})],  # in parentheses
])
def test_a_defined_formula_is_not_computed_over_figures_that_do_not_fit(rows: list[Row]) -> None:
    assert TURNOVER is not None and compute(TURNOVER, rows) is None
