"""Figures a generated sentence computes, checked as arithmetic over the figures of its passages.

Analysts ask for margins, growth rates and ratios that filings never print: "the Meta agreement is
about 63% of the OpenAI contract value" is right when the passages hold 14.2 and 22.4, and wrong
as "about 48%". A number of the sentence that its passages do not print is accepted only when one
step over two of their figures yields it at the precision the sentence prints it: a difference, a
sum, a ratio or multiple, a share, a percentage change, a percentage-point change, or the same
figure restated at another scale (1,577 in a table "in millions" is "$1.58 billion").

One step over any two of a page's hundred figures would match almost any number, so the operands
must be the sentence's own: figures it restates when it restates any, else figures whose row label
or clause shares a word with it; figures of the years it names when their column says their year;
and for a change, the earlier figure is the base and the direction it states ("rose", "fell") must
be the sign of the result. Figures it prints are held to their scale and period too: "$1,577
billion" is not a table's 1,577 "in millions", nor "2018's 1,373" its 2017 column.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rag.answer.calculation import row_cells, table_unit
from rag.retrieve.route import periods_in
from rag.text import is_years, stem, terms

SCALES = {"thousand": 1e3, "thousands": 1e3, "k": 1e3, "million": 1e6, "millions": 1e6, "mn": 1e6, "m": 1e6,
          "billion": 1e9, "billions": 1e9, "bn": 1e9, "b": 1e9, "trillion": 1e12}

# A figure as a sentence writes it: "-$14.2 billion", "63%", "9.6 percentage points", "2.3x", "1,577".
_NUMBER = re.compile(
    r"(?<![\w.,\-−–])(?P<sign>[-−–])?(?P<cur>\$\s?)?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?![\d]|[.,]\d|[-−–]?[A-Za-z]\w*-?[A-Za-z]|[-−–][A-Za-z])"
    r"(?:\s?(?P<unit>%|percent\b|percentage\s+points?\b|pp\b|points?\b|x\b|times\b))?"
    r"(?:\s?(?P<scale>thousands?|millions?|billions?|trillion|bn|mn|[kmb])\b)?", re.I)
_FISCAL = re.compile(r"(?i)\b(?:fy|fiscal(?:\s+year)?)\s*'?$")
_INCREASE = frozenset(stem(w) for w in "increase increased increases rose rise rises risen grew grow grows growth up "
                                       "higher gain gained expanded widened climbed jumped improved".split())
_DECREASE = frozenset(stem(w) for w in "decrease decreased decreases fell fall falls declined decline declines drop "
                                       "dropped down lower reduced reduction shrank narrowed".split())
# Words too common in statements to tie a figure to a sentence.
_GENERIC = frozenset(stem(w) for w in "total net year years fiscal compared million billion thousand percent "
                                      "percentage point points amount figure ended end of period quarter".split()) \
    | _INCREASE | _DECREASE


@dataclass(frozen=True)
class Figure:
    """A figure of a passage: its value (negative in parentheses), its unit ('%' or ''), its scale
    in units (1e6 for a table 'in millions'; None when unknown), the words that say what it is, and
    the year of its column when the table's header says."""

    text: str
    value: float
    unit: str
    scale: float | None
    label: frozenset[str]
    year: int | None
    line: tuple[int, int, int] | None = None  # (passage, start, end) of its line; None in a context


@dataclass(frozen=True)
class Stated:
    """A figure of the sentence: as printed, its value, its unit ('%', 'pp', 'x' or ''), its scale
    word's size (None if it names none), its decimals, and whether it is money ($)."""

    text: str
    value: float
    unit: str
    scale: float | None
    decimals: int
    money: bool
    start: int


@dataclass(frozen=True)
class Derivation:
    """How a number of the sentence follows from its passages: '63%' from '14.2 / 22.4 = 63.39%'."""

    number: str
    expression: str
    lines: tuple[tuple[int, int, int], ...] = ()  # (passage, start, end) of each operand's line

    def __str__(self) -> str:
        return f"{self.number}: {self.expression}"


@dataclass(frozen=True)
class Arithmetic:
    """The verdict on a sentence's figures: the derivation of each it computes, or why not."""

    derivations: tuple[Derivation, ...] = ()
    reason: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason


