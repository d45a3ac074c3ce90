"""The rows with the largest values, largest first and equal ones in the order they
came: the flows table's top flows, the summary's rankings."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from portannot.output.arrays import arrow, numbers


def top_indices(values: np.ndarray, n: int) -> np.ndarray:
    """Positions of the n largest values, largest first, equal values in input order."""
    if len(values) > n:
        nth = np.partition(values, len(values) - n)[len(values) - n]  # the n-th largest
        above = np.flatnonzero(values > nth)
        tied = np.flatnonzero(values == nth)[: n - len(above)]
        candidates = np.sort(np.concatenate([above, tied]))
    else:
        candidates = np.arange(len(values))
    return candidates[np.argsort(-values[candidates], kind="stable")]


def top_rows(batches: list[pa.RecordBatch], column: str, n: int) -> pa.Table:
    """The n rows with the largest `column`, largest first, ties in input order; from
    batches kept only as long as needed. numpy's partition, not pyarrow.compute's
    select_k or Table.take: importing pyarrow.compute costs more than the selection
    (~50 ms), and Array.to_numpy imports pandas (see arrays.numbers)."""
    if not batches:
        return pa.table({})
    table = pa.Table.from_batches(batches)
    order = top_indices(np.concatenate([numbers(b.column(column)) for b in batches]), n)
    if len(order) <= SLICED_TAKE:  # Table.take would import pyarrow.compute
        return pa.concat_tables([table.slice(i, 1) for i in order.tolist()])
    return table.take(arrow(order, pa.int64()))


#: up to this many rows, top_rows gathers them by slicing
SLICED_TAKE = 1000
