"""A statement's rows as lines of text: a label, then its figures, one per column of the header's years.

The loaders give a table row as a line, "Inventories (509) (387) 57", and its column header as a line of
years, "(Millions) 2018 2017 2016", above it or at the end of the table's caption; so a figure is a
row's cell when it ends such a line, and its column's year is the header's year in the same place.
"""

from __future__ import annotations

import re

from rag.numbers.figure import parse_figure
from rag.text import is_years

# Tokens printed between a row's figures that are none of them: "$ 381,603", "32.1 %".
_NOISE = frozenset({"$", "%", "(", ")", "€", "£"})
_YEAR = re.compile(r"\b(?:FY|fy)?'?((?:19|20)\d\d)\b")
# The years of a column header at the end of a caption: "... (Dollars in millions) 2018 2017".
_YEARS_AT_END = re.compile(r"(?:(?<=\s)|^)((?:(?:19|20)\d\d\*?\s+)+(?:19|20)\d\d\*?)\s*$")


def row_cells(line: str) -> tuple[str, list[tuple[str, float]]]:
    """A row's label and its figures in column order, each as printed and as a value.

    'Inventories (509) (387) 57' -> ('Inventories', [('(509)', -509.0), ('(387)', -387.0), ('57', 57.0)]);
    'Revenue grew.' -> ('Revenue grew.', [])
    """
    tokens = line.split()
    cells: list[tuple[str, float]] = []
    while tokens:
        if tokens[-1] in _NOISE:
            tokens.pop()
            continue
        value = parse_figure(tokens[-1])
        if value is None:
            break
        cells.append((tokens.pop(), value))
    return " ".join(tokens), cells[::-1]


def row_parts(line: str) -> tuple[str, list[float]]:
    """A row's label and the values of its figures in column order.

    'Net cash provided by operating activities $ 381,603 $ 465,699' -> ('Net cash provided by operating
    activities', [381603.0, 465699.0]); 'Revenue grew.' -> ('Revenue grew.', [])
    """
    label, cells = row_cells(line)
    return label, [value for _, value in cells]


def column_years(line: str) -> list[int]:
    """The years of a column header line, left to right, or [] when the line is no header (`is_years`).

    '(Millions) 2018 2017 2016' -> [2018, 2017, 2016]; 'FY2019 FY2018' -> [2019, 2018];
    'Sales rose in 2018.' -> []
    """
    return [int(y) for y in _YEAR.findall(line)] if is_years(line) else []


def caption_years(line: str) -> list[int]:
    """The years a caption ends with, which head the columns of the rows below it, or [].

    '3M · Cash Flows · (Millions) 2018 2017 2016' -> [2018, 2017, 2016]; 'Sales rose in 2018' -> []
    """
    match = _YEARS_AT_END.search(line)
    return [int(y) for y in _YEAR.findall(match.group(1))] if match else []
