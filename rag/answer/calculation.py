"""Arithmetic an analyst asks for, over figures quoted from statement rows.

"What is the FY2017 operating cash flow ratio? ... defined as: cash from operations / total current
liabilities." The filing reports the two figures, never the ratio. The extractive answer cannot
write a figure of its own into a quote, so it quotes the rows that hold the operands and says which
calculation the question asks for; when the calculation is one step (a ratio, a difference, a sum,
a percentage change) over two figures it found in the asked year's column, or a formula the question
defines over figures of named years, their averages and their changes, it states the result on a line
of its own, labelled as computed, so a reader can tell it from the documents' words.

Pure functions over text: rows are lines ending in figures ("Inventories (509) (387) 57"), and a
row's columns are the years of the table's header line above it or in its caption, both read by
`rag.numbers` (`row_parts`, `column_years`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rag.answer.cite import COMPUTED
from rag.numbers import column_years, decimals, periods_in, row_cells, row_parts, show, table_unit
from rag.packs import NO_LEXICON, Lexicon
from rag.text import stem, words
from rag.types import Hit

MIN_MATCH = 0.6
"""How surely a label must be an operand's row (`label_match`) to be quoted as it."""

_DEFINED = re.compile(r"(?i)\b(?:is\s+)?defined\s+as\b:?\s*(?P<formula>[^?]*?)(?:\.(?=\s|$)|\?|$)")
_METRIC = re.compile(r"(?i)(?:the\s+)?(?:(?:fy|fiscal\s+)?'?\d{2,4}\s+)?(?P<name>[a-z][\w\s&'-]{2,60}?)\s+(?:is|are)\s+"
                     r"defined\s+as")
_OPERATOR = re.compile(r"\s([/*+-])\s|\s(minus|plus|divided by|times)\s", re.I)
_WORDS = {"minus": "-", "plus": "+", "divided by": "/", "times": "*"}
# "year-over-year change in revenue", "change in operating income from FY2015 to FY2016", "total revenue growth
# rate": a percentage change of one line item between two years.
_ITEM = r"(?:[a-z&'-]+\s+){0,3}?[a-z&'-]*[a-z]"
_CHANGE = re.compile(rf"(?i)\b(?:year[- ]over[- ]year\s+)?change\s+in\s+(?:the\s+)?(?P<item>{_ITEM})"
                     rf"(?=\s+(?:from|between|for|in|of)\b|\s*[?(.,]|$)|\b(?P<item2>{_ITEM})\s+growth\s+rate\b")


@dataclass(frozen=True)
class Asked:
    """The calculation a question asks for: its name, its formula as the question states it, and operands."""

    name: str
    formula: str
    operands: tuple[str, ...]
    operator: str | None  # "/", "-", "+", "*" or "change" when one step over two operands; None otherwise
    years: tuple[int, ...]  # the periods to read: the asked year (and, for a change, the one before)


@dataclass(frozen=True)
class Row:
    """A statement row found for an operand: where it is quoted from and the figure per year."""

    operand: str
    hit_index: int
    start: int  # offsets into the document
    end: int
    text: str
    values: dict[int, float]
    unit: str | None = None  # "millions", "thousands", "billions": the scale the table states, if it does


@lru_cache(maxsize=256)
def asked_calculation(question: str) -> Asked | None:
    """The calculation the question asks for, or None when it asks for no arithmetic.

    'What is the FY2017 operating cash flow ratio for Adobe? Operating cash flow ratio is defined as: cash
    from operations / total current liabilities.' -> Asked('operating cash flow ratio', 'cash from operations /
    total current liabilities', ('cash from operations', 'total current liabilities'), '/', (2017,))
    """
    years = tuple(sorted(periods_in(question).years, reverse=True))
    defined = _DEFINED.search(question)
    if defined:
        formula = " ".join(defined.group("formula").split()).rstrip(" .")
        if formula.startswith("(") and formula.endswith(")") and formula.count("(") == 1:
            formula = formula[1:-1].strip()  # "(cash from operations - capex)"
        named = _METRIC.search(question[: defined.end("formula")])
        name = " ".join(named.group("name").split()).lower() if named else "the metric"
        name = re.sub(r"\s+(?:here|also)$", "", name)
        operators = [m.group(1) or _WORDS[m.group(2).lower()] for m in _OPERATOR.finditer(f" {formula} ")]
        pieces = [p for p in re.split(r"\s(?:[/*+-]|minus|plus|divided by|times)\s", f" {formula} ", flags=re.I)]
        operands = tuple(_operand(p) for p in pieces if _operand(p))
        simple = len(operators) == 1 and len(operands) == 2 and "(" not in formula and "average" not in formula.lower()
        return Asked(name, formula, operands, operators[0] if simple else None, years[:1])
    change = _CHANGE.search(question)
    if change and len(years) == 2:  # between the two years the question names
        item = " ".join((change.group("item") or change.group("item2")).split()).lower()
        span = years
        return Asked(f"change in {item}", f"({item} {span[0]} - {item} {span[1]}) / {item} {span[1]}", (item,),
                     "change", span)
    return None


