"""The multiplier a table or a sentence states for its figures: "(in millions)", "$'000", "£bn".

A table's 1,577 "in millions" is the sentence's "$1.58 billion"; figures are compared and combined only
at the scale they are stated at.
"""

from __future__ import annotations

import re

SCALES: dict[str, float] = {"thousand": 1e3, "thousands": 1e3, "k": 1e3, "million": 1e6, "millions": 1e6, "mn": 1e6,
                            "m": 1e6, "billion": 1e9, "billions": 1e9, "bn": 1e9, "b": 1e9, "trillion": 1e12}
"""A scale word, as a caption or a sentence writes it, -> its size: 'millions' -> 1e6, 'bn' -> 1e9."""
SCALE_NAMES: dict[float, str] = {1e3: "thousand", 1e6: "million", 1e9: "billion", 1e12: "trillion"}
"""A scale's size -> its word, as a derivation writes it: 1e6 -> 'million'."""

# How a table or a sentence states the multiplier of its figures: "(in millions)", "(Dollars in thousands)",
# "$'000", "RMB'000", "(000s)", "$m", "£bn", "in billions of dollars", "(Rupees in million)", a header that opens
# with its scale ("Millions of dollars").
_SCALE_WORDS = re.compile(
    r"(?i)(?:\bin\s+|\(\s*|\b(?:dollars|amounts|usd|us\$|\$|€|£|rupees|rs\.?)\s+in\s+|(?<!per\s)[$€£]\s*|^\s*)"
    r"(?:u\.?s\.?\s+)?(?:dollars\s+in\s+)?(thousands?|millions?|billions?|trillions?)\b")
_SCALE_SHORT = re.compile(r"(?i)(?:[$€£¥]|\b(?:usd|eur|gbp|rmb|us\$|a\$|hk\$))\s?(?:'000|000s?|k|m|mn|bn|b)\b"
                          r"|\('?000'?s?\)|'000\b|\bin\s+000'?s\b|\bin\s+\$\s?(?:m|mn|bn)\b")
_SCALE_AFTER_UNIT = re.compile(r"(?i)(?:[$€£¥]|\b[A-Z]{2,3}\$?)'\s?(thousands?|millions?|billions?)\b")
# A currency and a scale, no figure between them, heading a table's figures: "€ million", "RMB thousand";
# not a rate ("emissions per $ million of revenue").
_CURRENCY_SCALE = re.compile(r"(?i)(?<!per\s)(?:[$€£¥]|\b(?:usd|eur|gbp|rmb|cny|chf|jpy|cad|aud|inr|sek|nok|dkk|"
                             r"hkd|sgd|us\$|a\$|c\$|hk\$|s\$|nz\$))\s*(thousands?|millions?|billions?)\b")
# The multiplier written as a number: "(1,000)", "(in 1,000s)", "(EUR 1,000)", "in € 1.000.000" in a caption or
# a header, after a word or "in"; never a figure of a sentence ("a fee of $1,000").
_SCALE_NUMERIC = re.compile(r"(?i)(?:(?<=[a-z])\s*\(\s*|\(\s*in\s+|\bin\s+)(?:(?:[a-z]{3}|[$€£])\s*)?1[,.]000([,.]000)?"
                            r"s?\s*\)")
# The narrower reading of statement captions the reader and the calculation rely on: "in millions",
# "(Millions)", "(Dollars in thousands)", "in $ billions".
_UNIT = re.compile(r"(?i)(?:\bin\s+|\()(?:u\.?s\.?\s+)?(?:dollars\s+in\s+|\$\s*in\s+|\$\s*)?"
                   r"(millions|thousands|billions)\b")


def scale_of(text: str) -> str:
    """The multiplier a caption, header or sentence states for a table's figures, by name, or ''.

    '(Dollars in millions, except per share)' -> 'million'; "$'000" -> 'thousand'; '£m' -> 'million';
    "RMB'000" -> 'thousand'; 'Revenue grew' -> ''
    """
    text = text.replace("’", "'").replace("‘", "'")  # "US$’000" as typeset
    match = _SCALE_WORDS.search(text)
    if match:
        return match.group(1).lower().rstrip("s")
    numeric = _SCALE_NUMERIC.search(text)
    if numeric:  # "Number of shares (1,000)", "(in EUR 1,000,000)"
        return "million" if numeric.group(1) else "thousand"
    named = _SCALE_AFTER_UNIT.search(text) or _CURRENCY_SCALE.search(text)
    if named:  # "RMB'Million", "US$'Million"
        return named.group(1).lower().rstrip("s")
    short = _SCALE_SHORT.search(text)
    if short:
        token = short.group().lower()
        if "000" in token or token.rstrip(")").endswith("k"):
            return "thousand"
        return "billion" if token.endswith(("bn", "b")) else "million"
    return ""


def table_unit(text: str) -> str | None:
    """The scale a statement's caption states, as the plural word `SCALES` knows, or None.

    '(Dollars in millions, except per share)' -> 'millions'; '(Millions)' -> 'millions'; "$'000" -> None
    """
    match = _UNIT.search(text)
    return match.group(1).lower() if match else None
