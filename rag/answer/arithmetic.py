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

from rag.answer.figures import GENERIC, IMPLIED, Figure, direction, level, passage_figures
from rag.numbers import SCALE_NAMES, SCALES, Stated, periods_in, show, stated_figures
from rag.text import terms


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
    """A result as a derivation writes it: four decimals below 10, where a ratio's digits matter, else two.

    3115.1 -> '3,115.1'; 0.63393 -> '0.6339'; 63.393 -> '63.39'; 1577.0 -> '1,577'
    """
    return show(value, most=4 if abs(value) < 10 else 2)


def _matches(result: float, stated: Stated) -> bool:
    """Within the rounding of what the sentence prints: 63 accepts 63.4 (and 62.5), not 61 or 63.6."""
    return abs(abs(result) - abs(stated.value)) <= 0.5 * 10 ** -stated.decimals + 1e-9 * max(1.0, abs(result))


# Steps that compare a later figure with an earlier one; the others combine figures of one period.
_CHANGES = frozenset({"change", "difference", "points"})


@dataclass(frozen=True)
class _Candidate:
    kind: str  # "share", "ratio", "sum", "difference", "change", "points" or "restated"
    value: float  # in the stated figure's terms: its scale, percent, or as printed
    expression: str


def _candidates(stated: Stated, a: Figure, b: Figure) -> Iterator[_Candidate]:
    """Every one-step result over (a, b), a first, that could be the stated figure, in its terms.

    Outflows and losses are printed in parentheses: two of them are added and compared as the amounts
    they are ("capex rose $204 million"), and a figure and an outflow as signed values ("cash from
    operations less capex").
    """
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
    if a.scale is None:  # figures of unknown scale are combined as printed, and the sentence must not name one
        if stated.scale is not None:
            return
        scale, x, y = 1.0, abs(a.value), abs(b.value)
    else:
        scale = stated.scale or (1.0 if stated.money else a.scale)
    same_sign = (a.value < 0) == (b.value < 0)
    p, q = (x, y) if same_sign else (x * (-1 if a.value < 0 else 1), y * (-1 if b.value < 0 else 1))
    written = (lambda f: _shown(f)) if same_sign else (lambda f: f.text)
    yield _Candidate("sum", (p + q) / scale, f"{written(a)} + {written(b)} = {_show((p + q) / scale)}")
    yield _Candidate("difference", (p - q) / scale, f"{written(a)} - {written(b)} = {_show((p - q) / scale)}")


def _restated(stated: Stated, f: Figure) -> _Candidate | None:
    """The figure itself at the stated figure's scale: 1,577 (millions) as '$1.58 billion'."""
    if f.unit == "%" or stated.unit or stated.scale is None or f.scale is None or f.scale == stated.scale:
        return None
    value = _magnitude(f) / stated.scale
    printed = _shown(f) if any(w in f.text.lower() for w in SCALES if len(w) > 2) else \
        f"{_shown(f)} {SCALE_NAMES.get(f.scale, _show(f.scale))}"
    return _Candidate("restated", value, f"{printed} = {_show(value)} {SCALE_NAMES.get(stated.scale, '')}".rstrip())


def _fits(kind: str, a: Figure, b: Figure, years: Sequence[int], order: int) -> bool:
    """Whether the operands' periods are the sentence's, and the step reads in their order.

    A change compares a later figure `a` with an earlier `b` (their columns' years, or the order
    "from b to a" the sentence restates them in); a sentence that names one year computes its change
    from the year before. Figures combined are of one period, or of periods the sentence names.
    """
    dated = a.year is not None and b.year is not None
    if kind in _CHANGES:
        if dated and a.year != b.year:
            assert a.year is not None and b.year is not None
            if a.year < b.year:
                return False
            year_before = len(years) == 1 and b.year == a.year - 1
            return not years or (a.year == max(years) and (b.year in years or year_before))
        if order < 0:
            return False
    elif dated and a.year != b.year and not (a.year in years and b.year in years):
        return False
    return not years or all(f.year is None or f.year in years for f in (a, b))


def _known_order(kind: str, a: Figure, b: Figure, order: int) -> bool:
    return kind in _CHANGES and ((a.year is not None and b.year is not None and a.year > b.year) or order > 0)


# The order a sentence restates two figures in: "from $1,373 million to $1,577 million" names the earlier
# first; "to 32% from 36%" and "$10.15 was higher than $6.73" name it last.
_FROM_TO = re.compile(r"(?i)\bfrom\b.*\bto\b")
_LATER_FIRST = re.compile(r"(?i)\bto\b.*\bfrom\b|\bthan\b")


def _coverage(f: Figure, claim_terms: frozenset[str]) -> float:
    """How much of a row's label the sentence uses: 1.0 for its short name ("PP&E")."""
    if f.alias and f.alias <= claim_terms:
        return 1.0
    return len(f.label & claim_terms) / len(f.label) if f.label else 0.0


def _named(figures: Sequence[Figure], claim_terms: frozenset[str]) -> list[Figure]:
    """The figures the sentence names: in prose, by a word of the clause around them; in a table, a row
    whose label the sentence uses at least half of ("research and development expenses" is not "Selling,
    informational and administrative expenses"), and no less of it than of another row the same words
    could mean ("consolidated net revenues" is not the "Segment net revenues" row, nor "operating profit"
    the "Segment operating profit" row)."""
    rows = {f.label: _coverage(f, claim_terms) for f in figures if f.cell}
    out = []
    for f in figures:
        if not f.cell:
            if f.label & claim_terms:
                out.append(f)
            continue
        mine = rows[f.label]
        used = f.label & claim_terms
        if mine >= 0.5 and not any(cover > mine and label & used for label, cover in rows.items()):
            out.append(f)
    return out


