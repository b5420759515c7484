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

from rag.numbers import SCALES, YEAR, dates_named, parse_figure, periods_named, quarters_named
from rag.text import stem, words

Operation = Literal["lookup", "change", "percent_change", "average", "sum", "ratio", "percent_of", "compare",
                    "count", "columns", "difference", "components", "pick"]

_PERCENT_CHANGE = re.compile(r"(?i)(?<!absolute\s)(?:\bpercent(?:age)?|%)\s+(?:change|increase|decrease|decline|growth|"
                             r"rise|drop)\b|\bgrowth\s+rate\b|\bby\s+what\s+percent(?:age)?\b|"
                             r"\bchange\s+in\s+percent(?:age)?\b(?!\s+of)|\bchange\s*\(%\)|"
                             r"\bchange\b.*\bin\s+(?:units\s+of\s+)?percents?\b")
_CHANGE = re.compile(r"(?i)\b(?:change|increase|decrease|decline|difference|growth|rise|drop|movement|variance)\b")
_AVERAGE = re.compile(r"(?i)(?<!weighted )(?<!weighted-)\b(?:average|mean)\b")  # "weighted average X" names X
_SUM = re.compile(r"(?i)\b(?:sum|total|combined|altogether|in\s+total|aggregate)\b")
_SUM_STRONG = re.compile(r"(?i)\b(?:sum\s+of|combined|altogether|in\s+total|add(?:ed)?\s+up)\b")
_PERCENT_OF = re.compile(r"(?i)\b(?:what\s+percent(?:age)?|percentage\s+(?:of|constitution)|proportion|"
                         r"as\s+a\s+percent(?:age)?|share\s+of|portion\s+of)\b")
_RATIO = re.compile(r"(?i)\bratio\b")
_PROPORTION = re.compile(r"(?i)\bproportion\b")
_PERCENT_WORD = re.compile(r"(?i)\bpercent|%")
_COMPARE = re.compile(r"(?i)\b(?:which|what)\s+(?:year|period|quarter|month)s?\b.*?\b(?:highest|largest|lowest|"
                      r"smallest|greatest|most|least|higher|larger|lower|smaller|greater|more|less|biggest|"
                      r"maximum|minimum|exceed(?:ed|s)?|above|below|under)\b|\b(?:in\s+which\s+year|which\s+year)\b")
_COUNT = re.compile(r"(?i)\bhow\s+many\s+(?:of\s+the\s+)?(?:years?|periods?|quarters?|items?|segments?|categories|"
                    r"types|components)\b(?!.*\b(?:ago|old|long)\b)")
_COLUMNS = re.compile(r"(?i)\bwhich\s+(?:years?|periods?)\s+(?:does|do|is|are)\s+the\s+table\b|\b(?:years?|periods?)\s+"
                      r"(?:does|do)\s+the\s+table\s+(?:provide|show|cover|present|include)|"
                      r"\b(?:what|which)\s+(?:are\s+the\s+)?(?:years?|periods?)\s+(?:are\s+)?(?:included|shown|"
                      r"covered|presented)\s+in\s+the\s+table\b")
# "In which segment was X the largest?", "Which component contributed the most to total revenue?": a row's label,
# picked by its figure.
_PICK_ROW = re.compile(r"(?i)\b(?:which|what)\s+(?!years?\b|periods?\b|quarters?\b|months?\b)([a-z]+)\b.*\b(?:highest|"
                       r"largest|lowest|smallest|greatest|most|least|biggest|maximum|minimum)\b")
# A sentence that asks: up to its "?", from the end of the sentence before it; a point between digits ("2.0%")
# or after an abbreviation's letter ("U.S.") ends no sentence.
_ASKED_SENTENCE = re.compile(r"(?:[^.?!]|(?<=\d)\.(?=\d)|(?<=\b[A-Za-z])\.(?=[A-Za-z]\.|\s*[a-z]))*\?")


