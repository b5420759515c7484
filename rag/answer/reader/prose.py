"""The prose reader: a figure a sentence states, when the question asks for an amount no table row holds.

"What was the standard rate of corporation tax in the United Kingdom?" is answered by "... the standard
rate of corporation tax in the UK of 19.0% ...": the sentence that holds the question's line item and
period, and in it the figure whose own words are those of the line item. It states the figure as the
sentence prints it ("$2.5 million", "19.0%") and cites the sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from rag.answer.asked import Asked, label_terms
from rag.answer.reader.base import Read
from rag.chunk import sentence_spans
from rag.numbers import Stated, stated_figures
from rag.types import Hit

MIN_PROSE_MATCH = 0.75
"""How much of the question's line item the sentence, and the words just before the figure, must hold
(averaged) for the figure to be the one asked about."""
# A question that asks for an amount: "how much", "what was the depreciation amount", "what is the hurdle rate".
_WANTS_FIGURE = re.compile(
    r"(?i)^\s*(?:how\s+much|how\s+many|what\s+(?:was|is|were|are)\s+(?:the\s+)?(?:[\w&'’-]+[\s,]+){0,8}?"
    r"(?:amounts?|values?|rates?|numbers?|percentages?|costs?|prices?|balances?|sizes?|levels?|totals?|"
    r"expenses?|revenues?|income|fees?|charges?|payments?|proportions?|ratios?)\b)")
_NEUTRAL = frozenset(label_terms("total net amount value"))
_WINDOW = 90  # characters before a figure that say what it is


def prose_sentences(hits: Sequence[Hit]) -> Iterator[tuple[int, int, int]]:
    """(hit index, start, end in its chunk's text) of each sentence of the hits that is no table row: a
    table's row is read by the table reader."""
    for i, hit in enumerate(hits):
        chunk = hit.chunk
        rows = [(r.start, r.end) for t in chunk.tables for r in t.rows]
        for a, b in sentence_spans(chunk.text):
            if not any(s < chunk.start + b and chunk.start + a < e for s, e in rows):
                yield i, a, b


def held(item: set[str], text: str) -> float:
    """The share of a line item's words (as `label_terms` gives them) a text holds; 0 for no words."""
    return len(item & set(label_terms(text))) / len(item) if item else 0.0


def wants_figure(question: str) -> bool:
    """Whether the question asks for an amount: 'How much was ...', 'What was the depreciation amount ...'."""
    return _WANTS_FIGURE.search(question) is not None


def read_prose(ask: Asked, question: str, hits: Sequence[Hit]) -> Read | None:
    """The figure of the best sentence for a question asking one amount, or None when no sentence surely
    states it (its line item and period not both there, or two figures there fit it alike). A sentence that
    names no period at all may answer a question that names one, when no sentence names it."""
    if ask.operation == "lookup" and len(ask.periods) > 1:
        return _each_period(ask, hits)
    if ask.operation in ("change", "percent_change") and not ask.pair:
        return _changed(ask, hits)
    if ask.operation != "lookup":
        return None
    if not (wants_figure(question) or ask.periods):
        return None
    item = set(ask.item) - _NEUTRAL
    if not item:
        return None
    found = _candidates(ask, item, hits, strict=True) or (_candidates(ask, item, hits, strict=False)
                                                          if ask.periods else [])
    if not found:
        return None
    found.sort(key=lambda c: (-c[0], -c[5]))
    top = found[0]
    if top[0] < MIN_PROSE_MATCH or any(c[0] == top[0] and c[5] == top[5] and c[1] != top[1] for c in found[1:]):
        return None
    return Read(top[1], "span", (), None, sentences=((top[2], top[3], top[4]),))


def _candidates(ask: Asked, item: set[str], hits: Sequence[Hit], strict: bool) -> list[tuple[float, str, int, int,
                                                                                            int, float]]:
    """(score, figure, hit, start, end, clause) of each figure of the sentences that hold the line item: in
    sentences naming the asked period (`strict`), else in sentences naming no year at all. A figure scores by
    how much of the line item the sentence holds and how much the words that name the figure do: those since
    the figure before it, or those an "of" after it joins ("$3.0 million and $1.2 million of accrued
    interest"). Of two figures that score alike, the one whose own clause (since the last comma) names the
    item is the one asked ("the hurdle rate has been set at 7%", not "did not meet the hurdle rate, while
    it grew 21%"). A figure a sentence ties to another year ("$181,000 in 2018", or the other of "X and Y
    ... 2019 and 2018, respectively") is not the asked period's."""
    out = []
    for i, a, b in prose_sentences(hits):
        chunk = hits[i].chunk
        start, end = chunk.start + a, chunk.start + b
        sentence = chunk.text[a:b]
        years = _YEAR.findall(sentence)
        if strict and any(p not in years for p in ask.periods):
            continue
        if not strict and years:
            continue
        share = held(item, sentence)
        if share < MIN_PROSE_MATCH:
            continue
        figures = stated_figures(sentence)
        paired = _respectively(sentence, figures)
        # The sentence's last amounts may be named by the words after them: "$41.9 million has been recorded
        # within Special charges", "$2.7 billion and $2.0 billion, respectively, associated with X". Words after
        # them naming another year than the one asked ("on AI infrastructure in 2025, and expects a similar
        # increase in 2026") may be that year's: they name nothing asked of 2026.
        after = re.split(r"[;:]", sentence[figures[-1].start + len(figures[-1].text):])[0] if figures else ""
        named_after = (set() if ask.periods and any(y not in ask.periods for y in _YEAR.findall(after))
                       else set(label_terms(after)))
        previous = 0
        for n, figure in enumerate(figures):
            if _MONTH_AFTER.match(sentence, figure.start + len(figure.text)):
                continue  # "31 December 2018": a day of a date, not a figure, and part of what follows it
            before = sentence[max(previous, figure.start - _WINDOW): figure.start]
            window = set(label_terms(before))
            previous = figure.start + len(figure.text)
            of = _OF_AFTER.match(sentence, previous)
            if of:
                window |= set(label_terms(of.group("item")))
            elif named_after and _listed_last(sentence, figures, n) and (figure.money or figure.scale or figure.unit):
                window |= named_after
            clause = len(item & set(label_terms(re.split(r"[,;:]", before)[-1]))) / len(item)
            if ask.periods and strict:
                own = paired.get(figure.start) or _year_after(sentence, previous)
                if own is not None and own not in ask.periods:
                    continue
            local = len(item & window) / len(item)
            out.append(((share + local) / 2, _printed(sentence, figure), i, start, end, clause))
    return out


# A verb of change and its preposition, right before the figure it states: "decreased $539 million",
# "increased by 3.7%", "grew 12%", "a decrease of $2.1 million".
_CHANGE_VERB = re.compile(r"(?i)\b(?:increas|decreas|declin|grew|grow|rose|rise|fell|fall|drop|improv|reduc|gain|"
                          r"lower|higher|up|down)\w*\s+(?:(?:by|of|to|approximately|about|some|nearly|almost)\s+)*$")


def _changed(ask: Asked, hits: Sequence[Hit]) -> Read | None:
    """'What was the decrease in Blizzard net bookings for 2019?': the figure a sentence holding the line item
    (and the later period, where one is asked) states right after a verb of change ("decreased $572 million");
    a percentage for a percentage change, an amount for a change. None unless exactly one figure is such."""
    item = set(ask.item) - _NEUTRAL
    if not item:
        return None
    later = ask.periods[:1]
    found: dict[str, tuple[int, int, int]] = {}
    for i, a, b in prose_sentences(hits):
        chunk = hits[i].chunk
        sentence = chunk.text[a:b]
        if later and later[0] not in _YEAR.findall(sentence):
            continue
        if held(item, sentence) < MIN_PROSE_MATCH:
            continue
        for figure in stated_figures(sentence):
            if (figure.unit == "%") != (ask.operation == "percent_change") or figure.unit not in ("%", ""):
                continue
            clause = _YEAR.findall(re.split(r"[,;]", sentence[:figure.start])[-1])
            if later and clause and later[0] not in clause:
                continue  # "while in 2018 it grew approximately 21%": another year's change
            if _CHANGE_VERB.search(sentence[max(0, figure.start - 40): figure.start]):
                found.setdefault(_printed(sentence, figure), (i, chunk.start + a, chunk.start + b))
    if len(found) != 1:
        return None
    ((value, where),) = found.items()
    return Read(value, "span", (), None, sentences=(where,))


def _listed_last(sentence: str, figures: Sequence[Stated], n: int) -> bool:
    """Whether figure n is the sentence's last, or one of those listed with it ("$2.7 billion and $2.0 billion")."""
    return all(_SEPARATOR.fullmatch(sentence[a.start + len(a.text): b.start])
               for a, b in zip(figures[n:], figures[n + 1:], strict=False))


_SEPARATOR = re.compile(r"(?i)\s*(?:,|and|or|,\s*and)?\s*")


def _each_period(ask: Asked, hits: Sequence[Hit]) -> Read | None:
    """'What was the stock-based compensation expense in 2019, 2018 and 2017 respectively?': the figures a
    sentence that holds the line item gives each asked year ("$2.3 million, $2.1 million and $1.9 million
    ... for 2019, 2018 and 2017, respectively"), in the order asked; None unless exactly one such sentence
    (or several giving the same figures) holds them all."""
    item = set(ask.item) - _NEUTRAL
    if not item:
        return None
    found: dict[tuple[str, ...], tuple[int, int, int]] = {}
    for i, a, b in prose_sentences(hits):
        chunk = hits[i].chunk
        sentence = chunk.text[a:b]
        if held(item, sentence) < MIN_PROSE_MATCH:
            continue
        figures = stated_figures(sentence)
        paired = _respectively(sentence, figures)
        years = {year: f for f in figures if (year := paired.get(f.start))}
        if all(p in years for p in ask.periods):
            listed = tuple(_printed(sentence, years[p]) for p in ask.periods)
            found.setdefault(listed, (i, chunk.start + a, chunk.start + b))
    if len(found) != 1:
        return None
    ((listed, where),) = found.items()
    return Read(", ".join(listed), "spans", (), None, items=listed, sentences=(where,))


def _printed(sentence: str, figure: Stated) -> str:
    """The figure as the sentence prints it, with a currency set before it: '£3.5 million', 'RMB77 million'."""
    sign = _CURRENCY_BEFORE.search(sentence, 0, figure.start)
    return (sign.group() if sign else "") + figure.text


_YEAR = re.compile(r"\b((?:19|20)\d\d)\b")
# What an "of" after a figure names, past the figures listed with it: "$3.0 million and $1.2 million of accrued
# interest and penalties at ..." -> "accrued interest and penalties at ...".
_OF_AFTER = re.compile(r"(?i)(?:\s*(?:,|and|or)\s*[$€£]?\s?[\d.,]+\s*(?:%|thousand|million|billion)?)*\s+of\s+"
                       r"(?P<item>[^,;()]{1,60})")
# A currency printed before a figure the figure does not hold: "£", "RMB", "INR", "US" of "US$".
_CURRENCY_BEFORE = re.compile(r"(?:[£€¥]|\b(?:RMB|INR|HK|US|A|C|S|NZ|EUR|GBP|USD|CHF|JPY|SEK))$")
_MONTH_AFTER = re.compile(r"(?i)\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\b")
_YEAR_AFTER = re.compile(r"^\W{0,3}(?:\w+\W+){0,2}?(?:in|for|at|of|during)\s+(?:fiscal\s+)?((?:19|20)\d\d)\b")


def _year_after(sentence: str, end: int) -> str | None:
    """The year a figure is tied to by the words right after it: '$181,000 in 2018' -> '2018'."""
    match = _YEAR_AFTER.match(sentence[end: end + 30])
    return match.group(1) if match else None


def _respectively(sentence: str, figures: Sequence[Stated]) -> dict[int, str]:
    """Figure start -> its year in 'X and Y ... in 2019 and 2018, respectively' (or with the years named before
    the figures): of the figures before "respectively", the last as many as there are years, the k-th the
    k-th year's."""
    if "respectively" not in sentence.lower():
        return {}
    money = [f for f in figures if f.start < sentence.lower().index("respectively")]
    years = _YEAR.findall(sentence[figures[-1].start:]) if figures else []
    if len(years) < 2 and money:  # "For the years ended December 31, 2019 and 2018, ... $2.7 billion and $2.0 billion"
        years = _YEAR.findall(sentence[:money[0].start])
    if len(years) < 2 or len(money) < len(years):
        return {}
    return {f.start: y for f, y in zip(money[-len(years):], years, strict=True)}  # the figures listed last