def stated_figures(sentence: str) -> list[Stated]:
    """The figures a sentence states, years left out.

    'Capex rose 14.9% to $1.58 billion in FY2018.' -> [Stated('14.9%', 14.9, '%', ...), Stated('$1.58 billion',
    1.58, '', 1e9, 2, True, ...)]
    """
    out = []
    for m in _NUMBER.finditer(sentence):
        number, unit_word, scale_word = m.group("num"), (m.group("unit") or "").lower(), m.group("scale")
        value = float(number.replace(",", ""))
        is_year = (not m.group("cur") and not unit_word and not scale_word and "," not in number and "." not in number
                   and 1900 <= value <= 2100)
        if is_year or _FISCAL.search(sentence[: m.start()]):
            continue
        if scale_word and len(scale_word) == 1 and not m.group("cur"):
            continue  # "3M" is a name, "$12m" is money
        unit = {"%": "%", "percent": "%", "x": "x", "times": "x"}.get(unit_word, "pp" if unit_word else "")
        if unit == "pp" and unit_word.startswith("point") and "percentage" not in sentence[m.start() - 12:m.start()]:
            unit = "pp"  # "up 2.1 points" is a percentage-point move in a sentence about margins
        sign = -1.0 if m.group("sign") else 1.0
        decimals = len(number.partition(".")[2])
        out.append(Stated(m.group().strip(), sign * value, unit, SCALES.get(scale_word.lower()) if scale_word else None,
                          decimals, bool(m.group("cur")), m.start()))
    return out


def passage_figures(passage: str, context: str = "", index: int = 0) -> list[Figure]:
    """The figures of passage number `index`: table cells with their row's label, their column's year and
    the table's scale; figures in prose with the words of their clause and the scale word after them."""
    out: list[Figure] = []
    header: list[int] = []
    unit: str | None = None
    # The context names the document and the table; only its caption's scale and years are read from it.
    lines: list[tuple[str, tuple[int, int, int] | None]] = [
        (c, None) for c in context.splitlines() if is_years(c) or table_unit(c)]
    offset = 0
    for text in passage.split("\n"):
        lines.append((text, (index, offset, offset + len(text))))
        offset += len(text) + 1
    for line, where in lines:
        unit = table_unit(line) or unit
        if is_years(line):
            header = [int(y) for y in re.findall(r"(?:19|20)\d\d", line)][-len(line.split()):]
            header = [y for y in header if 1900 <= y <= 2100]
            continue
        label, cells = row_cells(line)
        if cells and re.search(r"[A-Za-z]{2}", label) and not _prose(label):
            words = frozenset(terms(label)) - _GENERIC
            scale = None if "per share" in label.lower() else SCALES.get(unit or "")
            years: list[int | None] = list(header) if len(header) == len(cells) else [None] * len(cells)
            for (token, value), year in zip(cells, years, strict=True):
                pct = token.endswith("%") or f"{token} %" in line  # "Gross margin 32.1 % 35.4 %"
                out.append(Figure(token, value, "%" if pct else "", None if pct else scale, words, year, where))
            continue
        if where is not None:
            out.extend(_prose_figures(line, where))
    return out


def _prose(label: str) -> bool:
    """A sentence that happens to end in a figure, not a row label: it has a verb's full stop inside."""
    return len(label.split()) > 14 or ". " in label


def _prose_figures(line: str, where: tuple[int, int, int]) -> Iterator[Figure]:
    for s in stated_figures(line):
        before = terms(line[max(0, s.start - 90): s.start])[-8:]
        after = terms(line[s.start + len(s.text): s.start + len(s.text) + 40])[:3]
        percent = s.unit in ("%", "pp")
        # "$2.9 to $3.4 billion": a dollar figure without its own scale word has none we can be sure of.
        yield Figure(s.text, s.value, "%" if percent else "", None if percent else s.scale,
                     frozenset(before + after) - _GENERIC, None, where)


_SCALE_NAMES = {1e3: "thousand", 1e6: "million", 1e9: "billion", 1e12: "trillion"}


def _shown(f: Figure) -> str:
    """An operand as the derivation writes it: its magnitude as printed, '(1,577)' -> '1,577'."""
    return f.text.strip("()-−– ")


def _magnitude(f: Figure) -> float:
    return abs(f.value) * (f.scale or 1.0)


def _same_kind(a: Figure, b: Figure) -> bool:
    """Two figures that may be combined: both percentages, or both amounts of known scale (or both
    of unknown scale, as printed side by side)."""
    return (a.unit == "%") == (b.unit == "%") and (a.scale is None) == (b.scale is None)


