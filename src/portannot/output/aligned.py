"""Rows of aligned plain text, built column by column with Arrow kernels: `portannot
packets` on a terminal. A Python loop over the rows took 3.2 s for a million packets,
three times the CSV writer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from portannot.output.arrays import scalar, text_bytes
from portannot.printable import CONTROL_CLASS, one_line

#: the mark that ends a value cut to its column
ELLIPSIS = "\u2026"


def aligned_lines(batch: pa.RecordBatch, widths: dict[str, int], right: set[str],
                  cut: frozenset[str] | set[str] = frozenset()) -> memoryview:
    """UTF-8 lines, one per row: each column's text (empty for null) padded to its
    width, right-aligned for the columns in `right`, the columns one space apart and
    trailing spaces cut. A value wider than its column is cut to it, ending in "…", in
    the columns in `cut` (free text: a wider one would push the rest of its line off
    the columns above and below), and kept whole in the others (the caller's widths
    hold every value those can have)."""
    if batch.num_rows == 0:
        return memoryview(b"")
    empty, space = scalar("", pa.string()), scalar(" ", pa.string())
    cells = []
    for name in widths:
        col = batch.column(name)
        text = col if pa.types.is_string(col.type) else pc.cast(col, pa.string())
        text = pc.fill_null(text, empty)
        if name in cut:
            text = _cut(text, widths[name])
        cells.append(_pad(text, widths[name], name in right))
    lines = pc.utf8_rtrim_whitespace(pc.binary_join_element_wise(*cells, space))
    return text_bytes(pc.binary_join_element_wise(lines, scalar("\n", pa.string()), empty))


def printable(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch with its dictionaries' control characters escaped (see
    portannot.printable): service names come from files portannot does not control, and
    an ESC in one, written to the table raw, drove the terminal. Escaped in the
    dictionary, a few thousand names at most, not row by row."""
    cols = [_printable(c) if pa.types.is_dictionary(c.type) else c for c in batch.columns]
    return pa.RecordBatch.from_arrays(cols, schema=batch.schema)


def _printable(col: pa.DictionaryArray) -> pa.DictionaryArray:
    values = col.dictionary
    if not pa.types.is_string(values.type) or len(values) == 0 or \
            not pc.any(pc.match_substring_regex(values, CONTROL_CLASS)).as_py():
        return col
    shown = pa.array([None if v is None else one_line(v) for v in values.to_pylist()], pa.string())
    return pa.DictionaryArray.from_arrays(col.indices, shown)


def cell_lengths(text: pa.Array) -> pa.Array:
    """Each value's width on a terminal, in cells (rich's cell_len: 2 for an East Asian
    wide character, 0 for a combining mark), where the code points utf8_length counts
    put a column of 日本語 (6 cells, 3 code points) or café with a combining accent out of
    line. Only values that are not ASCII, distinct, are measured in Python."""
    lengths = pc.utf8_length(text)
    if _ascii(text):
        return lengths
    from rich.cells import cell_len

    return _each_distinct(text, lambda v: 0 if v is None else cell_len(v), lengths.type)


def _each_distinct(text: pa.Array, func: Callable[[str | None], Any],
                   type_: pa.DataType) -> pa.Array:
    """`func` of each value, called once a distinct value: a column's names repeat row
    after row, and Python is the slow part of what runs here."""
    distinct = pc.unique(text)
    done = [func(value) for value in distinct.to_pylist()]
    return pc.take(pa.array(done, type_), pc.index_in(text, distinct))


def _ascii(text: pa.Array) -> bool:
    """True if every value is ASCII, one cell a code point (nulls aside)."""
    return bool(pc.all(pc.string_is_ascii(text)).as_py() is not False)


def _pad(text: pa.Array, width: int, right: bool) -> pa.Array:
    """The values padded with spaces to `width` cells, on the left if `right`."""
    if _ascii(text):
        pad = pc.utf8_lpad if right else pc.utf8_rpad
        return pad(text, width=width, padding=" ")
    short = pc.max_element_wise(pc.subtract(scalar(width, pa.int32()),
                                            pc.cast(cell_lengths(text), pa.int32())),
                                scalar(0, pa.int32()))
    fill = pc.binary_repeat(scalar(" ", pa.string()), short)
    parts = (fill, text) if right else (text, fill)
    return pc.binary_join_element_wise(*parts, scalar("", pa.string()))


def _cut(text: pa.Array, width: int) -> pa.Array:
    """The values wider than `width` cells cut to width - 1 and "…"; the rest as
    they are."""
    if not _ascii(text):
        return _cut_cells(text, width)
    lengths = pc.utf8_length(text)
    if pc.max(lengths).as_py() <= width:
        return text
    short = pc.binary_join_element_wise(pc.utf8_slice_codeunits(text, 0, width - 1),
                                        scalar(ELLIPSIS, pa.string()), scalar("", pa.string()))
    return pc.if_else(pc.greater(lengths, scalar(width, lengths.type)), short, text)


def _cut_cells(text: pa.Array, width: int) -> pa.Array:
    """_cut for values that are not all ASCII: each distinct value cut in Python, a
    wide character that would overrun the column left out whole (never half of it)."""
    from rich.cells import cell_len

    def shown(value: str | None) -> str | None:
        if value is None or cell_len(value) <= width:
            return value
        kept = ""
        for char in value:
            if cell_len(kept + char) > width - 1:
                break
            kept += char
        return kept + ELLIPSIS

    return _each_distinct(text, shown, pa.string())
