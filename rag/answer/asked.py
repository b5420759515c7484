"""What a question asks a table for: the operation, the periods, and the words that name the line item.

"What is the percentage change in Other in 2019 from 2018?" asks for a percentage change of the row
"Other" from the 2018 column to the 2019 column; "In which year was total sales the largest?" for the
column whose cell is largest; "What is the average X for 2019 and 2018?" for a mean of two cells. These
forms are how people ask any table for figures (TAT-QA's questions are written by people reading real
annual reports), not the wording of any one question: each pattern is a general way of asking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rag.text import stem, terms, words

Operation = Literal["lookup", "change", "percent_change", "average", "sum", "ratio", "percent_of", "compare",
                    "count", "columns", "difference"]

# A period as a question names it: "2019", "FY2019", "fiscal 2019", "F19", "Q4 2019".
YEAR = re.compile(r"(?i)\b(?:fy|f|fiscal\s+(?:year\s+)?)?'?((?:19|20)\d\d|(?<=f)\d\d)\b")
_PERCENT_CHANGE = re.compile(r"(?i)\b(?:percent(?:age)?|%)\s+(?:change|increase|decrease|decline|growth|rise|drop)\b"
                             r"|\bgrowth\s+rate\b|\bby\s+what\s+percent(?:age)?\b|\bchange\s+in\s+percent(?:age)?\b(?!\s+of)")
_CHANGE = re.compile(r"(?i)\b(?:change|increase|decrease|decline|difference|growth|rise|drop|movement|variance)\b")
_AVERAGE = re.compile(r"(?i)\b(?:average|mean)\b")
_SUM = re.compile(r"(?i)\b(?:sum|total|combined|altogether|in\s+total|aggregate)\b")
_SUM_STRONG = re.compile(r"(?i)\b(?:sum\s+of|combined|altogether|in\s+total|add(?:ed)?\s+up)\b")
_PERCENT_OF = re.compile(r"(?i)\b(?:what\s+percent(?:age)?|percentage\s+of|proportion|as\s+a\s+percent(?:age)?|"
                         r"share\s+of|portion\s+of)\b")
_RATIO = re.compile(r"(?i)\bratio\b")
_COMPARE = re.compile(r"(?i)\b(?:which|what)\s+(?:year|period|quarter|month)s?\b.*?\b(?:highest|largest|lowest|"
                      r"smallest|greatest|most|least|higher|larger|lower|smaller|greater|more|less|biggest|"
                      r"maximum|minimum)\b|\b(?:in\s+which\s+year|which\s+year)\b")
_COUNT = re.compile(r"(?i)^\s*how\s+many\s+(?:years?|periods?|quarters?|items?|segments?|categories|types|components)"
                    r"\b(?!.*\b(?:ago|old|long)\b)")
_COLUMNS = re.compile(r"(?i)\bwhich\s+(?:years?|periods?)\s+(?:does|do|is|are)\s+the\s+table\b|\b(?:years?|periods?)\s+"
                      r"(?:does|do)\s+the\s+table\s+(?:provide|show|cover|present|include)")
HIGH = re.compile(r"(?i)\b(?:highest|largest|greatest|most|higher|larger|greater|more|biggest|maximum|exceed\w*|"
                  r"above|over|more\s+than)\b")
_WHY = re.compile(r"(?i)^\s*(?:why|how\s+(?:did|does|do|is|was|were|will|would|can|could)\b(?!\s+much|\s+many))|"
                  r"\b(?:reasons?|explain|what\s+(?:caused|drove|drives|led\s+to))\b")
_FROM_TO = re.compile(r"(?i)\bfrom\s+(?:fy|fiscal\s+)?'?((?:19|20)\d\d)\b.*?\bto\s+"
                      r"(?:fy|fiscal\s+)?'?((?:19|20)\d\d)\b")
_IN_FROM = re.compile(r"(?i)\b(?:in|for)\s+(?:fy|fiscal\s+)?'?((?:19|20)\d\d)\b.*?\b(?:from|compared\s+(?:to|with)|"
                      r"over|against|relative\s+to|vs\.?)\s+(?:fy|fiscal\s+)?'?((?:19|20)\d\d)\b")
# Words of the question that say what is asked, not which row: they are left out of the row's words.
_ASKING = frozenset(terms(
    "what which how much many is was were are the amount value figure number sum average mean change "
    "increase decrease decline difference growth rise drop percentage percent proportion ratio rate share "
    "between from to in for of and year years fiscal period respectively both combined altogether compared "
    "reported company group table highest lowest largest smallest greatest year-on-year absolute net "
    "during ended ending as at end dollars usd million millions thousand thousands billion billions "
    "respective did does do portion over out across"))


@dataclass(frozen=True)
class Asked:
    """The operation a question asks of a table, the periods it names in the order it relates them
    (for a change: the later period first), and the terms that name what it asks about."""

    operation: Operation
    periods: tuple[str, ...]
    item: tuple[str, ...]
    # Two line items the operation relates ("the ratio of A to B", "A as a percentage of B"): their words.
    pair: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    high: bool = True  # compare/count: the largest (or above a bound), else the smallest
    why: bool = False


# Words that never tell one row label from another; "other", "not", "after" do ("Other revenue").
_FUNCTION = frozenset("a an the of and in for to from on at as by or with its their our is are was were".split())
_RANGE = re.compile(r"(?i)\b((?:19|20)\d\d)\s*(?:-|–|to|through|until)\s*((?:19|20)\d\d)\b")


def label_terms(text: str) -> list[str]:
    """A row label's or a question's words as a reader compares them: stemmed, function words left out, but
    words BM25 drops as stopwords kept. 'Other revenues' -> ['other', 'revenu']."""
    return [w if w[0].isdigit() else stem(w) for w in words(text) if w not in _FUNCTION]


def periods_named(question: str) -> list[str]:
    """The years a question names, in its order, a range spelled out: 'F19 and F18' -> ['2019', '2018'];
    'FY2019' -> ['2019']; 'from 2017-2019' -> ['2017', '2018', '2019']."""
    spans = {m.start(): m for m in _RANGE.finditer(question)}
    out: list[str] = []
    for match in YEAR.finditer(question):
        year = match.group(1)
        year = year if len(year) == 4 else f"20{year}"
        years = [year]
        ranged = spans.get(match.start())
        if ranged is not None:
            a, b = int(ranged.group(1)), int(ranged.group(2))
            if 0 < abs(a - b) <= 10:
                step = 1 if b > a else -1
                years = [str(y) for y in range(a, b + step, step)]
        out += [y for y in years if y not in out]
    return out


@lru_cache(maxsize=1024)
def asked(question: str) -> Asked:
    """What the question asks of a table.

    'What is the change in Other in 2019 from 2018?' -> Asked('change', ('2019', '2018'), ('other',));
    'What is the average investment income between 2018 and 2019?' -> Asked('average', ('2018', '2019'),
    ('invest', 'incom'))
    """
    periods = periods_named(question)
    operation: Operation = "lookup"
    if _COLUMNS.search(question):
        operation = "columns"
    elif _COUNT.search(question):
        operation = "count"
    elif _COMPARE.search(question) and len(periods) != 1:
        operation = "compare"
    elif _PERCENT_CHANGE.search(question) and len(periods) != 1:
        operation = "percent_change"
    elif _AVERAGE.search(question):
        operation = "average"
    elif _PERCENT_OF.search(question):
        operation = "percent_of"
    elif _RATIO.search(question):
        operation = "ratio"
    elif _CHANGE.search(question) and len(periods) != 1:
        operation = "change"
    elif _SUM_STRONG.search(question) or (_SUM.search(question) and len(periods) >= 2
                                          and re.search(r"(?i)\band\b", question)):
        operation = "sum"
    if operation in ("change", "percent_change") and len(periods) >= 2:
        periods = _later_first(question, periods)
    # The row is named by what is left once the question's asking words and periods are gone.
    text = YEAR.sub(" ", question)
    item = tuple(t for t in dict.fromkeys(label_terms(text)) if t not in _ASKING)
    pair = None
    if operation in ("ratio", "percent_of", "sum", "change", "lookup"):
        pair = _pair(text, operation)
        if pair is not None and operation in ("change", "lookup"):
            operation = "difference" if operation == "change" or re.search(r"(?i)\bdifference\b", text) else operation
            pair = pair if operation == "difference" else None
    return Asked(operation, tuple(periods), item, pair, high=bool(HIGH.search(question)),
                 why=bool(_WHY.search(question)))


# How a question joins the two line items of a ratio, a share or a difference: "of A to B", "A as a
# percentage of B", "A in B", "A over B", "between A and B".
_SPLITS = {
    "ratio": re.compile(r"(?i)\bratio\s+(?:of|between)\s+(?P<a>.+?)\s+(?:to|and|over|against|versus|vs\.?)\s+"
                        r"(?P<b>.+)"),
    "percent_of": re.compile(r"(?i)(?:percent(?:age)?|proportion|share|portion)\s+(?:of\s+)?(?P<a>.+?)\s+(?:in|of|to|"
                             r"over|out\s+of|from|within|relative\s+to|compared\s+to|as\s+a\s+percent(?:age)?\s+of)"
                             r"\s+(?:the\s+)?(?P<b>(?:total|overall|all|net|gross|combined)\b.+)"),
    "difference": re.compile(r"(?i)\bdifference\s+(?:in\s+\w+\s+)?between\s+(?:the\s+)?(?P<a>.+?)\s+and\s+"
                             r"(?:the\s+)?(?P<b>.+)"),
    "sum": re.compile(r"(?i)\b(?:sum|total)\s+of\s+(?:the\s+)?(?P<a>.+?)\s+and\s+(?:the\s+)?(?P<b>.+)"),
}
_AS_PERCENT = re.compile(r"(?i)(?P<a>.+?)\s+(?:expressed\s+)?as\s+a\s+(?:percent(?:age)?|proportion|share)\s+of\s+"
                         r"(?:the\s+)?(?P<b>.+)")


def _pair(text: str, operation: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The words of the two line items a two-row operation relates, or None when the question names one."""
    pattern = _SPLITS["difference" if operation in ("change", "lookup") else operation]
    match = pattern.search(text) or (_AS_PERCENT.search(text) if operation == "percent_of" else None)
    if match is None:
        return None
    a, b = (tuple(t for t in dict.fromkeys(label_terms(match.group(g))) if t not in _ASKING) for g in "ab")
    return (a, b) if a and b and a != b else None


def _later_first(question: str, periods: list[str]) -> list[str]:
    """The periods of a change, the one it changes to first: 'from 2018 to 2019' and 'in 2019 from 2018' ->
    ['2019', '2018']; 'between 2018 and 2019' -> ['2019', '2018'] (a change runs forward in time)."""
    for pattern, later in ((_FROM_TO, 2), (_IN_FROM, 1)):
        match = pattern.search(question)
        if match:
            earlier = match.group(3 - later)
            return [match.group(later), earlier]
    return sorted(periods[:2], reverse=True)