def focus(question: str) -> str:
    """The question inside a request, as a table row is named by it: its sentences that ask (end with '?'),
    after any lead-in colon (`asking` keeps the premises too, for the evidence asked of passages).

    'Answer using the balance sheet: what is the FY2018 net PPNE for 3M? Answer in USD billions.' ->
    ' what is the FY2018 net PPNE for 3M?'; a question with no '?' is taken whole.
    """
    asking = _ASKED_SENTENCE.findall(question)
    if not asking:
        return question
    return " ".join(sentence.rsplit(":", 1)[-1] for sentence in asking)


_SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-Z])")
# What marks an instruction to the answerer rather than a premise of the question.
_ADDRESSED = re.compile(r"(?i)\b(?:you|your|please|answers?|questions?|response|solution)\b")


def asking(request: str) -> str:
    """A request without its instructions to the answerer: a sentence that is not a question and addresses the
    reader or speaks of the answer or the question ("Assume that you are an analyst.", "Round your answer to
    two decimal places.") is left out; the question sentences and the premises are kept whole.

    'Assume that you are an analyst. What is 3M's net PPNE? Answer in USD billions.' -> "What is 3M's net PPNE?"
    """
    sentences = _SENTENCE_END.split(request.strip())
    return " ".join(s for s in sentences if s.rstrip().endswith("?") or not _ADDRESSED.search(s))


# "the respective X of A and B", "X in 2019 and 2018, respectively": each one's figure, in the order named.
RESPECTIVE = re.compile(r"(?i)\brespective(?:ly)?\b")
# "In which years was X recorded?": the periods a row has figures for (plural, and no comparison asked).
_YEARS_LISTED = re.compile(r"(?i)\b(?:in\s+)?(?:which|what)\s+years\b")
# "Which financial years' information is shown in the table?", "What are the years that information regarding
# X is made available?": the periods a table gives.
_YEARS_SHOWN = re.compile(r"(?i)^\s*(?:what|which)\b[^?]*\b(?:years?|periods?)(?:'|’)?\s+(?:(?!\d)[^?])*\b(?:shown|"
                          r"included|covered|presented|provided|available|listed|reported|disclosed)\b")
_LOW = re.compile(r"(?i)\b(?:lowest|smallest|least|lower|smaller|fewer|less|minimum|below|under)\b")
# "What are the components of total revenue?", "What items does X consist of?", "How many components are there
# under X?": the rows a table lists under a line item; "Which countries are shown in the table?": its rows.
_COMPONENTS = re.compile(r"(?i)^\s*(?:what|which)\s+(?:are|were)\b.*\b(?:components|items|elements|constituents|"
                         r"types|segments)\b|\b(?:consists?\s+of|comprises?|made\s+up\s+of)\b|"
                         r"^\s*how\s+many\s+(?:components|items|elements|types|segments)\b|"
                         r"^\s*(?:what|which)\b.*\b(?:listed|shown|included|presented)\s+in\s+the\s+table\b")
HIGH = re.compile(r"(?i)\b(?:highest|largest|greatest|most|higher|larger|greater|more|biggest|maximum|exceed\w*|"
                  r"above|over|more\s+than)\b")
_WHY = re.compile(r"(?i)^\s*(?:why|how\s+(?:did|does|do|is|was|were|will|would|can|could)\b(?!\s+much|\s+many))|"
                  r"\b(?:reasons?|explain|what\s+(?:caused|drove|drives|led\s+to))\b")
_FROM_TO = re.compile(r"(?i)\bfrom\s+(?:fy|fiscal\s+)?'?((?:19|20)\d\d)\b.*?\bto\s+"
                      r"(?:fy|fiscal\s+)?'?((?:19|20)\d\d)\b")
_IN_FROM = re.compile(r"(?i)\b(?:in|for)\s+(?:fy|fiscal\s+)?'?((?:19|20)\d\d)\b.*?\b(?:from|compared\s+(?:to|with)|"
                      r"over|against|relative\s+to|vs\.?)\s+(?:fy|fiscal\s+)?'?((?:19|20)\d\d)\b")