def check(sentence: str, passages: Sequence[str], contexts: Sequence[str] = ()) -> Arithmetic:
    """Each figure of the sentence printed in the passages (at its scale and period) or derived from them.

    ('The Meta deal is about 63% of the OpenAI total.', ['Meta: $14.2 billion. OpenAI: $22.4 billion.'])
    -> Arithmetic((Derivation('63%', '$14.2 billion / $22.4 billion = 63.39%'),))
    """
    figures = [f for i, p in enumerate(passages)
               for f in passage_figures(p, contexts[i] if i < len(contexts) else "", i)]
    stated = stated_figures(sentence)
    years = sorted(periods_in(sentence).years)
    ordered = 1 if _FROM_TO.search(sentence) else (-1 if _LATER_FIRST.search(sentence) else 0)
    changes = ordered or any(direction(sentence, s) for s in stated)
    # A change in one named year is from the year before: "fell 13.5% in 2019, from $7,500 million".
    periods = [*years, years[0] - 1] if len(years) == 1 and changes else years
    claim_terms = frozenset(terms(sentence)) - GENERIC
    claim_terms |= frozenset().union(*(IMPLIED.get(t, frozenset()) for t in claim_terms))
    pinned: list[list[Figure]] = []  # for each amount the sentence restates, the passage figures that print it
    computed: list[Stated] = []
    for s in stated:
        same = [f for f in figures if math.isclose(abs(s.value), abs(f.value), rel_tol=0, abs_tol=1e-9)]
        if not same:
            computed.append(s)
            continue
        if s.scale is not None and s.unit != "%" and all(f.scale is not None and f.scale != s.scale for f in same):
            return Arithmetic(reason=f"{s.text} is not at the scale its passage prints it")
        dated = [f.year for f in same]
        if periods and all(y is not None and y not in periods for y in dated):
            return Arithmetic(reason=f"{s.text} is a figure of {', '.join(sorted({str(y) for y in dated}))}, "
                                     f"not of {', '.join(map(str, years))}")
        if s.money or s.scale is not None or s.unit == "%":  # "364 day" or "Note 5" is no operand
            pinned.append(same)
    # The figures it restates, ranked earlier to later when it says which came first.
    rank = {id(f): i * ordered for i, group in enumerate(pinned) for f in group} if ordered else {}
    derivations: list[Derivation] = []
    for s in computed:
        found = _derive(s, figures, pinned, claim_terms, periods, direction(sentence, s), level(sentence, s), rank)
        if found is None:
            return Arithmetic(tuple(derivations), f"{s.text} is neither in the passages nor one step of arithmetic "
                                                  "over their figures")
        derivations.append(found)
    return Arithmetic(tuple(derivations))


def _derive(stated: Stated, figures: Sequence[Figure], pinned: Sequence[Sequence[Figure]], claim_terms: frozenset[str],
            years: Sequence[int], direction: int, level: bool, rank: dict[int, int]) -> Derivation | None:
    """The first one-step derivation of `stated` from operands the sentence can mean, or None.

    A figure stated as a level ("was 16.8%", "to $2,936 million") is any step's result; a figure in a
    sentence that says something rose or fell, and not as a level, is that change, in that direction.
    """
    # A bare number in prose ("Note 5", "364 days") is no operand, though a sentence may restate it.
    operands = [f for f in figures if f.cell or f.unit == "%" or f.scale is not None or "$" in f.text]
    relevant = _named(operands, claim_terms)
    restated = [f for group in pinned for f in group]
    if len(pinned) >= 2:  # the sentence restates its operands: the result comes from them
        pairs = list(itertools.permutations(restated, 2))
    elif pinned:  # or from the one it restates and another it names
        pairs = [pair for f in restated for g in relevant if g is not f for pair in ((f, g), (g, f))]
    else:
        pairs = list(itertools.permutations(relevant, 2))
    change_only = bool(direction) and not level
    if not change_only:
        for f in relevant + restated:
            candidate = _restated(stated, f)
            if candidate and _matches(candidate.value, stated) and (not years or f.year is None or f.year in years):
                return _derivation(stated, candidate, f)
    restated_ids = {id(f) for f in restated}
    for a, b in pairs:
        if a.change != b.change and id(a if a.change else b) not in restated_ids:
            continue  # a level and a change the sentence does not restate: which period is which is unknown
        order = rank[id(a)] - rank[id(b)] if id(a) in rank and id(b) in rank else 0  # > 0: "from b to a"
        for candidate in _candidates(stated, a, b):
            if not _matches(candidate.value, stated) or not _fits(candidate.kind, a, b, years, order):
                continue
            if change_only:
                if candidate.kind not in _CHANGES or not _known_order(candidate.kind, a, b, order):
                    continue  # a rise or a fall needs to know which figure came first
                if stated.value >= 0 and (candidate.value > 0) != (direction > 0):
                    continue
            elif candidate.kind == "difference" and candidate.value < 0 and not order:
                continue  # the same pair the other way round reads as written
            return _derivation(stated, candidate, a, b)
    return None


def _derivation(stated: Stated, candidate: _Candidate, *operands: Figure) -> Derivation:
    return Derivation(stated.text, candidate.expression, tuple(dict.fromkeys(f.line for f in operands if f.line)))