_NAME = re.compile(r"(?<![.?!:]\s)(?<!^)\b[A-Z][\w&'’.-]*(?:\s+[A-Z][\w&'’.-]*)*")


def operand_queries(question: str) -> list[str]:
    """One search per operand of the calculation asked, with the question's names and periods, so a
    figure of another statement (a balance-sheet total for a cash-flow ratio) is among the passages.

    'What is the FY2017 operating cash flow ratio for Adobe? ... defined as: cash from operations / total
    current liabilities.' -> ['cash from operations FY2017 Adobe', 'total current liabilities FY2017 Adobe']
    """
    asked = asked_calculation(question)
    if asked is None:
        return []
    names = [re.sub(r"['’]s?$", "", n) for n in _NAME.findall(question)
             if not re.fullmatch(r"(?i)fy\d+|q[1-4]|usd|eur|gbp", n)]
    context = " ".join([*(f"FY{y}" for y in asked.years), *dict.fromkeys(names)])
    return [f"{operand} {context}" for operand in asked.operands if not operand.isdigit()]


def _operand(piece: str) -> str:
    """'(average PP&E between FY2018 and FY2019)' -> 'PP&E'; ' FY2019 revenue ' -> 'revenue'; 'change in
    inventory between FY2016 and FY2017' -> 'inventory'; ' 365 ' -> '365'."""
    text = re.sub(r"(?i)\b(?:between|from|for|in|of)\s+(?:fy)?'?\d{2,4}.*$", "", piece)
    text = re.sub(r"(?i)\b(?:fy)?'?(?:19|20)\d\d\b|\baverage\b|[()*:]", " ", text)
    text = re.sub(r"(?i)^\s*(?:the\s+)?change\s+in\s+", "", text)
    return " ".join(text.split()).strip(" ,.")


# Words that qualify a label without changing the item: "Total net revenue" is revenue.
_NEUTRAL = frozenset({"total", "net", "consolid"})
# Only these are left out of a label's words: "Other current liabilities" is not "current liabilities".
_FUNCTION = frozenset({"a", "an", "the", "of", "and", "by", "in", "for", "to", "from", "on", "at", "as", "or"})


def _label_words(text: str) -> set[str]:
    """'Other current liabilities' -> {'other', 'current', 'liabil'}; 'Total net sales' -> {'sale'}."""
    return {t if t[0].isdigit() else stem(t) for t in words(text) if t not in _FUNCTION} - _NEUTRAL


def label_match(operand: str, label: str, known: Sequence[str] = ()) -> float:
    """How surely a row label is the operand's row, 0 to 1: the overlap of their words (Jaccard), or of the
    label with a label documents give the operand's row (`known`: a domain pack's, `Lexicon.labels`) that it
    contains whole.

    ('total current liabilities', 'Total current liabilities') -> 1.0; ('revenue', 'Net sales', ('net sales',))
    -> 1.0; ('total revenue', 'Hardware revenue') -> 0.5; ('capex', 'Equipment', ('purchases of property and
    equipment',)) -> 0.0
    """
    have = _label_words(label)
    if not have:
        return 0.0
    want = _label_words(operand)
    scores = [len(want & have) / len(want | have)] if want else []
    for name in known:
        item = _label_words(name)
        if item and item <= have:
            scores.append(len(item) / len(have))
    return max(scores, default=0.0)