# Words that never tell one row label from another; "other", "not", "after" do ("Other revenue").
_FUNCTION = frozenset("a an the of and in for to from on at as by or with its their our is are was were".split())
@lru_cache(maxsize=16384)
def label_terms(text: str) -> tuple[str, ...]:
    """A row label's or a question's words as a reader compares them: stemmed, function words and footnote
    marks and a possessive's "s" left out, number words as digits, "non-" joined to its word, but words BM25
    drops as stopwords kept. 'Other revenues (1)' -> ('other', 'revenu').
    Cached: the same labels, titles and headers are compared with every question asked of their table."""
    text = _NUMBER_WORD.sub(lambda m: _NUMBER_WORDS[m.group().lower()], _NON.sub("non", _FOOTNOTE.sub(" ", text)))
    return tuple(w if w[0].isdigit() else stem(w) for w in words(text) if w not in _FUNCTION and w != "s")


# "Less than one year" is the column "Less Than 1 Year".
_NUMBER_WORDS = {w: str(n) for n, w in enumerate("zero one two three four five six seven eight nine ten".split())}
_NUMBER_WORD = re.compile(r"(?i)\b(?:" + "|".join(_NUMBER_WORDS) + r")\b")
# "Non-current" is one word, as "noncurrent" is: its "non" negates the word it is joined to ("non-USD
# denominated current assets" are current assets, not non-current ones).
_NON = re.compile(r"(?i)\bnon-\s?(?=[a-z])")
_FOOTNOTE = re.compile(r"\(\s*(?:\d{1,2}|[a-z]|[ivx]{1,4})\s*\)|(?<=[A-Za-z]{3})\d{1,2}\b|\*+")


# Words of the question that say what is asked, not which row: they are left out of the row's words.
ASKING = frozenset(label_terms(
    "what which how much many is was were are the amount value figure number sum average mean change "
    "increase decrease decline difference growth rise drop percentage percent proportion ratio rate share "
    "between from to in for of and year years fiscal period respectively both combined altogether compared "
    "reported company group table highest lowest largest smallest greatest year-on-year absolute net "
    "during ended ending as at end dollars usd million millions thousand thousands billion billions "
    "respective did does do portion over out across component components item items element elements consist "
    "consists comprise comprises made up breakdown under there listed list higher lower larger smaller greater "
    "more less most least biggest maximum minimum"))


@dataclass(frozen=True)
class Asked:
    """The operation a question asks of a table, the periods it names in the order it relates them
    (for a change: the later period first), and the terms that name what it asks about."""

    operation: Operation
    periods: tuple[str, ...]
    item: tuple[str, ...]
    # Every word of the question but its periods, as `label_terms` gives them: a row's words are looked for here.
    words: tuple[str, ...] = ()
    # Two line items the operation relates ("the ratio of A to B", "A as a percentage of B"): their words.
    pair: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    high: bool = True  # compare/count: the largest (or above a bound), else the smallest
    bound: float | None = None  # count: the figure compared with ("more than $200,000 thousand"), in units
    why: bool = False
    # change/difference of averages ("the change between 2018 and 2019 average free cash flow", "the difference
    # between the average investment income and average financing costs"): each side a year's average (the
    # year's figure and the year before's) or the average over the periods asked.
    averaged: bool = False
    # The quarters a question relates within a year, named without one ("between the third quarter and fourth
    # quarter", "the average quarterly low price in 2018": all four): for a change the later first.
    quarters: tuple[int, ...] = ()
    # change/difference between two dates ("between June 30 and December 31, 2019"), as (year, month, day):
    # for a change the later first, for a difference the first named first.
    dates: tuple[tuple[int, int, int], ...] = ()
    # ratio/percent_of: the two line items the first side joins with "and", when it does ("the percentage of
    # land and leasehold improvements over the gross cost"): a share of their sum, if each names a row.
    parts: tuple[tuple[str, ...], ...] = ()