def _show(value: float) -> str:
    """3115.1 -> '3,115.1'; 0.63393 -> '0.6339'; 1577.0 -> '1,577'."""
    if value == int(value) and abs(value) >= 1:
        return f"{value:,.0f}"
    return f"{value:,.4f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:,.2f}".rstrip("0").rstrip(".")


def _matches(result: float, stated: Stated) -> bool:
    """Within the rounding of what the sentence prints: 63 accepts 63.4 (and 62.5), not 61 or 63.6."""
    return abs(abs(result) - abs(stated.value)) <= 0.5 * 10 ** -stated.decimals + 1e-9 * max(1.0, abs(result))


def _direction(sentence: str) -> int:
    """+1 if the sentence says a figure rose, -1 if it fell, 0 if it says neither or both."""
    stems = set(terms(sentence))
    up, down = bool(stems & _INCREASE), bool(stems & _DECREASE)
    return 0 if up == down else (1 if up else -1)


# What one step does with two figures: kinds that compare a later figure with an earlier one, and
# kinds that combine two figures of one period.
_CHANGES = frozenset({"change", "difference", "points"})


@dataclass(frozen=True)
class _Candidate:
    kind: str  # "share", "ratio", "sum", "difference", "change", "points" or "restated"
    value: float  # in the stated figure's terms: its scale, percent, or plain
    expression: str


def _candidates(stated: Stated, a: Figure, b: Figure) -> Iterator[_Candidate]:
    """Every one-step result over (a, b), a first, that could be the stated figure, in its terms."""
    if not _same_kind(a, b):
        return
    if stated.unit == "pp":
        if a.unit == "%":
            points = a.value - b.value
            yield _Candidate("points", points, f"{a.text} - {b.text} = {_show(points)} points")
        return
    if a.unit == "%":
        return
    x, y = _magnitude(a), _magnitude(b)
    if y == 0:
        return
    if stated.unit == "%":
        yield _Candidate("share", 100 * x / y, f"{_shown(a)} / {_shown(b)} = {_show(100 * x / y)}%")
        if (a.value < 0) == (b.value < 0):  # a change from a profit to a loss has no percentage that reads right
            change = 100 * (x - y) / y
            yield _Candidate("change", change, f"({_shown(a)} - {_shown(b)}) / {_shown(b)} = {_show(change)}%")
        return
    if stated.unit == "x" or (stated.scale is None and not stated.money and stated.decimals > 0):
        yield _Candidate("ratio", x / y, f"{_shown(a)} / {_shown(b)} = {_show(x / y)}")
        if stated.unit == "x":
            return
    if stated.scale is None and not stated.money:
        if a.scale == b.scale:  # printed side by side at one scale, and so stated
            x, y = abs(a.value), abs(b.value)
            yield _Candidate("sum", x + y, f"{_shown(a)} + {_shown(b)} = {_show(x + y)}")
            yield _Candidate("difference", x - y, f"{_shown(a)} - {_shown(b)} = {_show(x - y)}")
        return
    if a.scale is None:
        return  # "$" or "billion" against figures of unknown scale: the scale cannot be checked
    scale = stated.scale or 1.0
    yield _Candidate("sum", (x + y) / scale, f"{_shown(a)} + {_shown(b)} = {_show((x + y) / scale)}")
    yield _Candidate("difference", (x - y) / scale, f"{_shown(a)} - {_shown(b)} = {_show((x - y) / scale)}")


def _restated(stated: Stated, f: Figure) -> _Candidate | None:
    """The figure itself at the stated figure's scale: 1,577 (millions) as '$1.58 billion'."""
    if f.unit == "%" or stated.unit or stated.scale is None or f.scale is None or f.scale == stated.scale:
        return None
    value = _magnitude(f) / stated.scale
    return _Candidate("restated", value, f"{_shown(f)} {_SCALE_NAMES.get(f.scale, _show(f.scale))} = "
                                         f"{_show(value)} {_SCALE_NAMES.get(stated.scale, _show(stated.scale))}")


def _fits(kind: str, a: Figure, b: Figure, years: Sequence[int], order: int) -> bool:
    """Whether the operands' periods are the sentence's, and the step reads in their order.

    A change compares a later figure `a` with an earlier `b` (their columns' years, or the order
    "from b to a" the sentence restates them in); a sentence that names one year computes its change
    from the year before. Two figures combined are of one period, one the sentence names if it names any.
    """
    if kind in _CHANGES:
        if a.year is not None and b.year is not None and a.year != b.year:
            if a.year < b.year:
                return False
            year_before = len(years) == 1 and b.year == a.year - 1
            return not years or (a.year == max(years) and (b.year in years or year_before))
        if order < 0:
            return False
    elif a.year is not None and b.year is not None and a.year != b.year:
        return False
    return not years or all(f.year is None or f.year in years for f in (a, b))