def find_rows(operands: Sequence[str], hits: Sequence[Hit], lexicon: Lexicon = NO_LEXICON) -> list[Row]:
    """For each operand, the statement row among the hits whose label is surely its row (`label_match`
    at least `MIN_MATCH`, the best one), with the row's figures by year where the table's header says."""
    rows: list[Row] = []
    for operand in operands:
        best: tuple[float, int, Row] | None = None
        known = lexicon.labels(operand)
        for i, hit in enumerate(hits):
            for row in _rows(hit, i, operand):
                score = label_match(operand, row_parts(row.text)[0], known)
                if score >= MIN_MATCH and (best is None or (score, -i) > (best[0], best[1])):
                    best = (score, -i, row)
        if best is not None:
            rows.append(best[2])
    return rows


def _rows(hit: Hit, index: int, operand: str) -> list[Row]:
    """The lines of a hit that are rows, each with its figures mapped to the years of the header above it."""
    chunk = hit.chunk
    header: list[int] = [y for line in chunk.context.splitlines() for y in column_years(line)]
    unit = table_unit(chunk.context)
    out = []
    offset = 0
    for line in chunk.text.split("\n"):
        start = chunk.start + offset
        offset += len(line) + 1
        unit = table_unit(line) or unit
        years = column_years(line)
        if years:
            header = years
            continue
        label, values = row_parts(line)
        if len(values) < 1 or not re.search(r"[A-Za-z]", label):
            continue
        by_year = dict(zip(header, values, strict=True)) if len(header) == len(values) else {}
        out.append(Row(operand, index, start, start + len(line), line, by_year, unit))
    return out


@dataclass(frozen=True)
class Calculated:
    """One step over statement figures: its result as it is stated ('0.88', '30.8%', '3,215 millions'), the
    expression it came from ('3,115.1 / 3,527.5'), and the period it is of ('2017' or '2016 to 2017')."""

    value: float
    stated: str
    expression: str
    period: str


def calculate(asked: Asked, rows: Sequence[Row]) -> Calculated | None:
    """The asked calculation over figures found in the asked years' columns: one step, or a formula the
    question defines whose terms are figures of named years, their average or their change (`evaluate`).

    '/' over 3,115.1 and 3,527.5 for FY2017 -> Calculated(0.883, '0.88', '3,115.1 / 3,527.5', '2017')
    """
    if not asked.years:
        return None
    if asked.operator is None:
        return evaluate(asked, rows)
    if asked.operator == "change":
        if len(rows) != 1 or len(asked.years) != 2:
            return None
        new, old = (rows[0].values.get(y) for y in asked.years)
        if new is None or old is None or old <= 0 or new < 0:
            return None  # a change from or to a loss has no percentage that reads right
        result = 100 * (new - old) / abs(old)
        return Calculated(result, f"{result:.1f}%", f"({show(new, most=2)} - {show(old, most=2)}) / "
                          f"{show(abs(old), most=2)}", f"{asked.years[1]} to {asked.years[0]}")
    if len(rows) != 2 or rows[0].unit is None or rows[0].unit != rows[1].unit:
        return None  # two figures are combined only when both tables state the same scale
    year = asked.years[0]
    a, b = rows[0].values.get(year), rows[1].values.get(year)
    # A figure in parentheses is an outflow or a loss: whether "cash from operations - capex" means minus
    # (1,577) or minus 1,577 is the analyst's convention, not the statement's, so no result is given.
    if a is None or b is None or a < 0 or b < 0 or (asked.operator == "/" and b == 0):
        return None
    result = {"/": lambda: a / b, "-": lambda: a - b, "+": lambda: a + b, "*": lambda: a * b}[asked.operator]()
    # A sum or a difference is printed at the precision of its operands' rows: 'Sales 3,676.2 2,807.0' -> 1.
    places = 2 if asked.operator in "/*" else max(
        (decimals(token) for row in rows for token, _ in row_cells(row.text)[1]), default=0)
    unit = "" if asked.operator in "/*" else f" {rows[0].unit}"
    return Calculated(result, f"{show(result, places)}{unit}",
                      f"{show(a, most=2)} {asked.operator} {show(b, most=2)}", str(year))


# A formula's pieces: parentheses and the operators between terms ("a / (b + c)", "365 * x", "a minus b").
_FORMULA = re.compile(r"(\(|\)|\s[/*+×-]\s|\s(?:minus|plus|divided\s+by|times)\s)", re.I)
_AVERAGE = re.compile(r"(?i)^(?:the\s+)?average\s+(?:of\s+)?(?:the\s+)?.+?\s+between\s+(?:fy\s*)?'?(\d{2,4})\s+and\s+"
                      r"(?:fy\s*)?'?(\d{2,4})$")