@lru_cache(maxsize=1024)
def asked(question: str) -> Asked:
    """What the question asks of a table.

    'What is the change in Other in 2019 from 2018?' -> Asked('change', ('2019', '2018'), ('other',));
    'What is the average investment income between 2018 and 2019?' -> Asked('average', ('2018', '2019'),
    ('invest', 'incom'))
    """
    periods = periods_named(question)
    operation: Operation = "lookup"
    if (_COLUMNS.search(question) or _YEARS_LISTED.search(question) or _YEARS_SHOWN.search(question)) \
            and not HIGH.search(question) and not _LOW.search(question):
        operation = "columns"
    elif _COMPONENTS.search(question):
        operation = "components"
    elif _COUNT.search(question):
        operation = "count"
    elif _COMPARE.search(question) and len(periods) != 1:
        operation = "compare"
    elif _PICK_ROW.search(question):
        operation = "pick"
    elif _PERCENT_CHANGE.search(question):
        operation = "percent_change"
    elif _AVERAGE.search(question):
        operation = "average"
    elif _PERCENT_OF.search(question):
        operation = "percent_of"
    elif _RATIO.search(question):
        operation = "ratio"
    elif _CHANGE.search(question) and (len(periods) != 1 or re.search(r"(?i)\bchange\b", question)):
        operation = "change"
    elif _SUM_STRONG.search(question) or (_SUM.search(question) and len(periods) >= 2
                                          and re.search(r"(?i)\b(?:and|between|from|to)\b", question)):
        operation = "sum"
    averaged = operation == "average" and bool(_CHANGE.search(question))
    if averaged:  # a change or a difference whose sides are averages
        operation = "change"
    if operation == "sum" and RESPECTIVE.search(question) and not _SUM_STRONG.search(question):
        operation = "lookup"  # "the total X in 2019 and 2018 respectively": each year's figure
    quarters = quarters_named(question)
    if operation in ("change", "percent_change") and len(quarters) >= 2:
        quarters = tuple(sorted(quarters, reverse=True))  # "between the second and first quarter": Q2 less Q1
    elif operation in ("change", "percent_change") and len(periods) >= 2:
        periods = _later_first(question, periods)
    elif operation in ("change", "percent_change") and len(periods) == 1:
        periods = [periods[0], str(int(periods[0]) - 1)]  # "the change in X in 2019": from 2018
    # The row is named by what is left once the question's asking words and periods are gone; of a request
    # that wraps the question in instructions, only the question itself ("...: what is X for 3M?").
    text = YEAR.sub(" ", focus(question))
    item = tuple(t for t in dict.fromkeys(label_terms(text)) if t not in ASKING)
    pair = None
    if operation in ("ratio", "percent_of", "sum", "change", "lookup"):
        pair = _pair(text, operation)
        if pair is not None and operation in ("change", "lookup"):
            operation = "difference" if operation == "change" or re.search(r"(?i)\bdifference\b", text) else operation
            pair = pair if operation == "difference" else None
    if pair is None and operation in ("lookup", "percent_of") and len(periods) <= 1 and RESPECTIVE.search(text):
        # "the respective X of A and B": each one's figure, in the order named
        halves = re.split(r"(?i)\s+and\s+", text, maxsplit=1)
        if len(halves) == 2:
            a, b = (tuple(t for t in dict.fromkeys(label_terms(h)) if t not in ASKING) for h in halves)
            if a and b:
                operation, pair = "lookup", (a, b)
    if operation == "lookup" and pair is None and re.search(r"(?i)\bdifference\b", question):
        operation = "difference"  # two figures' difference, whose two sides the question does not tell apart
    bound = None
    if operation in ("count", "compare"):
        match = _BOUND.search(question)
        if match:
            figure = parse_figure(match.group("figure"))
            scale = SCALES.get((match.group("scale") or "").lower(), 1.0)
            bound = figure * scale if figure is not None else None
            text = text.replace(match.group(0), " ")
    item = tuple(t for t in dict.fromkeys(label_terms(text)) if t not in ASKING)
    if quarters:  # "the second and first quarter" name columns or rows of quarters, not the line item
        item = tuple(t for t in item if t not in _QUARTER_TERMS)
    dates: tuple[tuple[int, int, int], ...] = ()
    if operation in ("change", "percent_change", "difference") and pair is None:
        named = [(y, m, d) for y, m, d in dict.fromkeys(dates_named(focus(question))) if y is not None]
        if len(named) == 2:
            dates = tuple(named) if operation == "difference" else tuple(sorted(named, reverse=True))
    elif operation == "lookup" and RESPECTIVE.search(question):
        # "the respective cash amount at June 30 and December 31, 2019": each date's figure, in the order named
        named = [(y, m, d) for y, m, d in dict.fromkeys(dates_named(focus(question))) if y is not None]
        if len(named) == 2:
            dates, pair = tuple(named), None
            item = tuple(t for t in item if t not in _DATE_TERMS)
    parts = _parts(text, operation, pair)
    if operation == "percent_of" and _PROPORTION.search(question) and not _PERCENT_WORD.search(question):
        operation = "ratio"  # "X as a proportion of Y" is a fraction (0.95); a percentage is asked in its words
    return Asked(operation, tuple(periods), item, tuple(dict.fromkeys(label_terms(text))), pair,
                 high=bool(HIGH.search(question)), why=bool(_WHY.search(question)), bound=bound, dates=dates,
                 averaged=averaged, quarters=quarters, parts=parts)


