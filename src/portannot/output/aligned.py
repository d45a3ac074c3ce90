"""Rows of aligned plain text, built column by column with Arrow kernels: `portannot
packets` on a terminal. A Python loop over the rows took 3.2 s for a million packets,
three times the CSV writer."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from portannot.output.arrays import scalar, text_bytes


def aligned_lines(batch: pa.RecordBatch, widths: dict[str, int], right: set[str]) -> memoryview:
    """UTF-8 lines, one per row: each column's text (empty for null) padded to its
    width, right-aligned for the columns in `right`, the columns one space apart and
    trailing spaces cut; a value wider than its column is kept whole."""
    if batch.num_rows == 0:
        return memoryview(b"")
    empty, space = scalar("", pa.string()), scalar(" ", pa.string())
    cells = []
    for name in widths:
        col = batch.column(name)
        text = col if pa.types.is_string(col.type) else pc.cast(col, pa.string())
        text = pc.fill_null(text, empty)
        pad = pc.utf8_lpad if name in right else pc.utf8_rpad
        cells.append(pad(text, width=widths[name], padding=" "))
    lines = pc.utf8_rtrim_whitespace(pc.binary_join_element_wise(*cells, space))
    return text_bytes(pc.binary_join_element_wise(lines, scalar("\n", pa.string()), empty))
