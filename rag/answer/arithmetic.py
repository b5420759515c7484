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
from rag.text import is_years, stem, terms, words

SCALES = {"thousand": 1e3, "thousands": 1e3, "k": 1e3, "million": 1e6, "millions": 1e6, "mn": 1e6, "m": 1e6,
          "billion": 1e9, "billions": 1e9, "bn": 1e9, "b": 1e9, "trillion": 1e12}

# A figure as a sentence writes it: "-$14.2 billion", "63%", "9.6 percentage points", "2.3x", "1,577".
_NUMBER = re.compile(
    r"(?<![\w.,\-−–])(?P<sign>[-−–])?(?P<cur>\$\s?)?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?![\d]|[.,]\d|[-−–]?[A-Za-z]\w*-?[A-Za-z]|[-−–][A-Za-z])"
    r"(?:\s?(?P<unit>%|percent\b|percentage\s+points?\b|pp\b|points?\b|x\b|times\b))?"
    r"(?:\s?(?P<scale>thousands?|millions?|billions?|trillion|bn|mn|[kmb])\b)?", re.I)
_FISCAL = re.compile(r"(?i)\b(?:fy|fiscal(?:\s+year)?)\s*'?$")
# Which way a figure moved: a verb of its clause ("rose 14.9%", "cut its capex by 25.6%") or a word next to
# it ("up 14.9%", "14.9% higher", "a 14.9% increase"); an adjective further off ("the higher volume added
# $4.3 billion") says nothing of the figure.
_RISE_VERBS = frozenset(stem(w) for w in "increased increases rose rise rises risen grew grow grows expanded widened "
                                         "climbed jumped improved gained".split())
_FALL_VERBS = frozenset(stem(w) for w in "decreased decreases fell fall falls declined declines dropped reduced "
                                         "shrank narrowed cut cuts slid lowered".split())
_RISE_NEAR = _RISE_VERBS | frozenset(stem(w) for w in "up higher larger more greater above increase growth".split())
_FALL_NEAR = _FALL_VERBS | frozenset(stem(w) for w in "down lower smaller less below decrease decline "
                                                      "reduction".split())
_INCREASE, _DECREASE = _RISE_NEAR, _FALL_NEAR
# Words too common in statements to tie a figure to a sentence.
_GENERIC = frozenset(stem(w) for w in "total net year years fiscal compared million billion thousand percent "
                                      "percentage point points amount figure ended end of period quarter".split()) \
    | _INCREASE | _DECREASE
# A margin is a share of sales: the sentence names the numerator's row, and the denominator by this word alone.
_IMPLIED = {stem("margin"): frozenset({stem("sales"), stem("revenue"), stem("revenues")})}
# "December 31, 2019": a day of a date, not a figure.
_MONTH = re.compile(r"(?i)\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
                    r"sep(?:tember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?\s+$")
# A figure stated as a level, not as a change: "to $13,411 million", "was 16.8%", "at 13.1%"; but "was 33.7%
# higher" is a change.
_LEVEL = re.compile(r"(?i)\b(?:to|at|was|were|is|are|of|reached|totaled|totalled)\s+"
                    r"(?:about\s+|approximately\s+|roughly\s+|nearly\s+|almost\s+|around\s+)?$")
_SHARE = re.compile(r"(?i)^\s+of\b")
_CHANGE_OF = re.compile(r"(?i)\b(?:increase|decrease|rise|decline|growth|drop|reduction|gain|loss|change)\s+of\s+"
                        r"(?:about\s+|approximately\s+|roughly\s+|nearly\s+)?$")
_COMPARATIVE = re.compile(r"(?i)^\s*(?:\w+\s+)?(?:higher|lower|more|less|above|below|greater|larger|smaller|up|down|"
                          r"increase|decrease|rise|drop|decline|growth)\b")