_CHANGE_IN = re.compile(r"(?i)^(?:the\s+)?change\s+in\s+.+?\s+(?:between|from)\s+(?:fy\s*)?'?(\d{2,4})\s+(?:and|to)\s+"
                        r"(?:fy\s*)?'?(\d{2,4})$")
_CONSTANT = re.compile(r"^\d+(?:\.\d+)?$")


def evaluate(asked: Asked, rows: Sequence[Row]) -> Calculated | None:
    """A formula the question defines, over the operands' rows: each term a figure of the asked year or of
    the year it names ("FY2019 revenue"), the average of two years' figures ("average PP&E between FY2018
    and FY2019"), their change ("change in inventory between FY2016 and FY2017", the later less the earlier)
    or a constant ("365"); parentheses and + - * / as written. None when a figure is missing, negative as
    printed (an outflow's sign is the analyst's convention), the rows' tables state different scales, or
    the formula does not parse.

    'FY2019 revenue / (average PP&E between FY2018 and FY2019)' over revenue {2019: 6,489} and PP&E {2019:
    253, 2018: 282} -> Calculated(24.26, '24.26', '6,489 / ((253 + 282) / 2)', '2019')
    """
    by_operand = {row.operand: row for row in rows}
    units = {row.unit for row in rows}
    if len(units) != 1 or None in units:
        return None
    tokens = [t.strip() for t in _FORMULA.split(f" {asked.formula} ") if t.strip()]
    tokens = [_WORDS.get(" ".join(t.lower().split()), "*" if t == "×" else t) for t in tokens]
    year = asked.years[0]

    def figure(item: str, at: int) -> tuple[float, str] | None:
        row = by_operand.get(_operand(item))
        value = row.values.get(at) if row is not None else None
        return (value, show(value, most=2)) if value is not None and value >= 0 else None

    def term(text: str) -> tuple[float, str] | None:
        if _CONSTANT.match(text):
            return float(text), text
        both = _AVERAGE.match(text) or _CHANGE_IN.match(text)
        if both:
            a, b = sorted(int(y) if len(y) == 4 else 2000 + int(y) for y in both.groups())
            first, last = figure(text, a), figure(text, b)
            if first is None or last is None:
                return None
            if both.re is _AVERAGE:
                return (first[0] + last[0]) / 2, f"(({first[1]} + {last[1]}) / 2)"
            return last[0] - first[0], f"({last[1]} - {first[1]})"
        named = sorted(periods_in(text).years)
        return figure(text, named[0] if len(named) == 1 else year)

    def parse(at: int, level: int) -> tuple[tuple[float, str] | None, int]:
        """The value of tokens[at:] up to the end of its level: 0 sums, 1 products, 2 a term or parentheses."""
        if level == 2:
            if at >= len(tokens):
                return None, at
            if tokens[at] == "(":
                inner, at = parse(at + 1, 0)
                if at >= len(tokens) or tokens[at] != ")" or inner is None:
                    return None, at
                return (inner[0], f"({inner[1]})" if not inner[1].startswith("(") else inner[1]), at + 1
            return term(tokens[at]), at + 1
        left, at = parse(at, level + 1)
        while left is not None and at < len(tokens) and tokens[at] in ("+-" if level == 0 else "*/"):
            op = tokens[at]
            right, at = parse(at + 1, level + 1)
            if right is None or (op == "/" and right[0] == 0):
                return None, at
            value = {"+": left[0] + right[0], "-": left[0] - right[0], "*": left[0] * right[0],
                     "/": left[0] / right[0] if right[0] else 0.0}[op]
            left = (value, f"{left[1]} {op} {right[1]}")
        return left, at

    done, end = parse(0, 0)
    if done is None or end != len(tokens):
        return None
    return Calculated(done[0], show(done[0], 2), done[1], str(year))


def compute(asked: Asked, rows: Sequence[Row]) -> str | None:
    """The result line, only for one step over figures found in the asked years' columns.

    '/' over 3,115.1 and 3,527.5 for FY2017 -> 'Computed: 3,115.1 / 3,527.5 = 0.88 (operating cash flow ratio, 2017).'
    """
    done = calculate(asked, rows)
    if done is None:
        return None
    return f"{COMPUTED} {done.expression} = {done.stated} ({asked.name}, {done.period})."
