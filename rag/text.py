"""Text normalisation shared by BM25, answer scoring and evaluation.

One definition of "a term" keeps the sparse index, the answerer's evidence checks and
the metrics consistent with each other: a figure written "$14.2 billion" in a question
matches "$14.2 billion" or "14.2 billion" in a passage, and "profitability" matches
"profitable".
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
    yourself yourselves s t d ll m re ve y don doesn didn isn wasn aren weren won wouldn
    shouldn couldn hasn haven hadn mustn shan ever many much tell give say said according
    please""".split()
)

# Numbers keep their decimal point and lose thousands separators: "1,000.5" -> "1000.5".
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:\d+[^\W\d_]*)*", re.UNICODE)
_stemmer = Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball stem every term is reduced to: 'liabilities' -> 'liabil'."""
    return str(_stemmer.stemWord(word))


def normalize_number(token: str) -> str:
    """'1,000.50' -> '1000.50'; '4.' is not produced by the tokenizer."""
    return token.replace(",", "")


# How filings and questions write a quarter: "the third quarter", "3rd quarter" is Q3.
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}

# "U.S." and "U.S.A." are how filings write what questions write "US": one token, not "u" and "s".
_US = re.compile(r"\bU\.S\.(?:A\.)?(?!\w)")


def words(text: str) -> list[str]:
    """Lower-cased word and number tokens, stopwords kept: 'GB300 $14.2bn' -> ['gb300', '14.2', 'bn'];
    'U.S. sales' -> ['us', 'sales']."""
    out = []
    for match in _TOKEN.finditer(_US.sub("US", text).lower()):
        token = match.group()
        out.append(normalize_number(token) if token[0].isdigit() else token)
    return out


def terms(text: str) -> list[str]:
    """Stemmed content terms: 'Why is CoreWeave unprofitable?' -> ['coreweav', 'unprofit']."""
    return [t if t[0].isdigit() else stem(t) for t in words(text) if t not in STOPWORDS]


def is_number(term: str) -> bool:
    return term[:1].isdigit()


_CAPITALISED = re.compile(r"\b[A-Z][\w&-]*")


def names(text: str, *, sentence_initial: bool = False) -> set[str]:
    """Stemmed terms of capitalised words: 'Who leads CoreWeave in the US?' -> {'coreweav', 'us'}.

    A capitalised word that opens a sentence is usually not a name, so it is left out
    unless `sentence_initial` asks for the stricter reading.
    """
    out: set[str] = set()
    text = text.strip()
    for match in _CAPITALISED.finditer(text):
        before = text[: match.start()].rstrip()
        if not sentence_initial and (not before or before[-1] in ".?!:"):
            continue
        out.update(terms(match.group()))
    return out


def capitalised_names(text: str) -> list[str]:
    """The capitalised words of a text that do not open a sentence, as written: 'Who leads CoreWeave in the
    US?' -> ['CoreWeave', 'US']."""
    text = text.strip()
    return [m.group() for m in _CAPITALISED.finditer(text)
            if (before := text[: m.start()].rstrip()) and before[-1] not in ".?!:"]


def contains_whole(haystack: str, needle: str) -> bool:
    """`needle` occurs in `haystack` as whole words, and not as a piece of a longer figure.

    Both are compared as given, so callers normalise them first, each in its own way.
    ('capex of 20 billion', '2') -> False; ('14.2 billion', '14') -> False; ('1.5x', '5') -> False
    """
    pattern = r"(?<!\w)(?<!\d[.,])" + re.escape(needle) + r"(?!\w)(?![.,]\d)"
    return re.search(pattern, haystack) is not None


_YEAR = re.compile(r"^(?:FY|fy)?'?(?:19[89]\d|20[0-4]\d)\*?$")


def is_years(text: str) -> bool:
    """A table's column header of periods, not a statement: '(Millions) 2018 2017 2016' -> True;
    'Twelve Months Ended June 30, 2022 Twelve Months Ended June 30, 2023' -> True; 'Sales rose in 2018.' -> False."""
    words = text.split()
    return len(words) <= 16 and sum(bool(_YEAR.match(t)) for t in words) >= 2


RUNNING_WORDS = 10
"""A page's running header or footer is a name, a title, a page number: this many words at most."""


def line_shape(text: str) -> str:
    """A line's shape: lower case, digits as '#', spaces collapsed, so each page's running line has the same one.

    'Pfizer Inc. 2021 Form 10-K  41' -> 'pfizer inc. # form #-k #'
    """
    return re.sub(r"\s+", " ", re.sub(r"\d+", "#", text.lower())).strip()
