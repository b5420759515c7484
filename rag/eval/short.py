"""Scoring a short answer against its gold the way TAT-QA scores it: exact match and F1.

A figure is compared as a number at the gold's precision and scale: "$1,496.5 million" is the gold
1,496.5 at scale "million", "-22.22%" the gold -22.22 at scale "percent", "(12.6)" is -12.6; a figure
at another scale is wrong, as a reader told "1,496.5" of a table in thousands would be misled. A list
is compared as a set; other text is compared normalised (case, punctuation, articles, white space).
F1 is DROP's bag-of-words F1, spans aligned one to one, and a figure that differs scores 0.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

from rag.numbers import parse_figure

_SCALE_WORDS = {"thousand": "thousand", "thousands": "thousand", "million": "million", "millions": "million",
                "billion": "billion", "billions": "billion", "%": "percent", "percent": "percent",
                "percentage": "percent"}
_VALUE = re.compile(r"^\s*(?P<num>[-−–(]?\s*[$€£¥]?\s*\(?[-−–]?[\d,]*\.?\d+\)?)\s*(?P<scale>%|percent(?:age)?|"
                    r"thousands?|millions?|billions?)?\s*$", re.I)
_SCIENTIFIC = re.compile(r"^-?\d\.(\d+)e([+-]?\d+)$", re.I)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.I)


def read_value(text: str) -> tuple[float, str, int] | None:
    """A short answer's figure: (value, scale, decimals), or None when it is not one figure.

    '$1,496.5 million' -> (1496.5, 'million', 1); '-22.22%' -> (-22.22, 'percent', 2); '(12.6)' -> (-12.6, '', 1);
    '1.22611e+06' -> (1226110.0, '', -1), as a gold printed to six significant digits is; 'fixed-price type' -> None
    """
    scientific = _SCIENTIFIC.match(text.strip())
    if scientific:
        return float(scientific.group()), "", len(scientific.group(1)) - int(scientific.group(2))
    match = _VALUE.match(text.replace("\u2212", "-"))
    if not match:
        return None
    number = re.sub(r"\s+", "", match.group("num"))
    value = parse_figure(number)
    if value is None:
        return None
    digits = re.search(r"\.(\d+)", number)
    return value, _SCALE_WORDS.get((match.group("scale") or "").lower(), ""), len(digits.group(1)) if digits else 0


def normalize_text(text: str) -> str:
    """'The Fixed-price  type.' -> 'fixedprice type' (TAT-QA's: case, punctuation, articles, spaces)."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation) | {"’", "‘", "“", "”"})
    return " ".join(_ARTICLES.sub(" ", text).split())


def _same_figure(predicted: tuple[float, str, int], gold: tuple[float, str, int], gold_scale: str) -> bool:
    """Equal at the gold's precision, and at the gold's scale (a figure stated without a scale word takes
    none: it matches only a gold that has none)."""
    value, scale, _ = predicted
    gold_value, _, places = gold
    return scale == gold_scale and round(value, places) == round(gold_value, places)


def _span_f1(predicted: str, gold: str, gold_scale: str) -> float:
    """Bag-of-words F1 of two spans; figures must agree as figures (DROP's rule), else 0."""
    a, b = read_value(predicted), read_value(gold)
    if a is not None and b is not None:
        scale = gold_scale or b[1]
        return float(_same_figure(a, (b[0], scale, b[2]), scale))
    p, g = normalize_text(predicted).split(), normalize_text(gold).split()
    common = sum((Counter(p) & Counter(g)).values())
    if not p or not g or not common:
        return float(p == g)
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def short_scores(predicted: Sequence[str], gold: Sequence[str], gold_scale: str = "") -> tuple[float, float]:
    """(exact match, F1) of a short answer's values against the gold's.

    (['$1,496.5 million'], ['$1,496.5'], 'million') -> (1.0, 1.0); (['1,496.5'], ['$1,496.5'], 'million') ->
    (0.0, 0.0); (['cost-plus type', 'fixed-price type'], ['fixed-price type', 'cost-plus type']) -> (1.0, 1.0)
    """
    if not predicted or not gold:
        return 0.0, 0.0
    if len(gold) == 1 and len(predicted) == 1:
        a, b = read_value(predicted[0]), read_value(gold[0])
        if b is not None:
            scale = gold_scale or b[1]  # "$1.9 million" states its own scale
            hit = a is not None and _same_figure(a, (b[0], scale, b[2]), scale)
            return float(hit), float(hit)
    # One to one: each gold span takes the predicted span it best agrees with, greedily, best pairs first.
    pairs = sorted(((_span_f1(p, g, gold_scale), i, j) for i, p in enumerate(predicted) for j, g in enumerate(gold)),
                   reverse=True)
    used_p: set[int] = set()
    used_g: set[int] = set()
    total = 0.0
    for score, i, j in pairs:
        if i not in used_p and j not in used_g:
            used_p.add(i)
            used_g.add(j)
            total += score
    exact = len(predicted) == len(gold) == len(used_g) and total == len(gold)
    precision, recall = total / len(predicted), total / len(gold)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(exact), round(f1, 4)
