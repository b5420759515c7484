"""A printed figure's value, sign and precision, and a computed figure printed back.

A filing prints "(1,577)" for -1,577, "$ 1,452.4" with its currency apart, "12.5%" and "—" for nil; a
result computed from such figures is printed with the figures' own precision, so "3,115.1 / 3,527.5"
reads "= 0.88", not "= 0.883092".
"""

from __future__ import annotations

import re

_FIGURE = re.compile(r"^\(?[-–—]?\$?\(?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\)?%?\)?$")
_NIL = frozenset({"—", "–", "-"})
# A currency written before a figure: "$", "€", "US$", "USD", "RMB", "HK$"; a lone letter ("A1", "Class C")
# is a currency only with its dollar sign ("A$", "C$", "S$").
_CURRENCY = re.compile(r"[$€£¥]|(?:\b(?:US|USD|EUR|GBP|RMB)|\b(?:HK|A|C|S)(?=\$))\$?(?=\s|\d|\(|$)")


def parse_figure(token: str) -> float | None:
    """A printed figure's value: negative in parentheses or after a minus, nil as a dash, None if no figure.

    '(1,577)' -> -1577.0; '$ 1,452.4' -> 1452.4; '12.5%' -> 12.5; '(5.2)%' -> -5.2; '—' -> 0.0;
    '−3.4' -> -3.4; 'Net' -> None; 'A1' -> None
    """
    text = _CURRENCY.sub("", token).replace(" ", "").replace("\u2212", "-")
    if text in _NIL:
        return 0.0
    match = _FIGURE.match(text)
    if not match:
        return None
    value = float(match.group(1).replace(",", "") + (match.group(2) or ""))
    negative = text.startswith("(") or text.lstrip("($").startswith(("-", "–", "—"))
    return -value if negative else value


def decimals(token: str) -> int:
    """Decimal places a figure is printed with, which a result computed from it keeps.

    '1,496.5' -> 1; '(1,577)' -> 0; '-22.22%' -> 2
    """
    match = re.search(r"\d\.(\d+)", token)
    return len(match.group(1)) if match else 0


def show(value: float, places: int | None = None, *, most: int = 4) -> str:
    """A value as a figure is printed: with thousands separators, at `places` decimals when given, else
    at no more than `most` with trailing zeros dropped, so a whole number reads as one.

    1577.0 -> '1,577'; 3115.1 -> '3,115.1'; (0.8831, 2) -> '0.88'; (-12.6, 2) -> '-12.60';
    (0.88309, most=2) -> '0.88'
    """
    if places is not None:
        return f"{value:,.{places}f}"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.{most}f}".rstrip("0").rstrip(".")