# A table's column header of years at the end of its caption: "... (Dollars in millions) 2018 2017".
_HEADER_YEARS = re.compile(r"(?:(?<=\s)|^)((?:(?:19|20)\d\d\*?\s+)+(?:19|20)\d\d\*?)\s*$")


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
    cell: bool = True  # a table's cell, not a figure in prose
    change: bool = False  # prose stating it as a rise or a fall ("increased $107 million"), not as a level
    alias: frozenset[str] = frozenset()  # a row's short name in parentheses: "(PP&E)"


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
        if is_year or _FISCAL.search(sentence[: m.start()]) or (value <= 31 and _MONTH.search(sentence[: m.start()])):
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
        (c, None) for c in context.splitlines() if is_years(c) or table_unit(c) or _HEADER_YEARS.search(c)]
    offset = 0
    for text in passage.split("\n"):
        lines.append((text, (index, offset, offset + len(text))))
        offset += len(text) + 1
    for line, where in lines:
        unit = table_unit(line) or unit
        years_at_end = _HEADER_YEARS.search(line)
        if years_at_end or is_years(line):
            header = [int(y) for y in re.findall(r"(?:19|20)\d\d", years_at_end.group(1) if years_at_end else line)]
            continue
        label, cells = row_cells(line)
        if cells and re.search(r"[A-Za-z]{2}", label) and not _prose(label):
            head = _HEAD.split(label, maxsplit=1)[0]
            alias = frozenset(terms(" ".join(_ALIAS.findall(label)))) - _GENERIC
            words = frozenset(terms(head)) - _GENERIC
            scale = None if "per share" in label.lower() else SCALES.get(unit or "")
            years: list[int | None] = list(header) if len(header) == len(cells) else [None] * len(cells)
            for (token, value), year in zip(cells, years, strict=True):
                pct = token.endswith("%") or f"{token} %" in line  # "Gross margin 32.1 % 35.4 %"
                out.append(Figure(token, value, "%" if pct else "", None if pct else scale, words, year, where,
                                  alias=alias))
            continue
        if where is not None:
            out.extend(_prose_figures(line, where))
    return out


def _prose(label: str) -> bool:
    """A sentence that happens to end in a figure, not a row label: it has a verb's full stop inside."""
    return len(label.split()) > 14 or ". " in label


# What a row is, before what it includes: "Purchases of property and equipment, including internal-use software".
_HEAD = re.compile(r"(?i),?\s+(?:including|excluding|net of|less)\b|\s*\(")
_ALIAS = re.compile(r"\(([A-Z][A-Za-z&.\-]{1,12})\)")
_SCALE_AHEAD = re.compile(r"(?i)(?:[^.;]|\.\d){0,20}?\b(?:thousands?|millions?|billions?|trillion)\b")


def _prose_figures(line: str, where: tuple[int, int, int]) -> Iterator[Figure]:
    for s in stated_figures(line):
        before = terms(line[max(0, s.start - 90): s.start])[-8:]
        after = terms(line[s.start + len(s.text): s.start + len(s.text) + 40])[:3]
        percent = s.unit in ("%", "pp")
        scale = s.scale
        if scale is None and s.money and not _SCALE_AHEAD.match(line, s.start + len(s.text)):
            scale = 1.0  # "$4,200,000,000" is dollars; in "$2.9 to $3.4 billion" the scale comes after
        yield Figure(s.text, s.value, "%" if percent else "", None if percent else scale,
                     frozenset(before + after) - _GENERIC, None, where, cell=False,
                     change=_direction(line, s) != 0 and not _level(line, s))


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


def _direction(sentence: str, stated: Stated) -> int:
    """+1 if the figure is stated as a rise, -1 as a fall, 0 if neither.

    ('Capex rose 14.9% in 2018.', 14.9%) -> 1; ('The higher volume added $4.3 billion.', $4.3 billion) -> 0
    """
    end = stated.start + len(stated.text)
    clause = re.split(r"[,;:(]", sentence[: stated.start])[-1]
    for word in reversed(words(clause)):
        if stem(word) in _RISE_VERBS or stem(word) in _FALL_VERBS:
            return 1 if stem(word) in _RISE_VERBS else -1
    near = {stem(w) for w in words(sentence[: stated.start])[-1:] + words(sentence[end:])[:2]}
    up, down = bool(near & _RISE_NEAR), bool(near & _FALL_NEAR)
    return 0 if up == down else (1 if up else -1)


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
        f"{_shown(f)} {_SCALE_NAMES.get(f.scale, _show(f.scale))}"
    return _Candidate("restated", value, f"{printed} = {_show(value)} {_SCALE_NAMES.get(stated.scale, '')}".rstrip())


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


def _level(text: str, stated: Stated) -> bool:
    """Whether the figure is stated as a level, not as a change: "made up 69.6% of revenues" is a share
    whatever the verb; "was 16.8%" or "to $13,411 million" a level, unless "higher" follows."""
    before, after = text[: stated.start], text[stated.start + len(stated.text):]
    if _CHANGE_OF.search(before):
        return False  # "an increase of $107 million"
    return _SHARE.match(after) is not None or (_LEVEL.search(before) is not None and not _COMPARATIVE.match(after))


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
    changes = ordered or any(_direction(sentence, s) for s in stated)
    # A change in one named year is from the year before: "fell 13.5% in 2019, from $7,500 million".
    periods = [*years, years[0] - 1] if len(years) == 1 and changes else years
    claim_terms = frozenset(terms(sentence)) - _GENERIC
    claim_terms |= frozenset().union(*(_IMPLIED.get(t, frozenset()) for t in claim_terms))
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
        found = _derive(s, figures, pinned, claim_terms, periods, _direction(sentence, s), _level(sentence, s), rank)
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
