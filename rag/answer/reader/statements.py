"""The statement reader: an analyst's line item or a metric, read from financial statement tables.

"What is the FY2018 capital expenditure amount (in USD millions) for 3M?" names no row a statement prints:
the cash-flow statement says "Purchases of property, plant and equipment (PP&E)". A domain pack knows the
statements' labels for an analyst's line items (`Lexicon`), the calculation module the metrics a question
defines ("operating cash flow ratio is defined as: cash from operations / total current liabilities"); this
reader finds each operand's row among the retrieved tables, reads its figures in the columns of the years
asked, and states that figure, or the metric computed over such rows, as a short answer citing the rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer.calculation import MIN_MATCH, Row, asked_calculation, calculate, label_match
from rag.answer.reader.base import Read
from rag.answer.reader.cells import quarters_of
from rag.numbers import parse_figure, periods_in, periods_named, scale_of, show
from rag.packs import NO_LEXICON, Lexicon
from rag.types import Hit, Table, TableRow


def read_statements(question: str, hits: Sequence[Hit], lexicon: Lexicon = NO_LEXICON) -> Read | None:
    """The statement figure or metric the question asks for, or None when the question names none
    or the tables do not surely hold it (each operand's row found, in the asked year's column, at one scale)."""
    asked = asked_calculation(question)
    if asked is not None:
        quarters = {q for _, q in periods_in(question).quarters}
        found = [_row(operand, hits, asked.years, quarters, lexicon.labels(operand)) for operand in asked.operands
                 if not operand.isdigit()]
        if any(f is None for f in found):
            return None
        rows = [f for f in found if f is not None]
        done = calculate(asked, [r for r, _ in rows])
        if done is None:
            return None
        cited = tuple((r.hit_index, row) for r, row in rows)
        return Read(done.stated, "computed", cited, _table(hits, rows[0][0]), asked.name,
                    done.period, f"{done.expression} = {done.stated}")
    items = lexicon.items()
    years = sorted(periods_in(question).years)
    if len(items) != 1 or len(years) != 1:
        return None
    found_row = _row(items[0], hits, tuple(years), {q for _, q in periods_in(question).quarters},
                     lexicon.labels(items[0]))
    if found_row is None:
        return None
    row, table_row = found_row
    value = row.values.get(years[0])
    if value is None:
        return None
    figure = show(abs(value), most=2)
    stated = f"({figure})" if value < 0 else figure
    unit = f" {row.unit.rstrip('s')}" if row.unit else ""
    table = _table(hits, row)
    column = next((h for h in (table.columns if table else ()) if str(years[0]) in h), str(years[0]))
    return Read(f"{stated}{unit}", "cell", ((row.hit_index, table_row),), table, table_row.name(), column)


def _row(operand: str, hits: Sequence[Hit], years: Sequence[int], quarters: set[int] | frozenset[int] = frozenset(),
         known: Sequence[str] = ()) -> tuple[Row, TableRow] | None:
    """The table row that is surely the operand's (`label_match` at least `MIN_MATCH`), with its figures by the
    year its column names and the scale its table states: of such rows, one with figures for all the asked
    years, then one whose table states its scale, the best match, the earlier passage on a tie."""
    best: tuple[tuple[bool, bool, float, int], Row, TableRow] | None = None
    for i, hit in enumerate(hits):
        for table in hit.chunk.tables:
            for table_row in table.rows:
                if not table_row.cells:
                    continue
                score = label_match(operand, table_row.label, known)
                if score < MIN_MATCH:
                    continue
                row = _as_row(operand, i, hit, table, table_row, quarters)
                key = (all(y in row.values for y in years), row.unit is not None, score, -i)
                if best is None or key > best[0]:
                    best = (key, row, table_row)
    return (best[1], best[2]) if best is not None else None


def _as_row(operand: str, index: int, hit: Hit, table: Table, row: TableRow,
            quarters: set[int] | frozenset[int] = frozenset()) -> Row:
    """A table row as the calculation reads one: its figures by the one year each column names (of the asked
    quarter's columns only, when the question names a quarter)."""

    values: dict[int, float] = {}
    for cell in row.cells:
        header = table.columns[cell.column] if cell.column < len(table.columns) else ""
        years = periods_named(header) if not quarters or quarters & quarters_of(header) else []
        value = parse_figure(cell.text)
        if len(years) == 1 and value is not None and int(years[0]) not in values:
            values[int(years[0])] = value
    scale = scale_of(row.label) or table.scale
    chunk = hit.chunk
    text = chunk.quote(row.start, row.end)
    return Row(operand, index, row.start, row.end, text, values, f"{scale}s" if scale else None)


def _table(hits: Sequence[Hit], row: Row) -> Table | None:
    """The table of the hit the row was read from that holds it."""
    return next((t for t in hits[row.hit_index].chunk.tables if any(r.start == row.start for r in t.rows)), None)