_DATE_TERMS = frozenset(label_terms("january february march april may june july august september october november "
                                    "december " + " ".join(str(d) for d in range(1, 32))))
_QUARTER_TERMS = frozenset(label_terms("first second third fourth 1st 2nd 3rd 4th q1 q2 q3 q4 quarter quarters "
                                       "quarterly each chronological order"))


# The bound a count compares with: "exceed $200,000 thousand", "more than 5 million", "below 100".
_BOUND = re.compile(r"(?i)\b(?:exceed(?:ed|s)?|more\s+than|greater\s+than|above|over|higher\s+than|less\s+than|"
                    r"below|under|lower\s+than|fewer\s+than)\s+(?P<figure>[$€£]?\s?[\d,]+(?:\.\d+)?)\s*"
                    r"(?P<scale>thousands?|millions?|billions?|k|m|bn)?\b")


# How a question joins the two line items of a ratio, a share or a difference: "of A to B", "A as a
# percentage of B", "A in B", "A over B", "between A and B".
_SPLITS = {
    "ratio": re.compile(r"(?i)\bratio\s+(?:of|between)\s+(?P<a>.+?)\s+(?:to|and|over|against|versus|vs\.?)\s+"
                        r"(?P<b>.+)"),
    "percent_of": re.compile(r"(?i)(?:percent(?:age)?|proportion|share|portion)\s+(?:of\s+)?(?P<a>.+?)\s+(?:in|of|to|"
                             r"over|out\s+of|from|within|among|relative\s+to|compared\s+to|as\s+a\s+percent(?:age)?\s+of)"
                             r"\s+(?:the\s+)?(?P<b>(?:total|overall|all|net|gross|combined)\b.+)"),
    "difference": re.compile(r"(?i)\bdifference\s+(?:in\s+\w+\s+)?between\s+(?:the\s+)?(?P<a>.+?)\s+and\s+"
                             r"(?:the\s+)?(?P<b>.+)|\bdifference\s+in\s+(?:the\s+)?(?P<a2>\w+)\s+and\s+(?P<b2>\w+)\s+"),
    "sum": re.compile(r"(?i)\b(?:sum|total)\s+of\s+(?:the\s+)?(?P<a>.+?)\s+and\s+(?:the\s+)?(?P<b>.+)"),
}
_AS_PERCENT = re.compile(r"(?i)(?P<a>.+?)\s+(?:expressed\s+)?as\s+a\s+(?:percent(?:age)?|proportion|share)\s+of\s+"
                         r"(?:the\s+)?(?P<b>.+)")


# "What percentage of the total unrealized gain is generated from U.S. government obligations?": the whole
# first, then what part of it ("from", "accounted for by", "attributable to" the part).
_OF_TOTAL = re.compile(r"(?i)\bpercent(?:age)?\s+of\s+(?:the\s+)?(?P<b>(?:total|overall|all)\b.+?)\s+"
                       r"(?:is|was|were|are)\s+(?:\w+\s+){0,2}?(?:from|by|to|in|for|using)\s+(?:the\s+)?(?P<a>.+)")
# "the percentage constitution of Depreciation and Amortisation in EBITDA": a part in a whole, whatever its name.
_CONSTITUTION = re.compile(r"(?i)\bpercent(?:age)?\s+(?:of\s+)?constitution\s+of\s+(?:the\s+)?(?P<a>.+?)\s+(?:in|among|"
                           r"of|within)\s+(?:the\s+)?(?P<b>.+)")