def _known_order(kind: str, a: Figure, b: Figure, order: int) -> bool:
    return kind in _CHANGES and ((a.year is not None and b.year is not None and a.year > b.year) or order > 0)


_FROM_TO = re.compile(r"(?i)\bfrom\b.*\bto\b")


def check(sentence: str, passages: Sequence[str], contexts: Sequence[str] = ()) -> Arithmetic:
    """Each figure of the sentence printed in the passages (at its scale and period) or derived from them.

    ('The Meta deal is about 63% of the OpenAI total.', ['Meta: $14.2 billion. OpenAI: $22.4 billion.'])
    -> Arithmetic((Derivation('63%', '$14.2 billion / $22.4 billion = 63.39%'),))
    """
    figures = [f for i, p in enumerate(passages)
               for f in passage_figures(p, contexts[i] if i < len(contexts) else "", i)]
    stated = stated_figures(sentence)
    years = sorted(periods_in(sentence).years)
    claim_terms = frozenset(terms(sentence)) - _GENERIC
    pinned: list[list[Figure]] = []  # for each figure the sentence prints, the passage figures that print it
    computed: list[Stated] = []
    for s in stated:
        same = [f for f in figures if math.isclose(abs(s.value), abs(f.value), rel_tol=0, abs_tol=1e-9)]
        if not same:
            computed.append(s)
            continue
        if s.scale is not None and s.unit != "%" and all(f.scale is not None and f.scale != s.scale for f in same):
            return Arithmetic(reason=f"{s.text} is not at the scale its passage prints it")
        dated = [f.year for f in same]
        if years and all(y is not None and y not in years for y in dated):
            return Arithmetic(reason=f"{s.text} is a figure of {', '.join(sorted({str(y) for y in dated}))}, "
                                     f"not of {', '.join(map(str, years))}")
        pinned.append(same)
    # "from $1,373 million to $1,577 million": the figures it restates, in that order, are earlier then later.
    rank = {id(f): i for i, group in enumerate(pinned) for f in group} if _FROM_TO.search(sentence) else {}
    derivations: list[Derivation] = []
    for s in computed:
        found = _derive(s, figures, pinned, claim_terms, years, _direction(sentence), rank)
        if found is None:
            return Arithmetic(tuple(derivations), f"{s.text} is neither in the passages nor one step of arithmetic "
                                                  "over their figures")
        derivations.append(found)
    return Arithmetic(tuple(derivations))


def _derive(stated: Stated, figures: Sequence[Figure], pinned: Sequence[Sequence[Figure]], claim_terms: frozenset[str],
            years: Sequence[int], direction: int, rank: dict[int, int]) -> Derivation | None:
    """The first one-step derivation of `stated` from operands the sentence can mean, or None."""
    relevant = [f for f in figures if f.label & claim_terms]
    restated = [f for group in pinned for f in group]
    if len(pinned) >= 2:  # the sentence restates its operands: the result comes from them
        pairs = list(itertools.permutations(restated, 2))
    elif pinned:  # or from the one it restates and another
        pairs = [pair for f in restated for g in figures if g is not f for pair in ((f, g), (g, f))]
    else:
        pairs = list(itertools.permutations(relevant, 2))
    for f in relevant + restated:
        candidate = _restated(stated, f)
        if candidate and _matches(candidate.value, stated) and (not years or f.year is None or f.year in years):
            return _derivation(stated, candidate, f)
    for a, b in pairs:
        order = rank[id(b)] - rank[id(a)] if id(a) in rank and id(b) in rank else 0
        order = -order  # positive when b was restated first: "from b to a"
        for candidate in _candidates(stated, a, b):
            if not _matches(candidate.value, stated) or not _fits(candidate.kind, a, b, years, order):
                continue
            if candidate.kind in _CHANGES and direction:
                if not _known_order(candidate.kind, a, b, order):
                    continue  # a rise or a fall needs to know which figure came first
                if stated.value >= 0 and (candidate.value > 0) != (direction > 0):
                    continue
            return _derivation(stated, candidate, a, b)
    return None


def _derivation(stated: Stated, candidate: _Candidate, *operands: Figure) -> Derivation:
    return Derivation(stated.text, candidate.expression, tuple(dict.fromkeys(f.line for f in operands if f.line)))
