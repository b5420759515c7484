"""Figures as a sentence states them: "-$14.2 billion", "63%", "9.6 percentage points", "2.3x", "1,577".

A sentence's figure is its value, its unit, the scale word after it, the precision it is printed at and
whether it is money; the years, dates and fiscal periods of the sentence are no figures of it. The
verifier's arithmetic check holds a sentence's figures to the passages' by these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.numbers.scale import SCALES

_NUMBER = re.compile(
    r"(?:(?<![\w.,\-−–])|(?<=\bRMB)|(?<=\bINR)|(?<=\bEUR)|(?<=\bGBP)|(?<=\bUSD)|(?<=\bCHF)|(?<=\bJPY))"
    r"(?P<sign>[-−–])?(?P<cur>\$\s?)?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?![\d]|[.,]\d|[-−–]?[A-Za-z]\w*-?[A-Za-z]|[-−–][A-Za-z])"
    r"(?:\s?(?P<unit>%|percent\b|per\s+cent\b|percentage\s+points?\b|pp\b|points?\b|x\b|times\b))?"
    r"(?:\s?(?P<scale>thousands?|millions?|billions?|trillion|bn|mn|[kmb])\b)?", re.I)
_FISCAL = re.compile(r"(?i)\b(?:fy|fiscal(?:\s+year)?)\s*'?$")
# "December 31, 2019": a day of a date, not a figure.
_MONTH = re.compile(r"(?i)\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
                    r"sep(?:tember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?\s+$")
_SCALE_AHEAD = re.compile(r"(?i)(?:[^.;]|\.\d){0,20}?\b(?:thousands?|millions?|billions?|trillion)\b")


@dataclass(frozen=True)
class Stated:
    """A figure of the sentence: as printed, its value, its unit ('%', 'pp', 'x' or ''), its scale
    word's size (None if it names none), its decimals, whether it is money ($), and where it starts."""

    text: str
    value: float
    unit: str
    scale: float | None
    decimals: int
    money: bool
    start: int


def stated_figures(sentence: str) -> list[Stated]:
    """The figures a sentence states; years, days of dates and names ("3M") left out.

    'Capex rose 14.9% to $1.58 billion in FY2018.' -> [Stated('14.9%', 14.9, '%', ...), Stated('$1.58 billion',
    1.58, '', 1e9, 2, True, ...)]
    """
    out = []
    for m in _NUMBER.finditer(sentence):
        number, unit_word, scale_word = m.group("num"), (m.group("unit") or "").lower(), m.group("scale")
        value = float(number.replace(",", ""))
        is_year = (not m.group("cur") and not unit_word and not scale_word and "," not in number and "." not in number
                   and 1900 <= value <= 2100)
        if is_year or _FISCAL.search(sentence[: m.start()]) or (value <= 31 and _MONTH.search(sentence[: m.start()])):
            continue
        if scale_word and len(scale_word) == 1 and not m.group("cur"):
            continue  # "3M" is a name, "$12m" is money
        # "percentage points", "pp", and "points" alone: "up 2.1 points" is a move of a percentage.
        unit_word = " ".join(unit_word.split())  # "per  cent" as typeset
        unit = {"%": "%", "percent": "%", "per cent": "%", "x": "x", "times": "x"}.get(unit_word,
                                                                                "pp" if unit_word else "")
        sign = -1.0 if m.group("sign") else 1.0
        out.append(Stated(m.group().strip(), sign * value, unit, SCALES.get(scale_word.lower()) if scale_word else None,
                          len(number.partition(".")[2]), bool(m.group("cur")), m.start()))
    return out


def scale_follows(text: str, end: int) -> bool:
    """Whether a scale word follows the figure ending at `end` within its clause: in "$2.9 to $3.4 billion"
    the first figure is in billions too; in "$4,200,000,000 in cash" it is in dollars.

    ('$2.9 to $3.4 billion', 4) -> True; ('$4,200,000,000 in cash', 14) -> False
    """
    return _SCALE_AHEAD.match(text, end) is not None
