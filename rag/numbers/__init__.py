"""Figures as documents and sentences print them, parsed once: values, rows, scales and periods.

A filing prints "(1,577)" for -1,577 in a row "Purchases of PP&E (1,577) (1,373)" under a header
"(Millions) 2018 2017"; a question asks about "FY2018"; a generated sentence says "capex rose 14.9% to
$1.58 billion". The retriever's routing, the reader's calculation and the verifier's arithmetic check
all read figures, rows, scales and periods through this package, so each means the same to all of them.

- `figure`: a printed figure's value and precision, and a computed one printed back (`parse_figure`, `show`)
- `scale`: the multiplier a caption or a sentence states (`scale_of`, `table_unit`, `SCALES`)
- `rows`: a row line's label and cells, and the years its header gives its columns (`row_cells`)
- `periods`: the years and quarters a text names (`periods_in`, `periods_named`, `quarters_named`, `quarter_of`,
  `is_year`)
- `stated`: the figures of a sentence, with their unit, scale word and precision (`stated_figures`)
"""

from rag.numbers.figure import decimals, parse_figure, show
from rag.numbers.periods import (
    YEAR,
    Period,
    dates_named,
    first_period,
    is_year,
    periods_in,
    periods_named,
    quarter_of,
    quarters_named,
)
from rag.numbers.rows import caption_years, column_years, row_cells, row_parts
from rag.numbers.scale import SCALE_NAMES, SCALES, scale_of, table_unit
from rag.numbers.stated import Stated, scale_follows, stated_figures

__all__ = [
    "SCALES",
    "SCALE_NAMES",
    "YEAR",
    "Period",
    "Stated",
    "caption_years",
    "column_years",
    "dates_named",
    "decimals",
    "first_period",
    "is_year",
    "parse_figure",
    "periods_in",
    "periods_named",
    "quarter_of",
    "quarters_named",
    "row_cells",
    "row_parts",
    "scale_follows",
    "scale_of",
    "show",
    "stated_figures",
    "table_unit",
]
