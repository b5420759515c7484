"""The periods a text names: years, fiscal years ("FY2018", "FY20") and quarters ("Q2'2023").

A question is about the filing of the period it names, a sentence's figure is of its column's year, and
a change "in 2019" is from the year before: each reads the periods from here, so "FY20" is 2020 to all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text import ORDINALS

_YEAR = r"((?:19|20)\d\d)"
_FISCAL_YEAR = re.compile(r"(?i)\b(?:fy|fiscal(?:\s+year)?)\s*'?(\d{4}|\d{2})(?!\d)")
_PLAIN_YEAR = re.compile(rf"(?<![\d.$]){_YEAR}(?![\d%])")
_QUARTERS = [
    re.compile(rf"(?i)\bq([1-4])\s*(?:fy)?\s*'?\s*{_YEAR}(?!\d)"),  # Q2 2023, Q2'2023, Q22023
    re.compile(rf"(?i){_YEAR}\s*'?\s*q([1-4])\b"),  # 2021 Q1, FY2023Q1
    re.compile(rf"(?i)\b(first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter\s+(?:of\s+)?(?:fiscal\s+)?{_YEAR}"),
    re.compile(rf"(?i){_YEAR}\s+(first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter\b"),  # fiscal 2019 third quarter
]
_FIRST_PERIOD = re.compile(rf"(?:FY|Q([1-4]) )?{_YEAR}\b|{_YEAR}")


@dataclass(frozen=True)
class Period:
    """The years and (year, quarter) pairs a text names: 'FY2015 to FY2016, Q1 2016' ->
    years {2015, 2016}, quarters {(2016, 1)}."""

    years: frozenset[int] = frozenset()
    quarters: frozenset[tuple[int, int]] = frozenset()


def periods_in(text: str) -> Period:
    """The periods a question or a sentence names; a figure that looks like a year is none.

    "Adobe's change from FY2015 to FY2016" -> years {2015, 2016}; "Q2'2023" -> years {2023},
    quarters {(2023, 2)}; "FY20 and FY21" -> {2020, 2021}; "$2018 million" names no year.
    """
    years: set[int] = set()
    quarters: set[tuple[int, int]] = set()
    for match in _FISCAL_YEAR.finditer(text):
        value = int(match.group(1))
        years.add(value + 2000 if value < 100 else value)
    years |= {int(y) for y in _PLAIN_YEAR.findall(text)}
    for pattern in _QUARTERS:
        for match in pattern.finditer(text):
            a, b = match.group(1), match.group(2)
            if a.isdigit() and len(a) == 4:
                year, quarter = int(a), int(b) if b.isdigit() else ORDINALS[b.lower()]
            elif a.isdigit():
                year, quarter = int(b), int(a)
            else:
                year, quarter = int(b), ORDINALS[a.lower()]
            years.add(year)
            quarters.add((year, quarter))
    return Period(frozenset(years), frozenset(quarters))


def first_period(text: str) -> tuple[int | None, int | None]:
    """(year, quarter) of the first period a document's stated period names, as its profile writes it.

    'FY2018' -> (2018, None); 'Q4 2023' -> (2023, 4); 'May 26, 2023' -> (2023, None); 'n/a' -> (None, None)
    """
    match = _FIRST_PERIOD.search(text)
    if not match:
        return None, None
    quarter = int(match.group(1)) if match.group(1) else None
    return int(match.group(2) or match.group(3)), quarter


# A year as a question or a column header names it: "2019", "FY2019", "fiscal 2019", "F19", "FY19".
YEAR = re.compile(r"(?i)\b(?:fy|f|fiscal\s+(?:year\s+)?)?'?((?:19|20)\d\d|(?:(?<=f)|(?<=fy))\d\d)\b")
_RANGE = re.compile(r"(?i)\b((?:19|20)\d\d)\s*(?:-|–|to|through|until)\s*((?:19|20)\d\d)\b")
# A fiscal year over two calendar years: "2018/2019", "2018/19", "2018-19" (but "2018-2019" is a range).
_SPLIT_YEAR = re.compile(r"(?i)\b(?:fy\s*)?((?:19|20)\d\d)\s*(?:/\s*((?:19|20)?\d\d)|[-–]\s*(\d\d))\b")


def _ends(match: re.Match[str]) -> int | None:
    """The year a split fiscal year ends in, or None when its halves are not consecutive years."""
    first, second = int(match.group(1)), match.group(2) or match.group(3)
    end = int(second) if len(second) == 4 else first // 100 * 100 + int(second)
    return end if end == first + 1 else None


def periods_named(question: str) -> list[str]:
    """The years a question names, in its order, a range spelled out, a fiscal year split over two calendar
    years named by the year it ends: 'F19 and F18' -> ['2019', '2018']; 'FY2019' -> ['2019'];
    'from 2017-2019' -> ['2017', '2018', '2019']; '2018/2019', '2018/19', 'FY2018-19' -> ['2019']."""
    spans = {m.start(): m for m in _RANGE.finditer(question)}
    split = {m.start(): m for m in _SPLIT_YEAR.finditer(question) if _ends(m) is not None}
    out: list[str] = []
    skip = -1
    for match in YEAR.finditer(question):
        if match.start() < skip:
            continue  # the second half of a split year, read with its first
        year = match.group(1)
        year = year if len(year) == 4 else f"20{year}"
        years = [year]
        halves = split.get(match.start())
        ranged = spans.get(match.start())
        if halves is not None:
            years, skip = [str(_ends(halves))], halves.end()
        elif ranged is not None:
            a, b = int(ranged.group(1)), int(ranged.group(2))
            if 0 < abs(a - b) <= 10:
                step = 1 if b > a else -1
                years = [str(y) for y in range(a, b + step, step)]
        out += [y for y in years if y not in out]
    return out


_YEAR_TOKEN = re.compile(r"(?i)^(?:fy|fiscal\s+)?'?(?:19|20)\d\d[a-z*]?$")


def is_year(token: str) -> bool:
    """A cell or header that is a year, not a figure: '2019', 'FY2019', '2019*', '2 0 1 8' -> True; '1,577' -> False."""
    return bool(_YEAR_TOKEN.match(token.strip().replace(" ", "")))


_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_MONTH_NAME = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATE = re.compile(rf"(?i)\b(?:{_MONTH_NAME}\s+(\d{{1,2}})|(\d{{1,2}})\s+{_MONTH_NAME})\b(?:,?\s+{_YEAR}\b)?")


def dates_named(text: str) -> list[tuple[int | None, int, int]]:
    """The dates a text names, as (year, month, day), in its order; a date written without its year takes
    the year of the next date that has one ('June 30 and December 31, 2019' -> both 2019), else the one
    year the text names ('July 27 and April 27 in 2019'), else None.

    'between the quarters ended January 26 and April 27, 2019' -> [(2019, 1, 26), (2019, 4, 27)];
    'as at 31 March 2019' -> [(2019, 3, 31)]
    """
    months = [m[:3] for m in _MONTHS]
    found = [(int(m.group(5)) if m.group(5) else None, months.index((m.group(1) or m.group(4)).lower()[:3]) + 1,
              int(m.group(2) or m.group(3))) for m in _DATE.finditer(text)]
    years = set(periods_named(text))
    only = int(years.pop()) if len(years) == 1 else None
    return [(next((y for y, _, _ in found[k:] if y is not None), only), month, day)
            for k, (_, month, day) in enumerate(found)]


# Quarters named without a year of their own: "the second and first quarter", "Q1 and Q2".
_QUARTER_NAMED = re.compile(r"(?i)\b(first|second|third|fourth|1st|2nd|3rd|4th)\b(?=(?:\s+(?:and|or|to|,|fiscal|"
                            r"calendar|(?:first|second|third|fourth|1st|2nd|3rd|4th)))*\s+quarters?\b)|"
                            r"\bq([1-4])\b(?!\s*'?\s*\d)")
_ALL_QUARTERS = re.compile(r"(?i)\bquarterly\b|\beach\s+(?:of\s+the\s+)?quarters?\b|\b(?:all|four)\s+quarters\b")


def quarters_named(question: str) -> tuple[int, ...]:
    """The quarters a question names without a year of their own, in its order, when it names two or more
    ("between the second and first quarter" -> (2, 1)), or all four when it asks of each quarter ("the
    average quarterly low price"); () otherwise: "the first quarter of 2019" is a period `periods_in` reads."""
    if _ALL_QUARTERS.search(question):
        return (1, 2, 3, 4)
    named = tuple(dict.fromkeys(ORDINALS[m.group(1).lower()] if m.group(1) else int(m.group(2))
                                for m in _QUARTER_NAMED.finditer(question)))
    return named if len(named) >= 2 else ()


# A header or a row label naming one quarter: "Fiscal 2019 Second Quarter", "Q3".
_QUARTER_NAME = re.compile(r"(?i)\b(first|second|third|fourth|1st|2nd|3rd|4th)\s+(?:fiscal\s+)?quarter\b|"
                           r"\bq([1-4])\b")


def quarter_of(text: str) -> int | None:
    """The one quarter a header or a row label names ('Fiscal 2019 Second Quarter', 'Q3'), else None."""
    found = {ORDINALS[m.group(1).lower()] if m.group(1) else int(m.group(2)) for m in _QUARTER_NAME.finditer(text)}
    return found.pop() if len(found) == 1 else None