# "the percentage of sales represented by gross profit": the whole named first, the part after "by".
_REPRESENTED = re.compile(r"(?i)\bpercent(?:age)?\s+of\s+(?:the\s+)?(?P<b>.+?)\s+(?:represented|accounted\s+for|"
                          r"made\s+up|contributed|generated)\s+by\s+(?:the\s+)?(?P<a>.+)")
# "the liability to asset ratio": a ratio named by its two sides.
_NAMED_RATIO = re.compile(r"(?i)\b(?:the\s+)?(?P<a>[\w-]+(?:\s+[\w-]+)?)\s+to\s+(?P<b>[\w-]+(?:\s+[\w-]+)?)\s+ratio\b")


def period_pair(question: str, operation: str) -> tuple[str, str] | None:
    """The two periods a share or a ratio relates, one on each side of it, when its two sides name the same
    line item ('the 2019 closing balance as a percentage of the 2018 closing balance' -> ('2019', '2018'));
    None when a side names no period, or both the same one."""
    if operation not in ("ratio", "percent_of"):
        return None
    match = _sides(focus(question), operation)
    if match is None:
        return None
    sides = [periods_named(match.group(g)) for g in ("a", "b")]
    if any(len(side) != 1 for side in sides) or sides[0] == sides[1]:
        return None
    return sides[0][0], sides[1][0]


def _sides(text: str, operation: str) -> re.Match[str] | None:
    """Where the question names the two sides an operation relates ("of A to B", "A as a percentage of B",
    "between A and B"), or None; a change or a lookup is read as a difference."""
    pattern = _SPLITS["difference" if operation in ("change", "lookup") else operation]
    found = pattern.search(text)
    if found is None and operation == "percent_of":
        found = _AS_PERCENT.search(text) or _OF_TOTAL.search(text) or _CONSTITUTION.search(text) or \
            _REPRESENTED.search(text)
    if found is None and operation == "ratio":
        found = _NAMED_RATIO.search(text)
    return found


def _pair(text: str, operation: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The words of the two line items a two-row operation relates, or None when the question names one."""
    match = _sides(text, operation)
    if match is None:
        return None
    groups = ("a", "b") if match.group("a") is not None else ("a2", "b2")  # "the high and low prices": two words
    a, b = (tuple(t for t in dict.fromkeys(label_terms(match.group(g))) if t not in ASKING) for g in groups)
    return (a, b) if a and b and a != b else None


def _parts(text: str, operation: str, pair: tuple[tuple[str, ...], tuple[str, ...]] | None
           ) -> tuple[tuple[str, ...], ...]:
    """The words of the two line items a share's or a ratio's first side, or a sum or an average, joins with
    "and" ("revenue from Taiwan and Japan" -> ('revenu', 'taiwan'), ('japan',)), or () when it joins none (the
    "and" of two periods joins no words: the periods are out of `text`)."""
    if operation in ("ratio", "percent_of") and pair is not None:
        match = _sides(text, operation)
        if match is None or match.group("a") is None:
            return ()
        joined = match.group("a")
    elif operation in ("sum", "average") and pair is None:
        joined = text
    else:
        return ()
    halves = re.split(r"(?i)\s+and\s+", joined)
    if len(halves) != 2:
        return ()
    terms = tuple(tuple(t for t in dict.fromkeys(label_terms(h)) if t not in ASKING) for h in halves)
    return terms if all(terms) else ()


def _later_first(question: str, periods: list[str]) -> list[str]:
    """The periods of a change, the one it changes to first: 'from 2018 to 2019' and 'in 2019 from 2018' ->
    ['2019', '2018']; 'between 2018 and 2019' -> ['2019', '2018'] (a change runs forward in time)."""
    for pattern, later in ((_FROM_TO, 2), (_IN_FROM, 1)):
        match = pattern.search(question)
        if match:  # each side's period as named there: "in 2018/2019 from 2017/2018" -> ['2019', '2018']
            new, old = (periods_named(question[match.start(g):])[0] for g in (later, 3 - later))
            return [new, old]
    if re.search(r"(?i)\bdifference\b", question):
        return periods[:2]  # "the difference between 2019 and 2018": the first named less the second
    return sorted(periods[:2], reverse=True)
